"""Run state changes into delivery rows, and delivery rows out over the wire.

Queuing happens on the run's thread in one insert, so a run never waits on a receiver;
sending happens on the engine's notifier thread, with retries (exponential backoff with
jitter) that survive an engine restart because the rows are the queue."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

from dbt_console.ci import ReportSpec
from dbt_console.engine import killpoints
from dbt_console.engine.notify import gitreport, owner_mail, reports
from dbt_console.engine.notify.send import attempt, masked_target
from dbt_console.hooks import DEFAULT_EVENTS, KINDS, Alert, Notice, policy
from dbt_console.hooks.pagerduty import RESOLVES
from dbt_console.model import FAILED_NODE, WARNED_NODE, Hook, Job, Run, RunStatus
from dbt_console.store import (
    AlertsStore,
    DeliveriesStore,
    JobsStore,
    LogsStore,
    RunsStore,
    StepsStore,
)
from dbt_console.store.repos import Repos, joined, opened

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = joined((RunsStore, DeliveriesStore, StepsStore, JobsStore, AlertsStore, LogsStore),
              reports.USES, owner_mail.USES)


log = logging.getLogger(__name__)

# Waits after failed attempts 1-4; a 5th failure is final (about 7.5 min in all, +-20 %).
BACKOFF_SECONDS = (30.0, 60.0, 120.0, 240.0)
JITTER = 0.2
LOG_TAIL_LINES = 20  # what an email quotes of the log
STREAK_RUNS = 200  # how far back a failing streak is counted


def _wanted(hook: Hook, event: str, store: Repos, run: Run, earlier: list[Run]) -> bool:
    events = hook.options.get("events", DEFAULT_EVENTS)
    if hook.options.get("notify", "every") == "on_change":
        # Its first success after failures goes whatever its events: the all-clear.
        return ((event in events or event in policy.RECOVERY)
                and policy.on_change_wants(event, earlier))
    if event in events:
        return True
    # PagerDuty: the job's next success resolves the incident its failure, or a run alert
    # since its last success, opened.
    if hook.type == "pagerduty" and event in RESOLVES:
        if earlier and earlier[0].status in (RunStatus.ERROR, RunStatus.CANCELLED):
            return True
        last_good = next((r.finished_at for r in earlier if r.status is RunStatus.SUCCESS), 0)
        return store.alerted_since(run.job_name, last_good or 0)
    return False


def earlier_runs(store: Repos, run: Run) -> list[Run]:
    """The job's finished runs before this one, of its branch, newest first: enough to
    count a long failing streak."""
    return [r for r in store.list_runs(run.job_name, limit=STREAK_RUNS, before_id=run.id,
                                       branch=run.git_branch) if r.status.finished]


def alert_deliveries(job: Job, alert: Alert) -> list[tuple]:
    """The delivery rows of a run alert: one for every hook of the job that hears it."""
    return [(alert.run_id, job.name, index, hook.type, masked_target(hook), alert.event,
             json.dumps(KINDS[hook.type].alert_body(hook, index, alert)))
            for index, hook in enumerate(job.hooks)
            if alert.event in hook.options.get("events", DEFAULT_EVENTS)]


def _hook_of(store: Repos, delivery) -> Hook | ReportSpec | None:
    """The hook a delivery goes through: as the run's job had it, or for an alert with no
    run, as the job has it now (None when it is gone). A CI report goes through the job's
    ci.report."""
    if reports.is_report(delivery.hook_index):
        return store.run_job(delivery.run_id).ci.report
    if delivery.run_id is not None:
        return store.run_job(delivery.run_id).hooks[delivery.hook_index]
    job = store.find_job(delivery.job_name)
    return None if job is None or delivery.hook_index >= len(job.hooks) else (
        job.hooks[delivery.hook_index])


def event_of(run: Run, counts: dict[str, int]) -> str | None:
    """The hook event a run's status is, or None for statuses hooks do not hear."""
    if run.status is RunStatus.RUNNING:
        return "started"
    if run.status is RunStatus.SUCCESS:
        return "warned" if any(counts.get(s) for s in WARNED_NODE) else "succeeded"
    return {RunStatus.ERROR: "errored", RunStatus.CANCELLED: "cancelled"}.get(run.status)


def log_tail(store: Repos, run: Run) -> tuple[str, ...]:
    """The run's last log lines, as `dbt-console logs` prints their text."""
    count = store.log_line_count(run.id)
    return tuple(line.msg for line in store.read_log(run.id, max(0, count - LOG_TAIL_LINES)))


def queue_for(store: Repos, run: Run) -> int:
    """Queue a delivery for every hook of the run's job that wants this state change."""
    job = store.run_job(run.id)
    if not job.hooks and not reports.reports(job, run):
        return 0
    counts = store.node_counts([run.id])[run.id]
    event = event_of(run, counts)
    if event is None:
        return 0
    failed = [(r.unique_id, r.status, r.message) for r in store.node_results(run.id)
              if r.status in FAILED_NODE]
    # A run's start needs no history: on_change and recoveries are about how it ended.
    earlier = earlier_runs(store, run) if run.status.finished else []
    notice = Notice(run, event, counts, failed, log_tail(store, run),
                    policy.recovery_note(run, earlier) if event in policy.RECOVERY else "")
    rows = []
    for index, hook in enumerate(job.hooks):
        if not _wanted(hook, event, store, run, earlier):
            continue
        body = KINDS[hook.type].body(hook, index, notice)
        rows.append((run.id, run.job_name, index, hook.type, masked_target(hook), event,
                     json.dumps(body)))
    rows += reports.rows_for(store, job, run, event) + owner_mail.rows_for(store, job, run, event)
    store.add_deliveries(rows)
    return len(rows)


def send_due(store: Repos, run_id: int | None = None,
             smtp_defaults: Mapping[str, Any] | None = None, api_url: str | None = None) -> int:
    """Make one attempt at every delivery that is due; returns how many were tried.
    `smtp_defaults`: settings.toml's [smtp], for email hooks without their own."""
    due = store.due_deliveries(run_id)
    for delivery in due:
        if reports.is_report(delivery.hook_index) and reports.outdated(store, delivery):
            store.supersede_delivery(delivery.id, "the run's newer status went instead")
            continue
        hook = _hook_of(store, delivery)
        if hook is None:
            store.record_attempt(delivery.id, False, None, "the job or its hook is gone",
                                 None, None)
            continue
        result = (gitreport.attempt(hook, delivery.request_body)
                  if isinstance(hook, ReportSpec)
                  else attempt(hook, delivery.request_body, smtp_defaults, api_url))
        if result.delivered:
            killpoints.reach(killpoints.DELIVERY_ANSWERED)
        retry_at = None
        tries = delivery.attempts + 1
        if not result.delivered and tries <= len(BACKOFF_SECONDS):
            wait = BACKOFF_SECONDS[tries - 1]
            retry_at = time.time() + wait * random.uniform(1 - JITTER, 1 + JITTER)
        store.record_attempt(delivery.id, result.delivered, result.status_code, result.error,
                             result.response, retry_at)
        if not result.delivered:
            log.warning("delivery %s (run %s, %s): %s%s", delivery.id, delivery.run_id,
                        delivery.event, result.error,
                        "; will retry" if retry_at else "; gave up")
    return len(due)


class Notifier:
    """The engine's sender: a thread that delivers whatever is due, about once a second."""

    def __init__(self, store_path, interval: float = 1.0, run_id: int | None = None,
                 smtp_defaults: Mapping[str, Any] | None = None, api_url: str | None = None):
        self.store_path = store_path
        self.smtp_defaults, self.api_url = smtp_defaults, api_url
        self.run_id = run_id  # only this run's deliveries (`run --wait` with no engine)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _loop(self) -> None:
        with opened(self.store_path, USES) as store:
            while not self._stop.is_set():
                try:
                    if self.run_id is None:
                        reports.queue_waiting(store)
                    send_due(store, self.run_id, self.smtp_defaults, self.api_url)
                except Exception:
                    log.exception("notifier")
                self._stop.wait(self.interval)
