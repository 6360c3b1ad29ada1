"""The engine the dashboard starts in the background: runs outlive the window and the
connection it came over; `engine stop`; it goes away by itself once idle. The real binary
in tmux, real dbt."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import binary, copy_home, runs_json, slow_home, stop_engine, tmux_dashboard, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None,
                                                   reason="tmux is not installed")]


def engine_of(home: Path) -> dict | None:
    return json.loads(binary(home, "status", "--json").out)["engine"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"


def dashboard_pid(session: str) -> int:
    """The dashboard's process: the pane's own, or the child the pane's shell started."""
    pane = int(subprocess.run(["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
                              capture_output=True, text=True, check=True).stdout.split()[0])
    for pid in [pane, *map(int, Path(f"/proc/{pane}/task/{pane}/children").read_text().split())]:
        if b"dbt-console" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no dashboard process in the pane")


def test_a_dropped_connection_leaves_the_run_running(demo_runs, tmp_path):
    """As sshd does when the link drops: SIGHUP to the dashboard, then its terminal goes."""
    home = copy_home(demo_runs, tmp_path)
    try:
        with tmux_dashboard(home, "hup") as (session, screen):
            wait_for(lambda: "in background" in screen(), 60, "the header naming the engine")
            engine = engine_of(home)
            assert engine["kind"] == "background" and f"pid {engine['pid']}" in screen()
            before = {r["id"] for r in runs_json(home)}
            subprocess.run(["tmux", "send-keys", "-t", session, "r"], check=True)  # 1st job
            run = wait_for(lambda: next((r for r in runs_json(home) if r["id"] not in before
                                         and r["status"] in ("starting", "running")), None),
                           60, "the run to start")
            os.kill(dashboard_pid(session), signal.SIGHUP)
            # (the session may be gone already: the dashboard was its only process)
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        done = wait_for(lambda: next((r for r in runs_json(home) if r["id"] == run["id"]
                                      and r["status"] not in ("starting", "running")), None),
                        300, "the run to end")
        assert done["status"] == "success", done
        assert engine_of(home)["pid"] == engine["pid"], "the same engine, still alive"
    finally:
        stop_engine(home)
    # `engine stop` returns once the engine let go of the store; its process ends after.
    wait_for(lambda: not alive(engine["pid"]), 30, "the engine's process to end")


def test_engine_stop_waits_for_the_engine_to_go(demo_runs, tmp_path):
    home = copy_home(demo_runs, tmp_path)
    started = binary(home, "engine", "start")
    assert started.code == 0 and started.out.startswith("started: background"), started.err
    pid = engine_of(home)["pid"]
    assert binary(home, "engine", "start").out.startswith("already running: background")
    stopped = binary(home, "engine", "stop")
    assert stopped.code == 0 and stopped.out.splitlines()[-1] == "engine stopped", stopped
    assert engine_of(home) is None
    wait_for(lambda: not alive(pid), 30, "the engine's process to end")
    assert "asked the engine to stop" in (home / "engine.log").read_text()
    again = binary(home, "engine", "stop")
    assert (again.code, again.err.strip()) == (2, "dbt-console: no engine is running")


def test_an_idle_background_engine_goes_after_its_last_run(tmp_path):
    """Nothing scheduled, background_idle_minutes = 0: it runs the queued run, then goes."""
    home = slow_home(tmp_path)  # jobs with no schedule
    (home / "settings.toml").write_text("background_idle_minutes = 0\n")
    queued = binary(home, "run", "quick")
    assert queued.code == 0, queued.err
    started = binary(home, "engine", "start")
    assert started.code == 0, started.err
    pid = int(started.out.split(", pid ")[1].split(",")[0])
    wait_for(lambda: not alive(pid), 300, "the idle engine to go")
    assert [r["status"] for r in runs_json(home)] == ["success"]
    assert "idle for 0 min" in (home / "engine.log").read_text()
    assert engine_of(home) is None


def test_serve_takes_over_from_a_background_engine(demo_runs, tmp_path, serving):
    home = copy_home(demo_runs, tmp_path)
    assert binary(home, "engine", "start").code == 0
    background = engine_of(home)["pid"]
    serve = serving(home)  # returns once its engine runs
    assert f"asked background on {os.uname().nodename}, pid {background}" in "".join(serve.lines)
    assert engine_of(home)["kind"] == "serve"
    wait_for(lambda: not alive(background), 30, "the background engine to go")
    serve.stop()


def test_a_background_engine_whose_data_directory_is_removed_stops_and_makes_none(
        demo_runs, tmp_path):
    """A test's or a user's `rm -rf` of the data directory: the engine must not go on for
    hours making an empty store again."""
    home = copy_home(demo_runs, tmp_path)
    started = binary(home, "engine", "start")
    assert started.code == 0, started.err
    pid = engine_of(home)["pid"]
    shutil.rmtree(home)
    wait_for(lambda: not alive(pid), 30, "the engine to stop once its store is gone")
    assert not home.exists(), "the engine made its data directory again"


def test_serve_says_why_it_stops_when_its_store_is_replaced(demo_runs, tmp_path, serving):
    home = copy_home(demo_runs, tmp_path)
    serve = serving(home)
    store = home / "dbt-console.db"
    replacement = tmp_path / "other.db"
    shutil.copy(store, replacement)
    os.replace(replacement, store)  # another file at the same path
    serve.proc.wait(timeout=30)
    output = serve.stop()
    assert serve.proc.returncode == 1
    assert f"the store {store} was removed or replaced by another file" in output
