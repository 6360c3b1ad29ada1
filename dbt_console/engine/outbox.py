"""A run's end and what it sets off, committed together: the deliveries to send and the
chained (`after:`) runs to queue are written in the transaction that gives the run its
final status. The deliveries table is the outbox the notifier sends from, at least once.

Every way a run ends goes through here: the executor, the recovery of runs a dead engine
left, and the cancel of a queued run. A kill -9 at any moment leaves either the run
unfinished (the next engine's recovery ends it, and sets its effects off then) or the run
finished with all of its effects queued; never a finished run whose hook or chained run
was lost.
"""

from __future__ import annotations

import threading

from dbt_console import queueing
from dbt_console.engine.notify import notifier
from dbt_console.engine.notify.notifier import queue_for
from dbt_console.errors import failed_words, no_space
from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.store import QueueStore, RunsStore
from dbt_console.store.repos import Repos, joined

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = joined((RunsStore, QueueStore), notifier.USES)



def end_run(store: Repos, run_id: int, status: RunStatus, reason: str | None
            ) -> tuple[Run, list[Run]]:
    """Finish the run; returns it and the runs it chained."""
    with store.atomic():
        store.finish_run(run_id, status, reason)
        return set_off(store, store.get_run(run_id))


def end_failed(store: Repos, run_id: int, exc: BaseException, where: object,
               stopping: threading.Event, every: float = 5.0) -> None:
    """End a run dbt-console itself failed under. A full disk is what most often fails
    it, and the run's end cannot be written either until space is freed: try again
    every few seconds until then (or until the engine stops: the next one's recovery
    ends the run), so the run never stays 'running' under a live engine."""
    while True:
        try:
            end_run(store, run_id, RunStatus.ERROR, failed_words(exc, where))
            return
        except Exception as again:
            if not no_space(again) or stopping.wait(every):
                raise


def set_off(store: Repos, run: Run) -> tuple[Run, list[Run]]:
    """Queue what a run that has just ended sets off, in the caller's transaction."""
    with store.atomic():
        queue_for(store, run)
        chained = queueing.downstream(run, store.chained_after(run.job_name))
        # The trigger names the upstream run: job:NAME#ID.
        return run, [store.enqueue_run(job, Trigger.after(run.job_name, run.id), "engine")
                     for job in chained]


def end_orphans(store: Repos, reason: str) -> tuple[list[int], list[Run]]:
    """Runs a dead engine left starting or running become errors, each with its errored
    hooks and `on: [error]` chained runs queued: the ids, and the runs chained."""
    chained: list[Run] = []
    with store.atomic():
        ids = store.fail_orphans(reason)
        for run_id in ids:
            chained += set_off(store, store.get_run(run_id))[1]
    return ids, chained
