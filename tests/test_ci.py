"""CI jobs against a real bare repository and real dbt on one DuckDB warehouse: a branch
builds what it changed into its own schema and reads everything else from production."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
from test_git_jobs import git, make_remote

from conftest import binary, import_jobs, made_once, repoint_store, runs_json, wait_for

pytestmark = pytest.mark.real

STG_STATIONS = "analytics/pedalshare/models/staging/stg_stations.sql"
# The branch's change: station names in capitals, so production's rows and the branch's
# differ while every test still passes.
CAPITALS = ("trim(name)", "upper(trim(name))")
FIRST_NAME = "select station_name from {}.dim_stations order by station_id limit 1"


def ci_home(tmp_path: Path, defer_to: str = "nightly",
            report: str = "") -> tuple[Path, Path, Path, Path]:
    """A production job and a CI job of the demo project in a bare repository, both on one
    DuckDB file; `report` is the CI job's ci.report mapping, if any (YAML flow style)."""
    bare, work = make_remote(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    home = tmp_path / "home"
    import_jobs(home, tmp_path, ci_jobs(bare, warehouse, defer_to, report))
    return home, bare, work, warehouse


def ci_jobs(bare: Path, warehouse: Path, defer_to: str, report: str) -> str:
    source = f"{{url: {bare}, branch: main, subdirectory: analytics/pedalshare}}"
    return f"""
jobs:
  - name: nightly
    git: {source}
    env: {{PEDALSHARE_DUCKDB: {warehouse}}}
    commands: ["dbt build --exclude tag:audit"]
  - name: ci
    git: {source}
    env: {{PEDALSHARE_DUCKDB: {warehouse}}}
    ci: {{defer_to: {defer_to}, branches: "feature/*"{f", report: {report}" if report else ""}}}
    commands: ["dbt build --select state:modified+ --exclude tag:audit"]
"""


def ci_home_after_production(factory: pytest.TempPathFactory, tmp_path: Path,
                             report: str = "") -> tuple[Path, Path, Path, Path]:
    """ci_home where production (nightly) has run once: built once for the session
    (a production build is most of a CI test's cost) and copied here, its store, git
    remote and warehouse repointed at the copy; `report` as ci_home's."""
    import shutil

    def make(shared: Path) -> str:
        root = shared / "ci-production"
        if root.exists():  # a worker died building it
            shutil.rmtree(root)
        root.mkdir()
        home = ci_home(root)[0]
        prod = binary(home, "run", "nightly", "--wait")
        assert prod.code == 0, prod.out + prod.err
        return str(root)

    root = Path(made_once(factory, "ci-production", make))
    copy = tmp_path / "ci"
    shutil.copytree(root, copy)
    repoint_store(copy / "home" / "dbt-console.db", root, copy)
    home, bare, work, warehouse = (copy / "home", copy / "analytics.git", copy / "work",
                                   copy / "warehouse.duckdb")
    git(work, "remote", "set-url", "origin", str(bare))
    if report:
        import_jobs(home, copy, ci_jobs(bare, warehouse, "nightly", report))
    return home, bare, work, warehouse


def push_branch(work: Path, branch: str, change: tuple[str, str] = ("", "")) -> str:
    git(work, "checkout", "-q", "-B", branch, "main")
    model = work / STG_STATIONS
    model.write_text(model.read_text().replace(*change) + "-- " + branch + "\n")
    git(work, "commit", "-q", "-am", f"change on {branch}")
    git(work, "push", "-q", "origin", branch)
    sha = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "main")
    return sha


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return db.execute(sql).fetchall()


def schemas(warehouse: Path) -> set[str]:
    return {r[0] for r in query(warehouse, "select schema_name from information_schema.schemata")}


def built(home: Path, run_id: int) -> set[str]:
    with sqlite3.connect(home / "dbt-console.db") as db:
        return {r[0] for r in db.execute(
            "SELECT unique_id FROM node_results WHERE run_id = ?", (run_id,))}


def descendants(manifest: dict, uid: str) -> set[str]:
    out, todo = set(), [uid]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def test_a_branch_builds_what_it_changed_into_its_schema_and_defers_the_rest(
        tmp_path_factory, tmp_path):
    home, _, work, warehouse = ci_home_after_production(tmp_path_factory, tmp_path)
    name_in_prod = query(warehouse, FIRST_NAME.format("main"))[0][0]
    assert name_in_prod != name_in_prod.upper()

    sha = push_branch(work, "feature/x", CAPITALS)
    result = binary(home, "run", "ci", "--branch", "feature/x", "--wait")
    assert result.code == 0, result.out + result.err
    run = runs_json(home)[0]
    assert (run["trigger"], run["git_branch"], run["git_sha"]) == (
        f"ci:feature/x@{sha}", "feature/x", sha)

    # Exactly the changed model and what depends on it (less the audit tests it excludes).
    manifest = json.loads((_run_dir(home, 1) / "target/manifest.json").read_text())
    changed = "model.pedalshare.stg_stations"
    audit = {uid for uid, n in manifest["nodes"].items() if "audit" in n.get("tags", [])}
    expected = ({changed} | descendants(manifest, changed)) - audit
    nodes = built(home, run["id"])
    assert nodes == expected
    # An unchanged parent is not rebuilt, yet its child built: it read production's.
    assert "model.pedalshare.stg_rides" not in nodes
    assert "model.pedalshare.int_rides_enriched" in nodes
    compiled = (_run_dir(home, run["id"]) / "target/run/pedalshare/models/marts/"
                "int_rides_enriched.sql").read_text()
    assert '"main"."stg_rides"' in compiled and '"ci_feature_x"."stg_stations"' in compiled

    # The branch wrote only to its own schema: production's names are as they were.
    assert query(warehouse, FIRST_NAME.format("main"))[0][0] == name_in_prod
    assert query(warehouse, FIRST_NAME.format("ci_feature_x"))[0][0] == name_in_prod.upper()
    assert not query(warehouse, "select 1 from information_schema.tables where "
                                "table_schema = 'ci_feature_x' and table_name = 'stg_rides'")

    log = binary(home, "logs", str(run["id"])).out
    assert "comparing with nightly run 1" in log
    assert "--defer --state" in log
    listed = json.loads(binary(home, "runs", "--branch", "feature/x", "--json").out)
    assert [r["id"] for r in listed] == [run["id"]]


def _run_dir(home: Path, run_id: int) -> Path:
    with sqlite3.connect(home / "dbt-console.db") as db:
        return Path(db.execute("SELECT run_dir FROM runs WHERE id = ?", (run_id,)).fetchone()[0])


def test_with_no_production_run_ci_builds_everything_and_says_why(tmp_path):
    home, _, work, warehouse = ci_home(tmp_path)
    push_branch(work, "feature/x", CAPITALS)
    result = binary(home, "run", "ci", "--branch", "feature/x", "--wait")
    assert result.code == 0, result.out + result.err
    run = runs_json(home)[0]
    assert "model.pedalshare.stg_rides" in built(home, run["id"])  # everything
    log = binary(home, "logs", str(run["id"])).out
    assert "no successful run of nightly with a manifest yet" in log
    assert "$ dbt build --exclude tag:audit\n" in log  # the state: selector is gone
    tables = query(warehouse, "select table_schema, table_name from information_schema.tables")
    assert ("ci_feature_x", "dim_stations") in tables
    assert not [t for t in tables if t[0] == "main"]  # production was never touched


def test_polling_runs_new_branch_heads_and_cleanup_drops_deleted_branches(tmp_path, serving):
    home, _, work, warehouse = ci_home(tmp_path)
    push_branch(work, "feature/old")
    serve = serving(home, settings="push_poll_seconds = 1\n")
    with sqlite3.connect(home / "dbt-console.db") as db:
        wait_for(lambda: db.execute("SELECT 1 FROM ci_watch").fetchone(), timeout=30,
                 what="the CI job's first poll")
    assert runs_json(home) == []  # branches there before the job's first poll only mark

    push_branch(work, "other/y")  # does not match feature/*
    sha = push_branch(work, "feature/y", CAPITALS)
    run = wait_for(lambda: next((r for r in runs_json(home)
                                 if r["status"] in ("success", "error")), None),
                   timeout=180, what="the new branch's CI run")
    assert run["status"] == "success", binary(home, "logs", str(run["id"])).out
    assert (run["trigger"], run["actor"]) == (f"ci:feature/y@{sha}", "push")
    assert "ci_feature_y" in schemas(warehouse)
    assert len(runs_json(home)) == 1

    git(work, "push", "-q", "origin", "--delete", "feature/y")
    with sqlite3.connect(home / "dbt-console.db") as db:
        wait_for(lambda: db.execute("SELECT gone_at FROM ci_branches WHERE branch = "
                                    "'feature/y'").fetchone()[0], timeout=30,
                 what="the deleted branch to be seen gone")
    cleanup = binary(home, "ci", "cleanup")
    assert cleanup.code == 0, cleanup.out + cleanup.err
    assert "dropped schema" in cleanup.out
    assert "ci_feature_y" not in schemas(warehouse)
    cleaned = runs_json(home)[0]
    assert (cleaned["trigger"], cleaned["status"]) == ("ci-cleanup:feature/y", "success")
    again = binary(home, "ci", "cleanup", "ci")
    assert again.code == 0 and "nothing to clean up" in again.out
    assert len(runs_json(home)) == 2  # feature/old never moved, other/y never matched
    serve.stop()


def test_ci_commands_refuse_bad_input_with_exit_2(tmp_path):
    home, _, work, _ = ci_home(tmp_path)
    push_branch(work, "feature/x")
    cases = [
        (("run", "ci"), "is a CI job: name the branch to test with --branch"),
        (("run", "ci", "--branch", "feature/nope"), "has no branch 'feature/nope'"),
        (("run", "ci", "--branch", "feature/x", "--sha", "xyz"), "7 to 40 hex digits"),
        (("ci", "cleanup", "nightly"), "'nightly' is not a CI job"),
        (("ci", "cleanup", "--branch", "feature/x"), "still exists on the remote"),
        (("ci", "cleanup", "--branch", "feature/z"), "never ran branch 'feature/z'"),
    ]
    for args, message in cases:
        result = binary(home, *args)
        assert result.code == 2 and message in result.err, (args, result.err)
    assert runs_json(home) == []


def test_a_branchs_second_run_parses_partially(tmp_path_factory, tmp_path):
    """The branch's schema is in its rendered profile, so dbt re-parses from scratch after
    a run whose profile differed: a branch reuses its own last parse, not the job's."""
    home, _, work, _ = ci_home_after_production(tmp_path_factory, tmp_path)
    push_branch(work, "feature/x")
    push_branch(work, "feature/y")
    for branch in ("feature/x", "feature/y", "feature/x"):
        result = binary(home, "run", "ci", "--branch", branch, "--wait")
        assert result.code == 0, result.out + result.err
    first, _, again = (binary(home, "logs", str(n)).out for n in (2, 3, 4))
    assert "Unable to do partial parsing" in first  # the job's first CI run: none to reuse
    # Before, run 4 reused run 3's parse (feature/y's schema): "profile has changed".
    assert "reusing the previous run's parse (partial parsing) of branch feature/x" in again
    assert "Unable to do partial parsing" not in again
