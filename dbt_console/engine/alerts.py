"""The run alerts of jobs with `sla:` (sla.py says what each means): looked for by the
engine every CHECK_SECONDS, each raised once (the store's alerts table keeps the once, so
a restart neither repeats one nor loses one) and delivered through the job's hooks."""

from __future__ import annotations

import time
from collections.abc import Callable

from dbt_console import sla
from dbt_console.engine.notify.notifier import alert_deliveries
from dbt_console.hooks import Alert
from dbt_console.model import Job, RunStatus
from dbt_console.store import AlertsStore, JobsStore, RunsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (JobsStore, AlertsStore, RunsStore)


CHECK_SECONDS = 15.0


class AlertWatch:
    def __init__(self, grace_minutes: int, clock: Callable[[], float] = time.time):
        self.grace = grace_minutes * 60
        self.clock = clock  # tests move it

    def check(self, store: Repos) -> int:
        """Raise what is due now; returns how many alerts were new."""
        now = self.clock()
        jobs = {j.name: j for j in store.list_jobs() if j.sla is not None}
        if not jobs:
            return 0
        raised = 0
        for run in store.runs_in_flight():
            job = jobs.get(run.job_name)
            if job is None or run.status is not RunStatus.RUNNING or not run.started_at:
                continue
            usual = sla.usual(store.success_durations(job.name, sla.USUAL_RUNS))
            why = sla.slow(job.sla, now - run.started_at, usual)
            if why:
                raised += self._raise(store, job, "slow", f"run:{run.id}", f"run {run.id} "
                                      f"{why}", run.id, now)
        for job in jobs.values():
            if job.enabled and job.schedule is not None:
                raised += self._late(store, job, now) + self._waiting(store, job, now)
        return raised

    def _late(self, store: Repos, job: Job, now: float) -> int:
        if not job.sla.finish_by:
            return 0
        day = sla.today(now, job.schedule)
        due = sla.deadline(job.sla.finish_by, day, job.schedule)
        if now < due or not sla.fires_on(job.schedule, day):
            return 0
        start, _ = sla.day_bounds(day, job.schedule)
        if store.succeeded_between(job.name, start, due):
            return 0
        return self._raise(store, job, "late", f"day:{day.isoformat()}",
                           f"no successful run by {job.sla.finish_by} "
                           f"({job.schedule.timezone}) on {day.isoformat()}", None, now)

    def _waiting(self, store: Repos, job: Job, now: float) -> int:
        if not job.sla.missed:
            return 0
        return sum(self._raise(store, job, "missed", f"fire:{int(queued)}",
                               f"the run scheduled at {_clock(queued)} (run {run_id}) did not "
                               f"start within {self.grace // 60:.0f} min", run_id, now)
                   for run_id, queued in store.scheduled_runs_waiting(job.name,
                                                                      now - self.grace))

    def missed_while_down(self, store: Repos, job: Job, fired: float) -> int:
        """A fire older than the grace window when the engine started: it is not run."""
        if job.sla is None or not job.sla.missed:
            return 0
        return self._raise(store, job, "missed", f"fire:{int(fired)}",
                           f"the run scheduled at {_clock(fired)} was missed while no "
                           "engine ran", None, self.clock())

    @staticmethod
    def _raise(store: Repos, job: Job, kind: str, key: str, detail: str,
               run_id: int | None, now: float) -> int:
        alert = Alert(job.name, kind, detail, run_id, now)
        return int(store.record_alert(job.name, kind, key, detail, now,
                                      alert_deliveries(job, alert)))


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
