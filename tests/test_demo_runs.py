"""Real dbt-core + dbt-duckdb runs of the demo project, through the real binary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import binary, copy_home, runs_json

pytestmark = pytest.mark.real


def test_successful_run_is_recorded_with_its_nodes(demo_runs):
    nightly = next(r for r in runs_json(demo_runs) if r["job"] == "nightly")
    assert nightly["status"] == "success"
    assert nightly["trigger"] == "manual"
    assert nightly["error"] is None
    assert nightly["started_at"] and nightly["finished_at"] and nightly["queued_at"]
    # 3 seeds + 8 models + 12 tests (the audit test is excluded), each counted once.
    assert nightly["nodes"] == {"success": 11, "pass": 12}


def test_failed_run_names_the_failing_test_and_skips_downstream(demo_runs):
    audit = next(r for r in runs_json(demo_runs) if r["job"] == "ride_audit")
    assert audit["status"] == "error"
    assert audit["error"] is None  # dbt ran fine; a node failed
    assert audit["nodes"]["fail"] == 1
    assert audit["nodes"]["skipped"] == 9
    log = binary(demo_runs, "logs", str(audit["id"])).out
    assert "FAIL 3 assert_rides_end_within_a_day" in log
    assert "Got 3 results, configured to fail if != 0" in log


def test_run_wait_says_which_run_first_and_exits_by_status(tmp_path):
    home = tmp_path / "h"
    binary(home, "demo", "--no-tui")
    result = binary(home, "run", "ride_audit", "--wait")
    assert result.code == 1
    first, *rest = result.out.splitlines()
    assert first == "run 1 of ride_audit queued"
    assert rest[-2].startswith("run 1 of ride_audit: error in ")
    assert rest[-1].startswith("  fail: test.pedalshare.assert_rides_end_within_a_day: Got 3")


def test_logs_are_human_messages_not_json(demo_runs):
    log = binary(demo_runs, "logs", "1").out
    assert "Running with dbt=" in log
    assert '"info":' not in log
    assert "success  " in log and "OK created sql table model main.fct_rides" in log
    assert "console  $ dbt build --exclude tag:audit" in log


def test_each_run_keeps_its_own_artifacts(demo_runs):
    for run in runs_json(demo_runs):
        run_dir = demo_runs / "runs" / str(run["id"])
        assert (run_dir / "target" / "manifest.json").is_file()
        results = json.loads(
            (run_dir / "artifacts" / "step-5" / "run_results.json").read_text())  # 2nd command
        assert results["results"], "each step's run_results.json is kept"
        assert (run_dir / "logs" / "dbt.log").is_file()


def test_failed_node_result_points_at_its_compiled_sql(demo_runs):
    import sqlite3

    conn = sqlite3.connect(demo_runs / "dbt-console.db")
    message, path = conn.execute(
        "SELECT message, compiled_path FROM node_results WHERE status = 'fail'").fetchone()
    assert message == "Got 3 results, configured to fail if != 0"
    assert Path(path).is_file()
    assert "duration_minutes > 24 * 60" in Path(path).read_text()


def test_second_run_reuses_the_previous_parse(demo_runs, tmp_path):
    """The partial_parse.msgpack of the job's previous run is copied in."""
    home = copy_home(demo_runs, tmp_path)
    result = binary(home, "run", "nightly", "--wait")
    assert result.code == 0
    assert "reusing the previous run's parse" in result.out
    assert "Unable to do partial parsing" not in result.out


def test_demo_is_idempotent(demo_runs, tmp_path):
    home = copy_home(demo_runs, tmp_path)
    again = binary(home, "demo", "--no-tui")
    assert again.code == 0
    names = json.loads(binary(home, "jobs", "list", "--json").out)
    assert [j["name"] for j in names] == ["docs", "nightly", "ride_audit"]
    assert names[1]["last_run"]["status"] == "success"


def test_demo_run_again_keeps_what_the_user_changed(tmp_path):
    home = tmp_path / "h"
    assert binary(home, "demo", "--no-tui").code == 0
    assert binary(home, "jobs", "pause", "nightly").code == 0
    model = home / "demo" / "pedalshare" / "models" / "staging" / "stg_members.sql"
    model.write_text(model.read_text() + "-- my edit\n")
    assert binary(home, "jobs", "delete", "docs").code == 0
    again = binary(home, "demo", "--no-tui")
    assert again.code == 0, again.err
    assert "demo jobs (docs) imported" in again.out  # only what was missing
    assert "left as they are: nightly, ride_audit" in again.out
    jobs = {j["name"]: j for j in json.loads(binary(home, "jobs", "list", "--json").out)}
    assert not jobs["nightly"]["enabled"] and jobs["ride_audit"]["enabled"]
    assert model.read_text().endswith("-- my edit\n")


def test_review_shows_the_failing_test_with_its_message_and_sql(demo_runs):
    audit = next(r for r in runs_json(demo_runs) if r["job"] == "ride_audit")
    result = binary(demo_runs, "review", str(audit["id"]))
    assert result.code == 0, result.err
    assert "fail: test.pedalshare.assert_rides_end_within_a_day" in result.out
    assert "Got 3 results, configured to fail if != 0" in result.out
    assert "compiled SQL" in result.out and "select" in result.out.lower()
    data = json.loads(binary(demo_runs, "review", str(audit["id"]), "--json").out)
    assert [n["unique_id"] for n in data["failed"]] == [
        "test.pedalshare.assert_rides_end_within_a_day"]
    assert data["failed"][0]["compiled_sql"] and data["run"]["id"] == audit["id"]
    assert data["changes"] is None  # a local project: no commits to compare
