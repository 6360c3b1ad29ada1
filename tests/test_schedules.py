"""Schedules fire, coalesce, follow edits, catch up; timeouts stop runs. The engine runs in
this process with the real APScheduler. Cron's finest unit is a minute, so where a test
needs fires it swaps the cron trigger for a 1-second interval trigger (the only stand-in
here); cron parsing and next fire times are checked on their own below."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from conftest import SLOW_PROJECT, make_project, wait_for
from dbt_console.config import Settings
from dbt_console.engine import executor as executor_module
from dbt_console.engine import parts
from dbt_console.engine.engine import Engine
from dbt_console.engine.executor import Executor
from dbt_console.engine.scheduler import next_fire
from dbt_console.model import Job, RunStatus, Schedule, Trigger

pytestmark = pytest.mark.real

# Every step cold, as conftest's environment says: warm starts are test_warm's subject.
COLD = Settings(warm_starts=False)


def every_second(job: Job) -> IntervalTrigger:
    return IntervalTrigger(seconds=1)


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "slow", SLOW_PROJECT)


def parse_job(project, name="quick", **kw) -> Job:
    return Job(name=name, commands=("dbt parse",), project_dir=str(project),
               schedule=Schedule("* * * * *"), **kw)


def schedule_runs(store, job_name):
    return [r for r in store.list_runs(job_name, limit=1000) if str(r.trigger) == "schedule"]


def test_next_fire_follows_cron_and_timezone():
    nightly = Schedule("0 2 * * *", "Europe/Berlin")
    # 2026-11-24 12:00 UTC -> next 02:00 in Berlin (UTC+1 in winter) is 01:00 UTC next day.
    after = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc).timestamp()
    expected = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc).timestamp()
    assert next_fire(nightly, after) == expected
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc).timestamp()
    assert next_fire(nightly, summer) == datetime(2026, 7, 2, 0, 0,
                                                  tzinfo=timezone.utc).timestamp()


def test_scheduled_job_fires_and_an_overscheduled_job_keeps_one_waiting_run(
        paths, store, project):
    store.save_jobs([parse_job(project)])
    engine = Engine(paths, COLD, parts.for_serve(paths, COLD, trigger_for=every_second))
    engine.start()
    try:
        # Timeouts here are upper bounds, met at once on an idle machine: under load 3-22
        # a dbt parse took over 30 s (issue 32).
        first = wait_for(lambda: schedule_runs(store, "quick"), timeout=120,
                         what="a scheduled run")[-1]
        # dbt parse takes seconds while the job fires every second: never two waiting.
        end = time.monotonic() + 6
        while time.monotonic() < end:
            waiting = [r for r in schedule_runs(store, "quick")
                       if r.status is RunStatus.QUEUED]
            assert len(waiting) <= 1
            time.sleep(0.1)
        wait_for(lambda: store.get_run(first.id).status is RunStatus.SUCCESS, timeout=300,
                 what="the first scheduled run to succeed")
        assert (first.id and f"run {first.id} (schedule)" in
                [r.target for r in store.audit_rows() if r.via == "schedule"])
    finally:
        engine.stop(grace_seconds=0)


def test_a_job_paused_or_added_while_the_engine_runs_is_seen(
        paths, store, project):
    store.save_jobs([parse_job(project)])
    engine = Engine(paths, COLD, parts.for_serve(paths, COLD, trigger_for=every_second))
    engine.start()
    try:
        wait_for(lambda: schedule_runs(store, "quick"), timeout=120, what="a first fire")
        store.set_job_enabled("quick", False)
        # Seen when the engine no longer schedules it (how soon: benchmarks/scheduler.py;
        # a loaded machine may take longer than the 2 s promised, and that is no failure).
        wait_for(lambda: "quick" not in engine.next_fires(), timeout=120,
                 what="the engine to see the pause")
        seen = len(schedule_runs(store, "quick"))
        time.sleep(2.5)  # two and a half intervals in which a paused job must not fire
        assert len(schedule_runs(store, "quick")) == seen, "a paused job fired"
        store.save_jobs([parse_job(project, name="added")])
        wait_for(lambda: schedule_runs(store, "added"), timeout=120,
                 what="the new job to fire")
    finally:
        engine.stop(grace_seconds=0)


def test_missed_schedules_are_caught_up_once_and_old_misses_recorded(paths, store, project):
    job = Job(name="every10", commands=("dbt parse",), project_dir=str(project),
              schedule=Schedule("*/10 * * * *"))
    store.save_jobs([job])
    store.mark_schedules({"every10": time.time() - 3 * 3600})  # engine down for 3 hours
    engine = Engine(paths, replace(COLD, catch_up_grace_minutes=60))
    engine.start()
    engine.stop(grace_seconds=0)
    catch_ups = [r for r in store.list_runs("every10") if str(r.trigger) == "catch-up"]
    assert len(catch_ups) == 1, "missed fires are coalesced into one run"
    kinds = {e.kind: e.detail for e in store.recent_events()}
    assert "older than the 60 min grace window: not run" in kinds["missed"]
    assert "catch-up" in kinds


def test_job_timeout_cancels_the_run_and_marks_it_error(paths, store, project, monkeypatch):
    monkeypatch.setattr(executor_module, "SECONDS_PER_MINUTE", 3.0)  # a minute of 3 s
    store.save_jobs([Job(name="slow", commands=("dbt run",), project_dir=str(project),
                         timeout_minutes=1)])
    run = store.enqueue_run(store.get_job("slow"), Trigger.manual(), "test")
    started = time.monotonic()
    finished = Executor(paths).execute(run.id)
    assert finished.status is RunStatus.ERROR
    assert finished.error == "timed out after 1 min"
    assert time.monotonic() - started < 20
    assert any("timed out after 1 min" in ln.msg for ln in store.read_log(run.id))
