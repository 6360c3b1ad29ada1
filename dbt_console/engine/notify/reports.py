"""A CI job's reports to its git host as delivery rows, beside its hooks' rows (at
REPORT_INDEX): a pending status when a run is queued or starts, and its outcome with the
pull request comment when it ends. The notifier sends them like any delivery."""

from __future__ import annotations

import json
import time

from dbt_console.ci import report
from dbt_console.engine.notify.gitreport import masked_target
from dbt_console.model import Job, Run
from dbt_console.store import Store

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


def rows_for(store: Store, job: Job, run: Run, event: str) -> list[tuple]:
    """The report row for a run's state change (none when it is not reported, or a
    pending status was already queued for it)."""
    if not reports(job, run):
        return []
    if not run.status.finished:
        if store.has_deliveries(run.id, REPORT_INDEX):
            return []
        event = PENDING
    compared = store.compare_of(run.id)
    with_run, diffs = compared if compared else (None, [])
    body = report.payload(job.name, run, store.node_results(run.id), diffs, with_run)
    return [(run.id, run.job_name, REPORT_INDEX, job.ci.report.type,
             masked_target(job.ci.report), event, json.dumps(body))]


def queue_waiting(store: Store) -> int:
    """A pending status for each CI run queued since the last look (the pull request
    shows the check as soon as the push is seen, not once a worker is free), and the
    outcome of each that ended without the executor saying so (cancelled while queued,
    or its engine gone): a check is never left pending."""
    rows = []
    for run in store.queued_ci_runs(unreported_at=REPORT_INDEX):
        rows += rows_for(store, store.run_job(run.id), run, PENDING)
    now = time.time()
    for run in store.ci_runs_left_pending(REPORT_INDEX, now - SETTLE_SECONDS,
                                          now - LOOK_BACK_SECONDS):
        rows += rows_for(store, store.run_job(run.id), run, ENDED[run.status.value])
    store.add_deliveries(rows)
    return len(rows)


def is_report(hook_index: int) -> bool:
    return hook_index == REPORT_INDEX


def outdated(store: Store, delivery) -> bool:
    """Whether a report has a newer one for its run: sent late (a retry after the run
    ended, say) a pending status would put a finished run's check back to pending."""
    newest = store.latest_deliveries([delivery.run_id], REPORT_INDEX).get(delivery.run_id)
    return newest is not None and newest.id != delivery.id



def reported(delivery) -> str:
    """A report delivery in a few words: the state it carries, and whether it got there."""
    try:
        state = json.loads(delivery.request_body).get("state", "?")
    except ValueError:
        state = "?"
    return state if delivery.status == "delivered" else f"{state} ({delivery.status})"
