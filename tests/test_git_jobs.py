"""Git jobs against a real bare repository made here: clone, fetch, checkout, sha."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from conftest import binary, import_jobs
from dbt_console.demo import write_demo

NEW_MODEL = "select plan, count(*) as rides from {{ ref('fct_rides') }} group by plan\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org",
                           *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_remote(tmp_path: Path) -> tuple[Path, Path]:
    """A bare repo holding the demo project under analytics/, and a working clone."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    write_demo(work / "analytics")
    (work / ".gitignore").write_text("*.duckdb\ntarget/\nlogs/\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the demo project")
    bare = tmp_path / "analytics.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    return bare, work


def last_run(home: Path) -> dict:
    return json.loads(binary(home, "runs", "--json", "--limit", "1").out)[0]


def test_git_job_runs_the_branch_head_and_records_its_sha(tmp_path):
    bare, work = make_remote(tmp_path)
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: from-git
    git: {{url: {bare}, branch: main, subdirectory: analytics/pedalshare}}
    commands: ["dbt build --exclude tag:audit"]
""")
    first = binary(home, "run", "from-git", "--wait")
    assert first.code == 0, first.out + first.err
    run1 = last_run(home)
    assert run1["git_sha"] == git(work, "rev-parse", "HEAD")
    assert run1["git_branch"] == "main"

    (work / "analytics/pedalshare/models/marts/rides_per_plan.sql").write_text(NEW_MODEL)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "rides per plan")
    git(work, "push", "-q", "origin", "main")
    second = binary(home, "run", "from-git", "--wait")
    assert second.code == 0, second.out + second.err
    run2 = last_run(home)
    assert run2["git_sha"] == git(work, "rev-parse", "HEAD") != run1["git_sha"]
    built = {r[0] for r in sqlite3.connect(home / "dbt-console.db").execute(
        "SELECT unique_id FROM node_results WHERE run_id = ?", (run2["id"],))}
    assert "model.pedalshare.rides_per_plan" in built
    log = binary(home, "logs", str(run2["id"])).out
    assert f"checked out main at {run2['git_sha'][:12]}: rides per plan" in log


def test_wrong_git_url_ends_in_error_with_gits_reason(tmp_path):
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: nowhere
    git: {{url: {tmp_path / "missing.git"}, branch: main}}
    commands: ["dbt build"]
""")
    assert binary(home, "run", "nowhere", "--wait").code == 1
    run = last_run(home)
    assert run["status"] == "error"
    assert run["error"].startswith("git clone failed: ")
    assert "does not exist" in run["error"]
    assert run["error"] in binary(home, "logs", str(run["id"])).out


def test_missing_branch_ends_in_error(tmp_path):
    bare, _ = make_remote(tmp_path)
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: nobranch
    git: {{url: {bare}, branch: release}}
    commands: ["dbt build"]
""")
    assert binary(home, "run", "nobranch", "--wait").code == 1
    assert "release" in last_run(home)["error"]


def test_local_checkout_with_pull_fast_forwards_before_the_run(tmp_path):
    bare, work = make_remote(tmp_path)
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare), str(checkout))
    (work / "analytics/README.md").write_text("changed upstream\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "upstream change")
    git(work, "push", "-q", "origin", "main")
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: pulled
    project_dir: {checkout / "analytics/pedalshare"}
    pull: true
    commands: ["dbt parse"]
""")
    result = binary(home, "run", "pulled", "--wait")
    assert result.code == 0, result.out + result.err
    run = last_run(home)
    assert run["git_sha"] == git(work, "rev-parse", "HEAD")
    assert (checkout / "analytics/README.md").read_text() == "changed upstream\n"
