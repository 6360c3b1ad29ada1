"""A CI job's reports to its git host as delivery rows, beside its hooks' rows (at
REPORT_INDEX): a pending status when a run is queued or starts, and its outcome with the
pull request comment when it ends. The notifier sends them like any delivery."""

from __future__ import annotations

import json
import time

from dbt_console.ci import report
from dbt_console.engine.notify.gitreport import masked_target
from dbt_console.model import Job, Run
from dbt_console.store import CiStore, DeliveriesStore, RunsStore, StepsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (RunsStore, CiStore, DeliveriesStore, StepsStore)


# Where a report's rows sit among a job's hooks: no hook has a negative index.
REPORT_INDEX = -1
PENDING = "pending"
ENDED = {"success": "succeeded", "error": "errored", "cancelled": "cancelled"}
# A run the executor finishes queues its outcome at once; one ended this long ago with
# only a pending status sent ended some other way.
SETTLE_SECONDS = 5.0
LOOK_BACK_SECONDS = 24 * 3600.0


def reports(job: Job, run: Run) -> bool:
    return (job.ci is not None and job.ci.report is not None and run.trigger.kind == "ci"
            and bool(run.git_sha))


def rows_for(store: Repos, job: Job, run: Run, event: str) -> list[tuple]:
    """The report rows for a run's state change: none when it is not reported or its
    sha already has its pending status; its outcome once it ended."""
    if not reports(job, run):
        return []
    if not run.status.finished:
        return _pending(store, job, run)
    compared = store.compare_of(run.id)
    with_run, diffs = compared if compared else (None, [])
    body = report.payload(job.name, run, store.node_results(run.id), diffs, with_run)
    return [_row(job, run, event, body)]


def _row(job: Job, run: Run, event: str, body: dict) -> tuple:
    return (run.id, run.job_name, REPORT_INDEX, job.ci.report.type,
            masked_target(job.ci.report), event, json.dumps(body))


def _pending(store: Repos, job: Job, run: Run) -> list[tuple]:
    """A pending status on the run's sha, unless it has one. A run still waiting takes
    the newest push of its branch: the push it was queued for is then marked as not run,
    or its commit would show a check pending for ever."""
    last = store.latest_deliveries([run.id], REPORT_INDEX).get(run.id)
    sent = report.body_of(last) if last else {}
    if sent.get("sha") == run.git_sha:
        return []
    rows = []
    if sent.get("sha"):
        rows.append(_row(job, run, "replaced", {
            **sent, "state": "error", "comment": None,
            "description": f"not run: the newer push {run.git_sha[:12]} took its place"}))
    body = report.payload(job.name, run, [], [], None)
    return [*rows, _row(job, run, PENDING, body)]


def queue_waiting(store: Repos) -> int:
    """A pending status for each CI run queued since the last look (the pull request
    shows the check as soon as the push is seen, not once a worker is free), and the
    outcome of each that ended without the executor saying so (cancelled while queued,
    or its engine gone): a check is never left pending."""
    rows = []
    for run in store.queued_ci_runs():
        rows += rows_for(store, store.run_job(run.id), run, PENDING)
    now = time.time()
    # (The store reads the pending rows at REPORT_INDEX, -1, through an index of theirs.)
    for run in store.ci_runs_left_pending(now - SETTLE_SECONDS, now - LOOK_BACK_SECONDS):
        rows += rows_for(store, store.run_job(run.id), run, ENDED[run.status.value])
    store.add_deliveries(rows)
    return len(rows)


def is_report(hook_index: int) -> bool:
    return hook_index == REPORT_INDEX


def outdated(store: Repos, delivery) -> bool:
    """Whether a report has a newer one for the same run and sha: sent late (a retry
    after the run ended, say) a pending status would put a finished check back to
    pending."""
    sha = report.body_of(delivery).get("sha")
    return any(d.id > delivery.id and d.hook_index == REPORT_INDEX
               and report.body_of(d).get("sha") == sha
               for d in store.list_deliveries(delivery.run_id))
