"""SVG snapshots of the main screens, on a store built with fixed times so the pictures
only change when the screens do. Regenerate on purpose (pytest --snapshot-update) and
review the diff."""

from __future__ import annotations

import os
import time
import types
from datetime import datetime, timezone

import pytest

from dbt_console.actions import Actor, Context
from dbt_console.actions import jobs as action_jobs
from dbt_console.model import Job, NodeResult, RunStatus, Schedule, Trigger
from dbt_console.store import Store
from dbt_console.tools.screenshots import run_screen_drawn
from dbt_console.tui.app import DbtConsoleApp

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc).timestamp()
SIZE = (100, 30)


@pytest.fixture
def frozen(paths, monkeypatch):
    """A store with two jobs, a good run and a failed one, every time fixed."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(action_jobs, "time", types.SimpleNamespace(time=lambda: NOW))
    with Store(paths.store) as store:
        store.save_jobs([
            Job(name="nightly", commands=("dbt seed", "dbt build"), project_dir="/srv/a",
                schedule=Schedule("0 2 * * *", "Europe/Berlin")),
            Job(name="ride_audit", commands=("dbt build --select staging+",),
                project_dir="/srv/a", schedule=Schedule("0 6 * * 1-5")),
            Job(name="adhoc", commands=("dbt run",), project_dir="/srv/a"),
        ])
        for n, (job, status) in enumerate([("nightly", RunStatus.SUCCESS),
                                           ("ride_audit", RunStatus.ERROR)]):
            run = store.enqueue_run(store.get_job(job), Trigger.schedule(), "scheduler")
            start = NOW - 3600 + n * 600
            store.claim_run(run.id)
            store.update_run(run.id, started_at=start, git_sha="4f1c2e9a7b3d" * 3,
                             git_branch="main")
            rows = [(f"2026-11-24T11:{n * 10:02d}:{i:02d}.000000Z", level, 1, event, node,
                     node_status, msg) for i, (level, event, node, node_status, msg) in
                    enumerate([
                        ("info", "dbt-console", None, None, "$ dbt build"),
                        ("info", "MainReportVersion", None, None, "Running with dbt=1.11"),
                        ("info", "LogStartLine", "model.p.stg_rides", "started",
                         "1 of 3 START sql view model main.stg_rides ......... [RUN]"),
                        ("info", "LogModelResult", "model.p.stg_rides", "success",
                         "1 of 3 OK created sql view model main.stg_rides .... [OK in 0.10s]"),
                        ("error" if status is RunStatus.ERROR else "info", "LogTestResult",
                         "test.p.assert_rides_end_within_a_day", "fail"
                         if status is RunStatus.ERROR else "pass",
                         "2 of 3 FAIL 3 assert_rides_end_within_a_day ..... [FAIL 3 in 0.11s]"
                         if status is RunStatus.ERROR else
                         "2 of 3 PASS assert_rides_end_within_a_day ....... [PASS in 0.11s]"),
                    ])]
            store.append_log(run.id, 0, rows, {"step": 1, "done": 3, "total": 3,
                                               "failed": int(status is RunStatus.ERROR),
                                               "running": []})
            store.start_step(run.id, 1, "dbt build")
            test_status = "fail" if status is RunStatus.ERROR else "pass"
            store.finish_step(run.id, 1, status, 1 if status is RunStatus.ERROR else 0, [
                NodeResult("model.p.stg_rides", "success", 1, "model", None, None, 0.1,
                           "2026-11-24T11:00:01Z", "2026-11-24T11:00:01.1Z", "Thread-1"),
                NodeResult("test.p.assert_rides_end_within_a_day", test_status, 1, "test",
                           "Got 3 results, configured to fail if != 0"
                           if status is RunStatus.ERROR else None, 3 if test_status == "fail"
                           else 0, 0.11, "2026-11-24T11:00:01.2Z", "2026-11-24T11:00:01.3Z",
                           "Thread-2"),
                NodeResult("model.p.fct_rides", "skipped" if status is RunStatus.ERROR
                           else "success", 1, "model", None, None, 0.0 if status is
                           RunStatus.ERROR else 0.2, None, None, "Thread-1"),
            ])
            store.finish_run(run.id, status)
            store.update_run(run.id, finished_at=start + 95 + n * 10)
    return paths


def app(paths) -> DbtConsoleApp:
    made = DbtConsoleApp(paths, start_engine=False)
    # Whoever runs the tests, the header names the same user (the store's owner: admin).
    made.ctx = Context(paths, Actor("ada", "user", "dashboard", os.getuid()))
    return made


def test_jobs_screen(frozen, snap_compare):
    assert snap_compare(app(frozen), terminal_size=SIZE, press=["wait:300"])


def test_failed_run_screen(frozen, snap_compare):
    async def opened(pilot):
        await pilot.press("down", "down", "enter")
        await run_screen_drawn(pilot)

    assert snap_compare(app(frozen), terminal_size=SIZE, run_before=opened)


def test_history_screen(frozen, snap_compare):
    assert snap_compare(app(frozen), terminal_size=SIZE, press=["H", "wait:300"])


def test_help_screen(frozen, snap_compare):
    assert snap_compare(app(frozen), terminal_size=SIZE, press=["question_mark", "wait:200"])


def test_jobs_screen_light_theme(frozen, snap_compare):
    async def light(pilot):
        pilot.app.theme = "textual-light"

    assert snap_compare(app(frozen), terminal_size=SIZE, run_before=light,
                        press=["wait:300"])
