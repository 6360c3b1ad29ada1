"""Run alerts (sla:): each fires once, on time, through real hooks to a real receiver,
with a clock the test moves; a restart neither repeats nor loses one."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from conftest import wait_for
from dbt_console.config import Settings
from dbt_console.engine.alerts import AlertWatch
from dbt_console.engine.engine import Engine
from dbt_console.engine.notify import notifier
from dbt_console.model import Hook, Job, RunStatus, Schedule, Sla, Trigger

pytestmark = pytest.mark.real

DAY = datetime(2026, 12, 1, tzinfo=timezone.utc)


def at(hour: int, minute: int = 0) -> float:
    return DAY.replace(hour=hour, minute=minute).timestamp()


def job(receiver_url: str, sla: Sla, kind: str = "webhook") -> Job:
    hook = Hook(kind, {"url": f"{receiver_url}/{kind}"} if kind != "pagerduty" else {
        "url": f"{receiver_url}/pd", "routing_key": "R0UTINGKEY0000000000000000000000"})
    return Job(name="nightly", commands=("dbt build",), project_dir="/srv",
               schedule=Schedule("0 5 * * *", "UTC"), sla=sla, hooks=(hook,))


def bodies(server) -> list[dict]:
    return [json.loads(r["body"]) for r in server.requests]


def finished(store, job_: Job, status: RunStatus, start: float, end: float) -> int:
    run = store.enqueue_run(job_, Trigger.schedule(), "scheduler")
    store.claim_run(run.id)
    store.finish_run(run.id, status)
    store.conn.execute("UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?",
                       (start, end, run.id))
    return run.id


def test_late_fires_once_at_finish_by_and_not_again_after_a_restart(store, receiver):
    server = receiver()
    store.save_jobs([job(server.url, Sla(finish_by="07:00"))])
    clock = [at(6, 59)]
    watch = AlertWatch(60, clock=lambda: clock[0])
    assert watch.check(store) == 0  # not yet
    clock[0] = at(7, 0, ) + 30
    assert watch.check(store) == 1
    assert watch.check(store) == 0  # once
    assert AlertWatch(60, clock=lambda: clock[0]).check(store) == 0  # a restarted engine
    notifier.send_due(store)
    (body,) = bodies(server)
    assert body["eventType"] == "job.run.late" and body["data"]["runId"] is None
    assert "no successful run by 07:00 (UTC) on 2026-12-01" in body["data"]["reason"]


def test_a_success_before_finish_by_means_no_late(store, receiver):
    server = receiver()
    store.save_jobs([job(server.url, Sla(finish_by="07:00"))])
    finished(store, store.get_job("nightly"), RunStatus.SUCCESS, at(5), at(6, 30))
    assert AlertWatch(60, clock=lambda: at(8)).check(store) == 0
    assert server.requests == []


def test_slow_after_max_minutes_and_slower_than_usual_once_a_run(store, receiver):
    server = receiver()
    store.save_jobs([job(server.url, Sla(max_minutes=45, slower_than_usual=2.0), "slack")])
    nightly = store.get_job("nightly")
    for day in range(3):  # the usual: 10 minutes
        finished(store, nightly, RunStatus.SUCCESS, at(1 + day), at(1 + day, 10))
    run = store.enqueue_run(nightly, Trigger.schedule(), "scheduler")
    store.claim_run(run.id)
    store.start_step(run.id, 1, "Use project directory")  # running now
    store.conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", (at(5), run.id))
    watch_at = [at(5, 19)]
    watch = AlertWatch(60, clock=lambda: watch_at[0])
    assert watch.check(store) == 0  # 19 min: under 2 x 10
    watch_at[0] = at(5, 21)
    assert watch.check(store) == 1
    watch_at[0] = at(5, 50)  # past max_minutes too: still the one alert of this run
    assert watch.check(store) == 0
    notifier.send_due(store)
    (body,) = bodies(server)
    assert body["text"].startswith(":turtle: nightly is running slow: run ")
    assert "over 2x the usual 10.0 min" in body["text"]


def test_missed_then_the_next_success_resolves_pagerdutys_incident(store, receiver):
    server = receiver()
    store.save_jobs([job(server.url, Sla(missed=True), "pagerduty")])
    nightly = store.get_job("nightly")
    waiting = store.enqueue_run(nightly, Trigger.schedule(), "scheduler")
    store.conn.execute("UPDATE runs SET queued_at = ? WHERE id = ?", (at(5), waiting.id))
    assert AlertWatch(60, clock=lambda: at(5, 59)).check(store) == 0  # inside the grace
    assert AlertWatch(60, clock=lambda: at(6, 1)).check(store) == 1
    notifier.send_due(store)
    store.claim_run(waiting.id)
    store.finish_run(waiting.id, RunStatus.SUCCESS)
    notifier.queue_for(store, store.get_run(waiting.id))
    notifier.send_due(store)
    trigger, resolve = bodies(server)
    assert trigger["event_action"] == "trigger" and trigger["payload"]["severity"] == "warning"
    assert "missed a scheduled run" in trigger["payload"]["summary"]
    assert resolve["event_action"] == "resolve"
    assert resolve["dedup_key"] == trigger["dedup_key"] == "dbt-console/nightly"


def test_fires_missed_while_no_engine_ran_are_found_at_the_next_start(paths, store,
                                                                      receiver):
    server = receiver()
    settings = Settings(warm_starts=False, catch_up_grace_minutes=1)
    # A fire time half a day from now: at 05:00 UTC itself the newest miss fell inside the
    # catch-up grace, a catch-up run failed (no project) and added its errored hook.
    hour = (time.gmtime().tm_hour + 12) % 24
    nightly = replace(job(server.url, Sla(missed=True)),
                      schedule=Schedule(f"0 {hour} * * *", "UTC"))
    store.save_jobs([nightly])
    store.mark_schedules({"nightly": time.time() - 3 * 24 * 3600})  # down for three days
    for _ in range(2):  # a second start finds the same miss: no second alert
        engine = Engine(paths, settings)
        engine.start()
        try:
            wait_for(lambda: store.list_deliveries(), timeout=30, what="the missed alert")
            wait_for(lambda: server.requests, timeout=30, what="its delivery")
        finally:
            engine.stop(grace_seconds=0)
        store.mark_schedules({"nightly": time.time() - 3 * 24 * 3600})
    assert [b["eventType"] for b in bodies(server)] == ["job.run.missed"]


def test_the_jobs_table_marks_a_job_with_an_open_alert(demo_runs, tmp_path, monkeypatch):
    """Until the job next succeeds, its status cell says which alert is open."""
    import asyncio

    from test_tui import cell_text, demo_copy

    from dbt_console.config import resolve_paths
    from dbt_console.store import Store
    from dbt_console.tui.app import DbtConsoleApp

    demo_copy(demo_runs, tmp_path, monkeypatch)
    with Store(resolve_paths().store) as store:
        assert store.record_alert("ride_audit", "late", "day:2026-12-01", "no success by 07:00",
                                  time.time(), [])

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one("#jobs")
            for _ in range(200):  # until the table has its rows
                rows = {cell_text(table, i, 0): i for i in range(table.row_count)}
                if "ride_audit" in rows:
                    break
                await pilot.pause()
            assert cell_text(table, rows["ride_audit"], 2).endswith("error ! late")
            assert "!" not in cell_text(table, rows["nightly"], 2)

    asyncio.run(scenario())
