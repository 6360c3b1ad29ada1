"""Runs that fail outside dbt, and runs stopped by the user: the reason is on the run
and in its log, and nothing is left 'running'."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SLOW_PROJECT, binary, import_jobs, make_project, write_jobs

pytestmark = pytest.mark.real


def last_run(home: Path) -> dict:
    return json.loads(binary(home, "runs", "--json", "--limit", "1").out)[0]


def test_job_whose_dbt_is_missing_ends_in_error_with_the_reason(tmp_path):
    home = tmp_path / "h"
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: nodbt
    project_dir: {project}
    dbt_path: /nonexistent/bin/dbt
    commands: ["dbt build"]
""")
    refused = binary(home, "jobs", "import", str(jobs))  # checked when saved...
    assert refused.code == 2
    assert "dbt_path: /nonexistent/bin/dbt: No such file or directory" in refused.err
    jobs.write_text(jobs.read_text().replace("/nonexistent/bin/dbt", str(tmp_path / "dbt")))
    (tmp_path / "dbt").write_text(f'#!/bin/sh\nexec {Path(sys.executable).parent / "dbt"} '
                                  '"$@"\n')
    (tmp_path / "dbt").chmod(0o755)
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    (tmp_path / "dbt").unlink()  # ...and again before each run
    result = binary(home, "run", "nodbt", "--wait")
    assert result.code == 1
    run = last_run(home)
    assert run["status"] == "error"
    assert run["error"] == f"dbt not found at {tmp_path / 'dbt'} (the job's dbt_path)"
    assert f"dbt not found at {tmp_path / 'dbt'}" in binary(home, "logs", "1").out


def test_missing_project_directory_is_the_reason(tmp_path):
    """It was there when the job was saved (import refuses a missing one), then went."""
    home = tmp_path / "h"
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    import_jobs(home, tmp_path, f"""
jobs:
  - name: gone
    project_dir: {project}
    commands: ["dbt build"]
""")
    shutil.rmtree(project)
    assert binary(home, "run", "gone", "--wait").code == 1
    assert last_run(home)["error"] == f"project directory {project} does not exist"


def test_dbt_failing_to_start_its_work_is_reported_as_exit_code_2(tmp_path):
    home = tmp_path / "h"
    files = dict(SLOW_PROJECT)
    files["profiles.yml"] = "other:\n  target: dev\n  outputs: {}\n"  # no 'slow' profile
    project = make_project(tmp_path / "p", files)
    import_jobs(home, tmp_path, f"""
jobs:
  - name: noprofile
    project_dir: {project}
    commands: ["dbt build"]
""")
    assert binary(home, "run", "noprofile", "--wait").code == 1
    run = last_run(home)
    assert run["status"] == "error"
    assert "exit code 2" in run["error"]
    assert "Could not find profile named 'slow'" in binary(home, "logs", "1").out


def test_ctrl_c_on_run_wait_cancels_dbt_cleanly(tmp_path):
    home = tmp_path / "h"
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    import_jobs(home, tmp_path, f"""
jobs:
  - name: slow
    project_dir: {project}
    commands: ["dbt run"]
""")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbt_console", "run", "slow", "--wait"],
        env={**os.environ, "DBT_CONSOLE_HOME": str(home)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until the slow model is running, as a user would watch for it.
    deadline = time.monotonic() + 60
    while "START sql table model main.slow" not in binary(home, "logs", "1").out:
        assert time.monotonic() < deadline, "the slow model never started"
        time.sleep(0.2)
    asked = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - asked
    assert proc.returncode == 1, out + err
    assert "cancelling run 1" in err
    run = last_run(home)
    assert run["status"] == "cancelled"
    assert took < 5, f"cancel took {took:.1f}s"
    assert "run cancelled" in binary(home, "logs", "1").out
