"""Git jobs against a real bare repository made here: clone, fetch, checkout, sha."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SLOW_PROJECT, binary, import_jobs, make_project, runs_json, wait_for
from dbt_console.demo import write_demo
from dbt_console.store import Store

pytestmark = pytest.mark.real

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


def push_commit(work: Path, name: str) -> str:
    (work / f"{name}.md").write_text(f"{name}\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", name)
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def test_a_push_runs_the_on_push_job_once_with_the_pushed_sha(tmp_path, serving):
    bare, work = make_remote(tmp_path)
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: cd
    git: {{url: {bare}, branch: main, subdirectory: analytics/pedalshare}}
    env: {{PEDALSHARE_DUCKDB: cd.duckdb}}
    commands: ["dbt build --exclude tag:audit"]
    on_push: true
""")
    serving(home, settings="push_poll_seconds = 1\n")
    with sqlite3.connect(home / "dbt-console.db") as db:
        wait_for(lambda: db.execute("SELECT sha FROM push_marks").fetchone(), timeout=30,
                 what="the first look at the branch")
    assert runs_json(home) == []  # the head it found at start is not a push
    sha = push_commit(work, "first")
    run = wait_for(lambda: next((r for r in runs_json(home)
                                 if r["status"] in ("success", "error")), None),
                   timeout=120, what="the pushed commit's run to finish")
    assert run["trigger"] == f"push:{sha}" and run["actor"] == "push"
    assert run["git_sha"] == sha and run["status"] == "success"
    time.sleep(3)  # more polls of an unchanged head queue nothing
    assert len(runs_json(home)) == 1


def test_pushes_during_a_run_coalesce_into_one_run_of_the_newest_head(tmp_path, serving):
    bare, work = make_remote(tmp_path)
    make_project(work / "slow", SLOW_PROJECT)
    first = push_commit(work, "slow-project")
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: cd
    git: {{url: {bare}, branch: main, subdirectory: slow}}
    commands: ["dbt run"]
    on_push: true
""")
    with Store(home / "dbt-console.db") as store:
        store.record_push("cd", first, "test")  # as if the engine had seen it before
    serving(home, settings="push_poll_seconds = 1\n")
    a = push_commit(work, "a")
    wait_for(lambda: any(r["trigger"] == f"push:{a}" and r["status"] == "running"
                         for r in runs_json(home)), timeout=60, what="the run of a")
    b = push_commit(work, "b")
    waiting = wait_for(lambda: next((r for r in runs_json(home) if r["status"] == "queued"),
                                    None), timeout=30, what="a run queued for b")
    assert waiting["trigger"] == f"push:{b}"
    c = push_commit(work, "c")
    wait_for(lambda: [r["trigger"] for r in runs_json(home) if r["status"] == "queued"]
             == [f"push:{c}"], timeout=30, what="the waiting run to move to c")
    assert binary(home, "cancel", "1").code == 0
    second = wait_for(lambda: next((r for r in runs_json(home)
                                    if r["id"] == waiting["id"] and r["git_sha"]), None),
                      timeout=60, what="the coalesced run to check out")
    assert second["git_sha"] == c
    assert binary(home, "cancel", str(second["id"])).code == 0
    assert len(runs_json(home)) == 2
