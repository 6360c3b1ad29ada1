"""CI that answers on the pull request: real CI runs of a real bare repository on one
DuckDB warehouse report to a stand-in for GitHub or GitLab (tests/githost.py), and
compare changes is checked against the warehouse itself."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from githost import GitHost
from test_ci import STG_STATIONS, ci_home_after_production, git, query
from test_job_form import until
from test_tui import select_job

from conftest import binary, runs_json, wait_for
from dbt_console.config import resolve_paths
from dbt_console.engine.notify import notifier
from dbt_console.store import Store
from dbt_console.tui.app import DbtConsoleApp
from dbt_console.tui.screens.run import RunScreen

pytestmark = pytest.mark.real

TOKEN = "ghp-test-token-never-shown"
USAGE = "analytics/pedalshare/models/marts/station_daily_usage.sql"
# Push 1: names in capitals and a new column; every test still passes.
NEW_COLUMN = ("    capacity\n", "    capacity,\n    capacity >= 20 as is_large\n")
CAPITALS = ("trim(name)", "upper(trim(name))")
# Push 2 also drops two stations: rides still point at them, so a test fails.
FEWER = ("from {{ ref('stations') }}", "from {{ ref('stations') }} where station_id <= 10")


@pytest.fixture
def hosts():
    started: list[GitHost] = []

    def start(kind: str, repo: str = "acme/analytics", token: str = TOKEN) -> GitHost:
        started.append(GitHost(kind, repo, token))
        return started[-1]

    yield start
    for host in started:
        host.close()


def report_home(factory, tmp_path: Path, host: GitHost, monkeypatch,
                token_env: str = TOKEN):
    """test_ci's two jobs after production's run (shared: ci_home_after_production), the
    CI one reporting to `host`."""
    monkeypatch.setenv("CI_REPORT_TOKEN", token_env)  # the binary inherits it
    home, _, work, warehouse = ci_home_after_production(
        factory, tmp_path, report=f"{{type: {host.kind}, repo: {host.repo}, "
                                  f"token: '${{CI_REPORT_TOKEN}}', api_url: '{host.api_url}'}}")
    return home, work, warehouse


def push(work: Path, branch: str, path: str, *changes: tuple[str, str]) -> str:
    git(work, "checkout", "-q", "-B", branch, "main")
    model = work / path
    text = model.read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    model.write_text(text)
    git(work, "commit", "-q", "-am", f"change on {branch}")
    git(work, "push", "-q", "-f", "origin", branch)
    sha = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "main")
    return sha


def ci_run(home: Path, branch: str) -> tuple[int, dict]:
    result = binary(home, "run", "ci", "--branch", branch, "--wait")
    run = runs_json(home)[0]
    assert run["job"] == "ci", run
    return result.code, run


def compared(home: Path, run_id: int) -> dict:
    shown = binary(home, "compare", str(run_id), "--json")
    assert shown.code == 0, shown.err
    return {m["name"]: m for m in json.loads(shown.out)["models"]}


def columns(warehouse: Path, schema: str, table: str) -> set[str]:
    return {r[0] for r in query(warehouse, "select column_name from information_schema.columns "
                                           f"where table_schema = '{schema}' and "
                                           f"table_name = '{table}'")}


def expected_diff(warehouse: Path, table: str, key: str) -> dict:
    """What the branch did to a model, asked of DuckDB directly."""
    prod, branch = f"main.{table}", f"ci_feature_x.{table}"
    common = ", ".join(sorted(columns(warehouse, "main", table)
                              & columns(warehouse, "ci_feature_x", table)))

    def one(sql: str) -> int:
        return query(warehouse, sql)[0][0]
    added = one(f"select count(*) from {branch} where {key} not in (select {key} from {prod})")
    return {
        "prod_rows": one(f"select count(*) from {prod}"),
        "branch_rows": one(f"select count(*) from {branch}"),
        "added_columns": sorted(columns(warehouse, "ci_feature_x", table)
                                - columns(warehouse, "main", table)),
        "removed_columns": sorted(columns(warehouse, "main", table)
                                  - columns(warehouse, "ci_feature_x", table)),
        "rows_added": added,
        "rows_removed": one(f"select count(*) from {prod} where {key} not in "
                            f"(select {key} from {branch})"),
        "rows_changed": one(f"select count(*) from (select {common} from {branch} except "
                            f"select {common} from {prod})") - added,
    }


def as_measured(model: dict) -> dict:
    picked = {k: model[k] for k in ("prod_rows", "branch_rows", "rows_added",
                                    "rows_removed", "rows_changed")}
    return {**picked, "added_columns": sorted(model["added_columns"]),
            "removed_columns": sorted(model["removed_columns"])}


def test_github_gets_pending_then_outcome_and_one_comment_edited_on_the_next_push(
        tmp_path_factory, tmp_path, hosts, monkeypatch):
    host = hosts("github")
    host.open_pull("feature/x", 7, other_comments=130)  # ours lands on the second page
    home, work, warehouse = report_home(tmp_path_factory, tmp_path, host, monkeypatch)

    sha1 = push(work, "feature/x", STG_STATIONS, CAPITALS, NEW_COLUMN)
    code, run = ci_run(home, "feature/x")
    assert code == 0 and run["status"] == "success"
    assert [(s["sha"], s["state"], s["context"]) for s in host.statuses] == [
        (sha1, "pending", "dbt-console/ci"), (sha1, "success", "dbt-console/ci")]
    assert len(host.statuses[-1]["description"]) < 140
    assert "1 model differs" in host.statuses[-1]["description"]
    measured = compared(home, run["id"])["stg_stations"]
    assert as_measured(measured) == expected_diff(warehouse, "stg_stations", "station_id")
    assert measured["added_columns"] == ["is_large"] and measured["rows_changed"] == 12
    assert measured["key"] == "station_id"
    [comment] = [dict(c) for c in host.mine(7)]  # a copy: the host edits its own
    assert "stg_stations" in comment["body"] and "+is_large" in comment["body"]
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in host.requests)

    sha2 = push(work, "feature/x", STG_STATIONS, CAPITALS, NEW_COLUMN, FEWER)
    code, run = ci_run(home, "feature/x")
    assert code == 1 and run["status"] == "error"
    assert [(s["sha"], s["state"]) for s in host.statuses[2:]] == [
        (sha2, "pending"), (sha2, "failure")]
    failed = host.statuses[-1]["description"]
    assert "1 failed" in failed and "relationships_stg_rides_start_station_id" in failed
    measured = compared(home, run["id"])["stg_stations"]
    assert as_measured(measured) == expected_diff(warehouse, "stg_stations", "station_id")
    assert (measured["branch_rows"], measured["rows_removed"]) == (10, 2)
    [edited] = host.mine(7)  # still one: edited, not posted again
    assert edited["id"] == comment["id"] and edited["body"] != comment["body"]
    assert "Failures" in edited["body"] and "10" in edited["body"]
    posts = [r for r in host.requests if r["method"] == "POST" and "comments" in r["path"]]
    assert len(posts) == 1
    # The token is nowhere a user looks.
    for args in (("jobs", "export"), ("deliveries", "--json"), ("jobs", "show", "ci")):
        shown = binary(home, *args)
        assert TOKEN not in shown.out + shown.err, args


def test_gitlab_with_no_merge_request_gets_statuses_only_and_a_model_without_a_key(
        tmp_path_factory, tmp_path, hosts, monkeypatch):
    host = hosts("gitlab", repo="acme/data/analytics")
    home, work, warehouse = report_home(tmp_path_factory, tmp_path, host, monkeypatch)
    sha = push(work, "feature/x", USAGE, ("count(*) as rides,",
                                          "count(*) as rides,\n    1 as one,"))
    code, run = ci_run(home, "feature/x")
    assert code == 0, run
    assert [(s["sha"], s["state"], s["context"]) for s in host.statuses] == [
        (sha, "pending", "dbt-console/ci"), (sha, "success", "dbt-console/ci")]
    assert not [r for r in host.requests if "notes" in r["path"]]
    assert all(r["headers"]["private-token"] == TOKEN for r in host.requests)
    assert all("%2F" in r["path"] for r in host.requests)  # the project's path, encoded
    usage = compared(home, run["id"])["station_daily_usage"]
    assert usage["key"] is None and usage["rows_added"] is None
    assert usage["added_columns"] == ["one"] and usage["removed_columns"] == []
    rows = query(warehouse, "select count(*) from main.station_daily_usage")[0][0]
    assert usage["prod_rows"] == usage["branch_rows"] == rows
    deliveries = json.loads(binary(home, "deliveries", "--json").out)
    assert {d["status"] for d in deliveries} == {"delivered"}
    shown = binary(home, "compare", str(run["id"])).out
    assert "station_daily_usage" in shown and "no primary key" in shown
    asyncio.run(dashboard_shows_the_branch(home, run["id"], monkeypatch))


async def dashboard_shows_the_branch(home: Path, run_id: int, monkeypatch) -> None:
    """The branch's row says how many models differ and what the merge request shows;
    opening it shows the compare table."""
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    app = DbtConsoleApp(resolve_paths(), start_engine=False)
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.screen.query_one("#jobs")
        await until(pilot, lambda: "ci@feature/x" in table.rows, "the branch's row")
        notes = str(table.rows["ci@feature/x"][7])
        assert notes.startswith("PR success; 1 model differs; at ")
        await select_job(pilot, "ci")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.query_one("#compare").display, "the compare table")
        assert app.screen.run_id == run_id
        shown = str(app.screen.query_one("#compare").render())
        assert "1 of 1 modified models differ" in shown
        assert "≠ station_daily_usage" in shown and "+one" in shown


def test_a_wrong_token_fails_the_delivery_not_the_run_and_a_500_is_retried(
        tmp_path_factory, tmp_path, hosts, monkeypatch):
    host = hosts("github")
    host.open_pull("feature/x", 3)
    home, work, _ = report_home(tmp_path_factory, tmp_path, host, monkeypatch, token_env="wrong")
    push(work, "feature/x", STG_STATIONS, CAPITALS)
    code, run = ci_run(home, "feature/x")
    assert code == 0 and run["status"] == "success"
    assert host.statuses == [] and host.mine(3) == []
    deliveries = json.loads(binary(home, "deliveries", "--json").out)
    outcome = deliveries[0]  # newest first; a pending status before it is given up
    assert (outcome["event"], outcome["status"], outcome["last_status_code"]) == (
        "succeeded", "pending", 401)  # recorded, and to be retried
    assert "401" in outcome["last_error"] and TOKEN not in json.dumps(deliveries)
    assert {d["status"] for d in deliveries[1:]} <= {"pending", "superseded"}

    # The token put right: a retry that meets a 500 first is retried again, and sends
    # one status and one comment in all.
    monkeypatch.setenv("CI_REPORT_TOKEN", TOKEN)
    monkeypatch.setattr(notifier, "BACKOFF_SECONDS", (0.0,) * 4)
    host.fail_next = [500]
    with Store(home / "dbt-console.db") as store:
        final = [d for d in store.list_deliveries(run["id"]) if d.event != "pending"]
        with sqlite3.connect(home / "dbt-console.db") as db:
            db.execute("UPDATE deliveries SET next_attempt_at = 0 WHERE status = 'pending'")
        for _ in range(3):
            notifier.send_due(store, run["id"])
        assert store.list_deliveries(run["id"])[0].id == final[0].id
        assert store.list_deliveries(run["id"])[0].status == "delivered"
    # The stale pending status never went after the outcome.
    assert [s["state"] for s in host.statuses] == ["success"]
    assert len(host.mine(3)) == 1


def test_a_compare_that_fails_is_a_note_in_the_log_never_the_runs_outcome(
        tmp_path_factory, tmp_path, hosts, monkeypatch):
    host = hosts("github")
    home, work, warehouse = report_home(tmp_path_factory, tmp_path, host, monkeypatch)
    # The branch's stg_members reads no seed; production's is a view over one dropped
    # now, so counting production's rows fails in the warehouse.
    push(work, "feature/x", "analytics/pedalshare/models/staging/stg_members.sql",
         ("from {{ ref('members') }}", "from (select 1 as member_id, 'Casual' as plan, "
                                       "'2026-01-01' as joined_on) m"))
    import duckdb

    with duckdb.connect(str(warehouse)) as db:
        db.execute("drop table main.members")
    code, run = ci_run(home, "feature/x")
    assert code == 0 and run["status"] == "success"
    log = binary(home, "logs", str(run["id"])).out
    assert "compare changes measured 0 of 1 modified models" in log
    assert "members" in log and "does not exist" in log  # the warehouse's own words
    [model] = compared(home, run["id"]).values()
    assert model["name"] == "stg_members" and model["note"].startswith("not measured")
    assert [s["state"] for s in host.statuses][-1] == "success"


def test_a_push_seen_by_serve_shows_pending_then_the_outcome(tmp_path_factory, tmp_path, hosts,
                                                             monkeypatch, serving):
    host = hosts("github")
    host.open_pull("feature/z", 9)
    home, work, _ = report_home(tmp_path_factory, tmp_path, host, monkeypatch)
    serve = serving(home, settings="push_poll_seconds = 1\n")
    with sqlite3.connect(home / "dbt-console.db") as db:
        wait_for(lambda: db.execute("SELECT 1 FROM ci_watch").fetchone(), timeout=30,
                 what="the CI job's first poll")
    sha = push(work, "feature/z", STG_STATIONS, CAPITALS)
    # The outcome's status, then its comment, in one delivery.
    wait_for(lambda: host.mine(9), timeout=180, what="the outcome on the pull request")
    assert [(s["sha"], s["state"]) for s in host.statuses] == [
        (sha, "pending"), (sha, "success")]
    assert len(host.mine(9)) == 1
    run = runs_json(home)[0]
    assert (run["trigger"], run["actor"]) == (f"ci:feature/z@{sha}", "push")
    serve.stop()


def test_no_check_is_left_pending_by_a_newer_push_or_a_cancel_while_queued(
        tmp_path_factory, tmp_path, hosts, monkeypatch):
    """No engine takes the run: the engine's notifier loop, called here, sends its
    pending status; a newer push the waiting run takes marks the first as not run; a
    cancel before it starts is its outcome."""
    from dbt_console.engine.notify import reports

    host = hosts("github")
    home, work, _ = report_home(tmp_path_factory, tmp_path, host, monkeypatch)
    monkeypatch.setattr(reports, "SETTLE_SECONDS", 0.0)
    first = push(work, "feature/q", STG_STATIONS, CAPITALS)
    assert binary(home, "run", "ci", "--branch", "feature/q").code == 0
    run_id = runs_json(home)[0]["id"]
    with Store(home / "dbt-console.db") as store:
        assert reports.queue_waiting(store) == 1
        notifier.send_due(store)
        assert [(s["sha"], s["state"]) for s in host.statuses] == [(first, "pending")]
        newer = push(work, "feature/q", STG_STATIONS, CAPITALS, NEW_COLUMN)
        assert binary(home, "run", "ci", "--branch", "feature/q").code == 0
        assert [r["id"] for r in runs_json(home) if r["job"] == "ci"] == [run_id]  # joined
        assert reports.queue_waiting(store) == 2
        notifier.send_due(store)
        assert binary(home, "cancel", str(run_id)).code == 0
        # The cancel queued the outcome with the run's end (engine/outbox.py): the look
        # for checks left pending finds none, now or later.
        assert store.list_deliveries(run_id)[0].event == "cancelled"  # newest first
        assert reports.queue_waiting(store) == 0
        notifier.send_due(store)
    assert [(s["sha"], s["state"]) for s in host.statuses] == [
        (first, "pending"), (first, "error"), (newer, "pending"), (newer, "error")]
    assert newer[:12] in host.statuses[1]["description"]
    assert "cancelled" in host.statuses[-1]["description"]
