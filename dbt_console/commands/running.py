"""`run`, `retry`, `rerun`, `cancel`: asking for a run, and seeing it through here when
asked to wait (as a one-run engine when no engine is alive)."""

from __future__ import annotations

import sys
import time
from argparse import Namespace

from dbt_console import actions, failures, humanize
from dbt_console.actions import Context
from dbt_console.commands import out
from dbt_console.model import Run, RunStatus

# A poll that finds nothing new is one PRAGMA: cheap enough to do 50 times a second.
FOLLOW_POLL_SECONDS = 0.02
CANCEL_WAIT_SECONDS = 30


def cmd_run(args: Namespace, ctx: Context) -> int:
    run = actions.runs.run_now(ctx, args.job, args.branch, args.sha)
    return start(ctx, run, args.wait)


def cmd_retry(args: Namespace, ctx: Context) -> int:
    run, note = actions.runs.retry(ctx, args.run_id)
    sys.stderr.write(f"dbt-console: {note}\n")
    return start(ctx, run, args.wait)


def cmd_rerun(args: Namespace, ctx: Context) -> int:
    run, note = actions.runs.rerun(ctx, args.job)
    sys.stderr.write(f"dbt-console: {note}\n")
    return start(ctx, run, args.wait)


def start(ctx: Context, run: Run, wait: bool) -> int:
    """A run is queued: print its id (alone, for scripts); with wait, say what it is, then
    see it through to the end."""
    out(f"run {run.id} of {run.job_name} queued" if wait else str(run.id))
    sys.stdout.flush()
    if actions.status.engine(ctx) is None:
        if not wait:
            sys.stderr.write(
                f"dbt-console: run {run.id} of {run.job_name} is queued, but no engine is "
                "running to start it: start one with 'dbt-console serve', or use --wait to "
                "run it here\n")
            return 0
        here = _engine_here(ctx, run.id)
        if here is not None:
            try:
                _follow_cancellable(ctx, run.id, cancel=here.cancel)
            finally:
                here.finish()
            return outcome(ctx, actions.runs.get(ctx, run.id))
    if not wait:
        return 0
    _follow_cancellable(ctx, run.id)
    return outcome(ctx, actions.runs.get(ctx, run.id))


def _engine_here(ctx: Context, run_id: int):
    """No engine is alive: this process becomes one, for this run only."""
    from dbt_console.engine import one_run
    from dbt_console.engine.launcher import restore_default_sigint

    restore_default_sigint()
    return one_run.start(ctx.paths, run_id)


def _follow_cancellable(ctx: Context, run_id: int, cancel=None) -> None:
    """Stream a run's log to its end; Ctrl-C cancels the run (dbt gets SIGINT and stops
    cleanly) and the stream goes on until the run has ended."""
    while True:
        try:
            follow(ctx, run_id)
            return
        except KeyboardInterrupt:
            sys.stderr.write(f"\ndbt-console: cancelling run {run_id}...\n")
            actions.runs.cancel(ctx, run_id)
            if cancel is not None:
                cancel()


def follow(ctx: Context, run_id: int) -> Run:
    """Stream a run's log until it ends; the run as it ended, or still unfinished when it
    was orphaned (its engine is gone: nothing will write to it until the next one)."""
    feed = actions.logs.Feed(ctx, run_id)
    while True:
        update = feed.poll()
        if update is not None and update.lines:
            out("\n".join(humanize.log_line(ln) for ln in update.lines))
            sys.stdout.flush()
        if feed.ended:
            return feed.run
        time.sleep(FOLLOW_POLL_SECONDS)


def outcome(ctx: Context, run: Run) -> int:
    """The last line of a followed run: its summary, or why it has none; the exit code."""
    if not run.status.finished:
        out(f"run {run.id} of {run.job_name}: {run.status.value}, {actions.runs.ORPHANED}")
        return 1
    return _summary(ctx, run)


def _summary(ctx: Context, run: Run) -> int:
    counts = actions.runs.node_counts(ctx, [run.id])[run.id]
    nodes = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    line = (f"run {run.id} of {run.job_name}: {run.status.value} "
            f"in {humanize.duration(run.duration)}" + (f" ({nodes})" if nodes else ""))
    if run.error:
        line += f": {run.error}"
    out(line)
    failed, _ = actions.review.failed_nodes(ctx, run.id)
    for result in failed[:10]:
        out(f"  {result.status}: {result.unique_id}: {failures.first_line(result)}")
    return 0 if run.status is RunStatus.SUCCESS else 1


def cmd_cancel(args: Namespace, ctx: Context) -> int:
    run = actions.runs.cancel(ctx, args.run_id)
    if run.status is RunStatus.CANCELLED:
        out(f"run {run.id} cancelled; it had not started")
        return 0
    if actions.status.engine(ctx) is None:
        from dbt_console.errors import UserError

        raise UserError(f"run {run.id} is {run.status.value} but no engine is alive to "
                        "stop it; the next engine to start marks it as failed")
    out(f"cancelling run {run.id}...")
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while not run.status.finished and time.monotonic() < deadline:
        time.sleep(0.1)
        run = actions.runs.get(ctx, run.id)
    out(f"run {run.id}: {run.status.value}")
    return 0 if run.status.finished else 1
