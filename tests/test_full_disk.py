"""A full disk, for real: the data directory on a small tmpfs that a run's own log fills
(issue 33). The run must end saying why, its dbt must stop (it would hold its
warehouse's locks), the engine must live on, and every command must say so in a line."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

from conftest import SLOW_PROJECT, binary, make_project, runs_json, wait_for, write_jobs
from dbt_console.engine.lease import LEASE_TTL_SECONDS

pytestmark = pytest.mark.e2e

# Lines as fast as dbt's Jinja makes them, each different (the store compresses its log).
# Jinja's sandbox caps a range at 100,000: two loops make it last.
CHATTER = """{% macro chatter() %}
  {% for round in range(1000) %}{% for i in range(100000) %}
    {{ log("chatter " ~ round ~ " " ~ range(i, i + 40) | join("-"), info=True) }}
  {% endfor %}{% endfor %}
{% endmacro %}
"""


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a disk that fills is a small tmpfs, which only root may mount")
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"mount of a tmpfs refused here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _step_pid(store) -> int | None:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT pid FROM steps WHERE pid IS NOT NULL AND idx > 3"
                           ).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def _heartbeat(store) -> float:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT heartbeat_at FROM engine_lease").fetchone()[0]
    finally:
        conn.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone too: its parent reaps it
        return stat.read().split(") ", 1)[1].startswith("Z")


def test_a_full_disk_ends_the_run_stops_its_dbt_and_every_command_says_so(
        tmp_path, small_disk, serving):
    project = make_project(tmp_path / "chatty", {**SLOW_PROJECT, "macros/chatter.sql": CHATTER})
    home = small_disk / "home"
    jobs = f"""jobs:
  - name: chatty
    project_dir: {project}
    warm: false
    commands: ["dbt run-operation chatter"]
"""
    assert binary(home, "jobs", "import", str(write_jobs(tmp_path / "jobs.yml", jobs))).code == 0
    serve = serving(home)
    free = shutil.disk_usage(small_disk).free
    filler = small_disk / "filler"
    with open(filler, "wb") as f:  # leave 3 MiB: the run's log fills it
        f.truncate(0)
        f.write(b"\0" * (free - (3 << 20)))
    assert binary(home, "run", "chatty").code == 0
    store = home / "dbt-console.db"
    pid = wait_for(lambda: _step_pid(store), timeout=120, what="the dbt step to start")
    wait_for(lambda: _gone(pid), timeout=180, what=f"dbt (pid {pid}) to be stopped")
    assert serve.proc.poll() is None  # the engine lives on

    again = binary(home, "run", "chatty")
    assert again.code == 2 and "no space left on the device" in again.err, again
    # The engine cannot renew its lease on a full disk: once it has expired, status must
    # still say the engine is there (another engine would otherwise be started).
    wait_for(lambda: time.time() - _heartbeat(store) > LEASE_TTL_SECONDS, timeout=60,
             what="the engine's lease to expire")
    status = binary(home, "status")
    assert status.code == 0 and "alive, but it has not renewed its lease" in status.out, status
    for result in (again, status):
        assert "Traceback" not in result.out + result.err, result

    filler.unlink()  # space again: the run's end is written within seconds
    run = wait_for(lambda: next((r for r in runs_json(home) if r["status"] == "error"), None),
                   timeout=60, what="the run to end")
    assert "no space left" in json.dumps(run), run
