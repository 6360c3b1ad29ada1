"""What a careless user's environment or a crash must not change: file modes whatever
the umask, nothing left in /tmp by a killed engine."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_engine import slow_model_started

from conftest import (
    SLOW_PROJECT,
    binary,
    make_project,
    runs_json,
    slow_home,
    wait_for,
    write_jobs,
)
from dbt_console.model import Job, Trigger
from dbt_console.store import Store
from dbt_console.tools.faults import alive

pytestmark = pytest.mark.real


def test_everything_under_the_data_directory_is_owner_and_group_only(tmp_path):
    home = tmp_path / "home"

    def loose_umask() -> None:
        os.umask(0o022)  # the usual shell default: files 0644, directories 0755

    assert binary(home, "demo", "--no-tui", preexec_fn=loose_umask).code == 0
    run = binary(home, "run", "nightly", "--wait", preexec_fn=loose_umask)
    assert run.code == 0, run.out + run.err
    paths = [p for p in home.rglob("*") if not p.is_symlink()]
    assert any(p.name == "dbt.log" for p in paths) and any(
        p.name == "run_results.json" for p in paths)
    readable_by_others = [str(p) for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o007]
    assert readable_by_others == []


def test_a_killed_engines_warm_steps_stop_and_its_temp_dirs_go(tmp_path, serving,
                                                              monkeypatch, warm_starts):
    """kill -9 of serve mid-step: its warm helper stops the step's dbt (nobody reads its
    output any more), and the next engine removes the temporary directory it left."""
    # A temp dir of this test's own: any engine on the machine removes a dead engine's
    # leftovers it finds, another test's included. Short: a helper's socket lives there.
    temp = Path(tempfile.mkdtemp(prefix="dbtc-"))
    monkeypatch.setenv("TMPDIR", str(temp))
    home = slow_home(tmp_path)
    first = serving(home)
    wait_for(lambda: '"state": "ready"' in binary(home, "status", "--json").out,
             what="a warm helper to be ready")
    slow_id = int(binary(home, "run", "slow").out)
    wait_for(lambda: slow_model_started(home, slow_id), what="the slow model to start")
    assert "warm start (helper pid" in binary(home, "logs", str(slow_id)).out
    with Store(home / "dbt-console.db") as store:
        dbt_pid = store.conn.execute("SELECT pid FROM steps WHERE run_id = ? AND pid IS NOT "
                                     "NULL", (slow_id,)).fetchone()[0]
    left = list(temp.glob(f"dbt-console-{first.proc.pid}-*"))
    assert left
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    wait_for(lambda: not alive(dbt_pid), timeout=30, what="the dead engine's dbt to stop")
    assert all(p.exists() for p in left)  # nothing has cleaned up yet
    serving(home)
    wait_for(lambda: not any(p.exists() for p in left), timeout=30,
             what="the next engine to remove the temporary directory")
    assert "temporary director" in binary(home, "status").out
    shutil.rmtree(temp, ignore_errors=True)


def test_a_run_whose_engine_died_shows_as_orphaned_and_follow_exits_1(tmp_path, serving):
    home = slow_home(tmp_path)
    first = serving(home)
    slow_id = int(binary(home, "run", "slow").out)
    wait_for(lambda: slow_model_started(home, slow_id), what="the slow model to start")
    follower = subprocess.Popen(
        [sys.executable, "-m", "dbt_console", "logs", str(slow_id), "--follow"],
        env={**os.environ, "DBT_CONSOLE_HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 1, out + err
    assert "START sql table model main.slow" in out  # what dbt wrote before the kill
    assert out.rstrip().splitlines()[-1].startswith(f"run {slow_id} of slow: running, orphaned")
    assert "orphaned" in binary(home, "status").out
    listed = binary(home, "runs").out
    assert "orphaned" in next(line for line in listed.splitlines() if line.startswith(
        str(slow_id)))
    assert next(r for r in runs_json(home) if r["id"] == slow_id)["orphaned"] is True


def test_a_dbt_path_that_is_not_dbt_is_refused_when_saved_and_before_each_run(tmp_path):
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    calls = tmp_path / "calls"
    fake = f'#!/bin/sh\necho "$@" >> {calls}\necho "Running with dbt=1.11.0"\n'
    real = f'#!/bin/sh\nexec {Path(sys.executable).parent / "dbt"} "$@"\n'
    dbt = tmp_path / "bin" / "dbt"
    dbt.parent.mkdir()
    dbt.write_text(fake)
    dbt.chmod(0o755)
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: fake
    project_dir: {project}
    dbt_path: {dbt}
    commands: ["dbt parse"]
""")
    home = tmp_path / "home"
    refused = binary(home, "jobs", "import", str(jobs))
    assert refused.code == 2
    assert f"dbt_path: {dbt} is not dbt-core: its --version says " in refused.err
    dbt.write_text(real)
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    ran = binary(home, "run", "fake", "--wait")
    assert ran.code == 0 and f"dbt: {dbt}" in binary(home, "logs", "1").out
    dbt.write_text(fake + "# swapped after the import\n")
    swapped = binary(home, "run", "fake", "--wait")
    assert swapped.code == 1
    assert f"not running {dbt}: {dbt} is not dbt-core" in swapped.out
    assert calls.read_text().split() == ["--version", "--version"]  # asked, never run


def test_control_characters_from_dbt_are_shown_escaped_on_a_terminal(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with Store(home / "dbt-console.db") as store:
        store.save_jobs([Job(name="j", commands=("dbt run",), project_dir=str(tmp_path))])
        run = store.enqueue_run(store.get_job("j"), Trigger.manual(), "me")
        store.append_log(run.id, 0, [("2026-11-24T02:00:00Z", "info", 4, "", None, None,
                                      "red \x1b[31mALERT\x1b[0m\rhidden")], None)
    piped = binary(home, "logs", str(run.id)).out
    assert "red \x1b[31mALERT\x1b[0m" in piped  # a pipe gets the bytes as they are
    main, child = pty.openpty()
    subprocess.run([sys.executable, "-m", "dbt_console", "logs", str(run.id)], stdout=child,
                   env={**os.environ, "DBT_CONSOLE_HOME": str(home)}, timeout=60, check=True)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert b"\x1b" not in shown
    assert b"red \\x1b[31mALERT\\x1b[0m\\x0dhidden" in shown
