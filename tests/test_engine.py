"""The engine as a user runs it: `dbt-console serve` as a real process on a temp store,
real dbt runs, cancel, crash recovery, chaining, retry, graceful stop."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from conftest import (
    SLOW_PROJECT,
    binary,
    copy_home,
    make_project,
    runs_json,
    slow_home,
    wait_for,
)
from dbt_console.tools.faults import alive

pytestmark = pytest.mark.real


def run_status(home: Path, run_id: int) -> str:
    return next(r for r in runs_json(home) if r["id"] == run_id)["status"]


def slow_model_started(home: Path, run_id: int) -> bool:
    return "START sql table model main.slow" in binary(home, "logs", str(run_id)).out


def test_second_serve_on_the_same_store_refuses_naming_the_holder(tmp_path, serving):
    home = slow_home(tmp_path)
    first = serving(home)
    second = binary(home, "serve", timeout=30)
    assert second.code == 2
    assert "an engine already runs this store: serve on " in second.err
    assert f"pid {first.proc.pid}" in second.err
    status = binary(home, "status").out
    assert f"pid {first.proc.pid}" in status


def test_run_without_engine_warns_and_waits_in_the_queue(tmp_path, serving):
    home = slow_home(tmp_path)
    queued = binary(home, "run", "quick")
    assert queued.code == 0 and queued.out.strip() == "1"
    assert "no engine is running to start it" in queued.err
    assert run_status(home, 1) == "queued"
    serving(home)  # an engine that starts later runs what was queued
    wait_for(lambda: run_status(home, 1) == "success", what="the queued run to succeed")


def test_cancel_stops_a_long_dbt_run_within_seconds(tmp_path, serving):
    home = slow_home(tmp_path)
    serving(home)
    run_id = int(binary(home, "run", "slow").out)
    wait_for(lambda: slow_model_started(home, run_id), what="the slow model to start")
    result = binary(home, "cancel", str(run_id))
    assert result.code == 0, result.err
    assert f"run {run_id}: cancelled" in result.out
    assert binary(home, "cancel", str(run_id)).code == 2  # already finished
    # What was done to dbt is in the log: a SIGINT at once, and dbt stopped on SIGINT
    # (SIGTERM comes 10 s into a stop). Not a wall-clock bound: a loaded machine (6 test
    # workers on 2 cores) took 6 s to let the CLI see what the engine had done.
    log = binary(home, "logs", str(run_id)).out
    assert "sent SIGINT to dbt 0.0 s after the stop began" in log
    assert "sent SIGTERM" not in log and "sent SIGKILL" not in log, log


def test_cancel_of_a_queued_run_means_it_never_starts(tmp_path):
    home = slow_home(tmp_path)
    run_id = int(binary(home, "run", "quick").out)
    result = binary(home, "cancel", str(run_id))
    assert "cancelled; it had not started" in result.out
    assert run_status(home, run_id) == "cancelled"


def test_killed_engine_leaves_no_zombie_run_and_queued_runs_survive(tmp_path, serving):
    home = slow_home(tmp_path)
    first = serving(home)
    slow_id = int(binary(home, "run", "slow").out)
    wait_for(lambda: slow_model_started(home, slow_id), what="the slow model to start")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    quick_id = int(binary(home, "run", "quick").out)  # queued while no engine runs
    assert run_status(home, slow_id) == "running"  # nobody knows yet
    dbt_pid = sqlite3.connect(home / "dbt-console.db").execute(
        "SELECT pid FROM steps WHERE run_id = ? AND pid IS NOT NULL", (slow_id,)).fetchone()[0]
    # A cold dbt outlives its engine, in its own session, until the next engine stops it;
    # a warm one is stopped by its helper (test_hardening): either way it ends.
    serving(home)
    wait_for(lambda: not alive(dbt_pid), timeout=15, what="the orphaned dbt to stop")
    orphan = next(r for r in runs_json(home) if r["id"] == slow_id)
    assert orphan["status"] == "error"
    assert orphan["error"].startswith("the engine running this run (serve on ")
    assert orphan["error"] in binary(home, "logs", str(slow_id)).out
    wait_for(lambda: run_status(home, quick_id) == "success", what="the queued run")


def test_chained_job_runs_after_its_upstream_succeeds(tmp_path, serving):
    home = slow_home(tmp_path, extra_jobs="""
  - name: after-quick
    project_dir: {p}
    commands: ["dbt parse"]
    after: quick
    on: [success]
""".replace("{p}", str(tmp_path / "slow")))
    serving(home)
    upstream = int(binary(home, "run", "quick").out)
    downstream = wait_for(lambda: [r for r in runs_json(home) if r["job"] == "after-quick"],
                          what="the chained run")[0]
    assert downstream["trigger"] == f"job:quick#{upstream}"
    wait_for(lambda: run_status(home, downstream["id"]) == "success", what="chained run")


def test_retry_reruns_only_what_failed(demo_runs, tmp_path, serving):
    home = copy_home(demo_runs, tmp_path)  # ride_audit's run 2 failed on purpose
    failed_id = next(r["id"] for r in runs_json(home) if r["job"] == "ride_audit")
    assert run_status(home, failed_id) == "error"
    serving(home)
    retry = binary(home, "retry", str(failed_id), "--wait")
    assert retry.code == 1  # the audit test still fails: the data did not change
    assert "retrying what failed in 'dbt build --select staging+'" in retry.err
    retry_id = int(retry.out.splitlines()[0].split()[1])
    run = next(r for r in runs_json(home) if r["id"] == retry_id)
    assert run["trigger"] == f"retry:{failed_id}"
    original = json.loads((home / "runs" / str(failed_id) / "target" /
                           "run_results.json").read_text())["results"]
    again = json.loads((home / "runs" / str(retry_id) / "target" /
                        "run_results.json").read_text())["results"]
    not_ok = {r["unique_id"] for r in original if r["status"] in ("fail", "error", "skipped")}
    assert len(again) == len(not_ok) == 10 < len(original)
    assert {r["unique_id"] for r in again} == not_ok


def test_sigterm_lets_runs_finish_within_grace_then_cancels(tmp_path, serving):
    home = slow_home(tmp_path)
    serve = serving(home, settings="stop_grace_seconds = 1\n")
    run_id = int(binary(home, "run", "slow").out)
    wait_for(lambda: slow_model_started(home, run_id), what="the slow model to start")
    output = serve.stop(signal.SIGTERM, timeout=60)
    assert serve.proc.returncode == 0, output
    assert "runs in flight get up to 1s to finish" in output
    assert run_status(home, run_id) == "cancelled"
    why = "cancelled: the engine (serve) stopped and its 1s grace for runs in flight ran out"
    assert next(r for r in runs_json(home) if r["id"] == run_id)["error"] == why
    assert why in binary(home, "logs", str(run_id)).out
    conn = sqlite3.connect(home / "dbt-console.db")
    assert conn.execute("SELECT COUNT(*) FROM runs WHERE status IN "
                        "('starting', 'running')").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM engine_lease").fetchone()[0] == 0


def test_pause_and_resume_show_in_jobs_list(tmp_path):
    home = tmp_path / "home"
    binary(home, "demo", "--no-tui")
    assert binary(home, "jobs", "pause", "nightly").out.strip() == "job 'nightly' paused"
    listed = {j["name"]: j for j in json.loads(binary(home, "jobs", "list", "--json").out)}
    assert listed["nightly"]["enabled"] is False and listed["nightly"]["next_fire"] is None
    assert listed["docs"]["next_fire"].endswith(":30:00Z")
    binary(home, "jobs", "resume", "nightly")
    listed = {j["name"]: j for j in json.loads(binary(home, "jobs", "list", "--json").out)}
    assert listed["nightly"]["next_fire"].endswith("T02:00:00Z")


def test_serve_waits_for_a_run_wait_that_holds_the_store(tmp_path, serving):
    home = slow_home(tmp_path)
    env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    import subprocess
    import sys

    waiting_run = subprocess.Popen([sys.executable, "-m", "dbt_console", "run", "quick",
                                    "--wait"], env=env, stdout=subprocess.PIPE, text=True)
    wait_for(lambda: "run --wait on" in binary(home, "status").out, timeout=30,
             what="run --wait to hold the store")
    serve = serving(home)  # returns once the engine runs: after the run --wait ended
    assert "waiting for run --wait on" in "".join(serve.lines)
    assert waiting_run.wait(timeout=60) == 0
    assert run_status(home, 1) == "success"


def test_bad_settings_file_stops_serve_with_the_key_named(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text("max_concurent_runs = 4\n")
    result = binary(home, "serve", timeout=30)
    assert result.code == 2
    assert "unknown setting 'max_concurent_runs'" in result.err
    (home / "settings.toml").write_text("max_concurrent_runs = 0\n")
    result = binary(home, "serve", timeout=30)
    assert result.code == 2 and "max_concurrent_runs must be a whole number >= 1" in result.err
    (home / "settings.toml").write_text("max_concurrent_runs = [\n")
    result = binary(home, "serve", timeout=30)
    assert result.code == 2 and "not valid TOML" in result.err
    assert "Traceback" not in result.err


def test_follow_a_queued_run_with_no_engine_says_so(tmp_path):
    home = slow_home(tmp_path)
    run_id = binary(home, "run", "quick").out.strip()
    import subprocess
    import sys

    env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "dbt_console", "logs", run_id, "--follow"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=2)
        raise AssertionError("follow of a queued run ended by itself")
    except subprocess.TimeoutExpired:
        pass
    assert binary(home, "cancel", run_id).code == 0  # the run ends: the follow ends too
    out, err = proc.communicate(timeout=10)
    assert "no engine is running; following until one runs it" in err
    assert "cancelled before it started" in out


def test_two_runs_writing_one_duckdb_file_never_start_together(tmp_path, serving):
    """DuckDB takes one writer per file: the second run waits, says why, and starts when
    the first ends; a run on another file starts beside them."""
    other = make_project(tmp_path / "other", SLOW_PROJECT)
    home = slow_home(tmp_path, extra_jobs=f"""
  - name: slow-too
    project_dir: {tmp_path / "slow"}
    commands: ["dbt run"]
  - name: elsewhere
    project_dir: {other}
    commands: ["dbt run"]
""")
    first, second, third = (binary(home, "run", name).out.strip()
                            for name in ("slow", "slow-too", "elsewhere"))
    serving(home, settings="max_concurrent_runs = 3\n")

    def status(run_id: str) -> str:
        return next(r["status"] for r in runs_json(home) if str(r["id"]) == run_id)

    wait_for(lambda: status(first) == "running" and status(third) == "running",
             what="the first and the third run to be running")
    wait_for(lambda: "is writing the DuckDB file" in binary(home, "logs", second).out,
             what="the second run to say why it waits")
    assert status(second) == "queued"
    log = binary(home, "logs", second).out
    assert f"waiting: run {first} is writing the DuckDB file {tmp_path / 'slow'}" in log
    assert binary(home, "cancel", first).code == 0
    wait_for(lambda: status(second) == "running", what="the second run to start")
    for run_id in (second, third):
        binary(home, "cancel", run_id)
