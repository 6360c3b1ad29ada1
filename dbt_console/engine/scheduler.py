"""Schedules: APScheduler 3 triggers built from the jobs table.

The store is the truth: APScheduler holds no state of its own (memory job store, rebuilt
from the jobs on every change). A fire does nothing but report the job's name; the
engine turns fires into queued runs in one transaction per batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta, timezone

from apscheduler.triggers.base import BaseTrigger

from dbt_console import cron
from dbt_console.model import Job, Schedule

# Fires that could not happen on time (a suspended machine) still happen within this.
MISFIRE_GRACE_SECONDS = 60


class CronTrigger(BaseTrigger):
    """An APScheduler trigger whose fires come from `dbt_console.cron`: APScheduler's own
    CronTrigger reads weekdays with 0 = Monday and ANDs day-of-month with day-of-week."""

    __slots__ = ("schedule",)

    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def get_next_fire_time(self, previous_fire_time, now):
        # Count from the fire before when there was one, so that a late wake-up still sees
        # the fire it missed (APScheduler's misfire grace decides) and a clock set back
        # cannot fire it twice.
        start = now if previous_fire_time is None else (
            previous_fire_time + timedelta(microseconds=1))
        return cron.next_fire_at_or_after(self.schedule.cron, self.schedule.timezone, start)

    def __str__(self) -> str:
        return f"cron[{self.schedule.cron!r} {self.schedule.timezone}]"


def cron_trigger(schedule: Schedule) -> CronTrigger:
    return CronTrigger(schedule)


def next_fire(schedule: Schedule, after: float | None = None) -> float | None:
    """The first fire time strictly after `after` (default: now), as epoch seconds."""
    return cron.next_after(schedule.cron, schedule.timezone,
                           time.time() if after is None else after)


TriggerFor = Callable[[Job], object]


class Scheduler:
    def __init__(self, on_fire: Callable[[str], None],
                 trigger_for: TriggerFor = lambda job: cron_trigger(job.schedule)):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self._on_fire = on_fire
        self._trigger_for = trigger_for
        # One thread is plenty: a fire only puts (name, time) on the engine's queue.
        self._aps = BackgroundScheduler(
            timezone=timezone.utc, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": MISFIRE_GRACE_SECONDS})
        self._specs: dict[str, tuple] = {}

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    def sync(self, jobs: list[Job]) -> None:
        """Make the triggers match the jobs: add, reschedule, remove."""
        wanted = {j.name: j for j in jobs if j.enabled and j.schedule is not None}
        for name in list(self._specs):
            if name not in wanted:
                self._aps.remove_job(name)
                del self._specs[name]
        for name, job in wanted.items():
            spec = (job.schedule.cron, job.schedule.timezone)
            if self._specs.get(name) == spec:
                continue
            trigger = self._trigger_for(job)
            if name in self._specs:
                self._aps.reschedule_job(name, trigger=trigger)
            else:
                self._aps.add_job(self._on_fire, trigger=trigger, id=name,
                                  args=(name,), name=name)
            self._specs[name] = spec

    def next_fires(self) -> dict[str, float]:
        return {job.id: job.next_run_time.timestamp() for job in self._aps.get_jobs()
                if job.next_run_time is not None}
