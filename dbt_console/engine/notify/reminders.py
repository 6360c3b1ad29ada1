"""`remind_after`: one reminder while a job stays failing (hooks/policy.py decides). The
leader checks now and then; a reminder is a delivery like any other, so it is retried,
logged and survives a restart."""

from __future__ import annotations

import json
import time

from dbt_console.engine.notify import notifier
from dbt_console.engine.notify.send import masked_target
from dbt_console.hooks import DEFAULT_EVENTS, KINDS, Notice, policy
from dbt_console.model import FAILED_NODE, Job
from dbt_console.store import DeliveriesStore, JobsStore, LogsStore, RunsStore, StepsStore
from dbt_console.store.repos import Repos

USES = (JobsStore, RunsStore, StepsStore, DeliveriesStore, LogsStore)
CHECK_SECONDS = 60.0
EVENT = "reminder"


def check(store: Repos, now: float | None = None) -> int:
    """Queue every reminder due now; returns how many."""
    now = time.time() if now is None else now
    rows = []
    for job in store.list_jobs():
        hooks = [(i, h) for i, h in enumerate(job.hooks) if "remind_after" in h.options
                 and "errored" in h.options.get("events", DEFAULT_EVENTS)]
        if hooks and job.ci is None:  # a CI job's branches fail and pass on their own
            rows += _due(store, job, hooks, now)
    store.add_deliveries(rows)
    return len(rows)


def _due(store: Repos, job: Job, hooks, now: float) -> list[tuple]:
    latest = [r for r in store.list_runs(job.name, limit=notifier.STREAK_RUNS)
              if r.status.finished]
    rows = []
    for index, hook in hooks:
        note = policy.reminder_note(hook.options, latest, now,
                                    store.last_event_run(job.name, index, EVENT))
        if not note:
            continue
        run = latest[0]
        failed = [(r.unique_id, r.status, r.message) for r in store.node_results(run.id)
                  if r.status in FAILED_NODE]
        notice = Notice(run, "errored", store.node_counts([run.id])[run.id], failed,
                        notifier.log_tail(store, run), note)
        rows.append((run.id, job.name, index, hook.type, masked_target(hook), EVENT,
                     json.dumps(KINDS[hook.type].body(hook, index, notice))))
    return rows
