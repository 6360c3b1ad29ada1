"""An engine's schedules part: APScheduler's triggers kept in step with the jobs, the
fires missed while no engine ran caught up (or recorded) on start, and a warm helper
started for each dbt the enabled jobs use, so their first run is warm."""

from __future__ import annotations

import time
from collections.abc import Callable

from dbt_console.config import Settings
from dbt_console.engine import alerts
from dbt_console.engine.alerts import AlertWatch
from dbt_console.engine.scheduler import Scheduler, TriggerFor, next_fire
from dbt_console.engine.stepenv import SetupError, find_dbt
from dbt_console.engine.warm.launcher import WarmLauncher
from dbt_console.model import Job, Trigger
from dbt_console.store import EventsStore, JobsStore, QueueStore
from dbt_console.store.repos import Repos, joined

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = joined((QueueStore, EventsStore, JobsStore), alerts.USES)



class Schedules:
    def __init__(self, on_fire: Callable[[str], None], trigger_for: TriggerFor,
                 settings: Settings, watch: AlertWatch, warm: WarmLauncher | None):
        self.scheduler = Scheduler(on_fire, trigger_for)
        self.grace_minutes = settings.catch_up_grace_minutes
        self.watch, self.warm = watch, warm

    def start(self, store: Repos) -> None:
        """Catch up what was missed, then fire on time."""
        self._catch_up(store)
        self.jobs_changed(store.list_jobs())
        self.scheduler.start()

    def jobs_changed(self, jobs: list[Job]) -> None:
        self.scheduler.sync(jobs)
        self._prewarm(jobs)

    def stop(self) -> None:
        self.scheduler.shutdown()

    def next_fires(self) -> dict[str, float]:
        return self.scheduler.next_fires()

    def _prewarm(self, jobs: list[Job]) -> None:
        if self.warm is None:
            return
        dbts = set()
        for job in jobs:
            if job.enabled and job.warm:
                try:
                    dbts.add(find_dbt(job))
                except SetupError:
                    pass  # the run will say so
        self.warm.prewarm(sorted(dbts))

    def _catch_up(self, store: Repos) -> None:
        """Schedules missed while no engine ran: the newest miss inside the grace window
        is run once (trigger catch-up); older misses are recorded, not run."""
        now = time.time()
        grace = self.grace_minutes * 60
        marks = store.schedule_marks()
        fires: list[tuple[str, float]] = []
        for job in store.list_jobs():
            if not job.enabled or job.schedule is None:
                continue
            first_missed = next_fire(job.schedule, marks[job.name])
            if first_missed is None or first_missed > now:
                continue
            recent = next_fire(job.schedule, max(marks[job.name], now - grace))
            if recent is not None and recent <= now:
                fires.append((job.name, now))
                store.record_event("catch-up", job.name,
                                   "missed while no engine ran; running it once now")
            if first_missed < now - grace:
                self.watch.missed_while_down(store, job, first_missed)
                store.record_event(
                    "missed", job.name,
                    f"fires from {time.strftime('%Y-%m-%d %H:%M', time.localtime(first_missed))}"
                    f" were missed while no engine ran and are older than the "
                    f"{self.grace_minutes} min grace window: not run")
        if fires:
            store.enqueue_fires(fires, Trigger.catch_up(), "engine")
        store.mark_schedules({j.name: now for j in store.list_jobs() if j.schedule})
