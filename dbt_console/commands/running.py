"""`run`, `retry`, `cancel`: queueing a run, and seeing it through here when asked
to wait (running it in this process when no engine is alive)."""

from __future__ import annotations

import sys
import threading
import time
from argparse import Namespace

from dbt_console import ci, humanize
from dbt_console.commands import out
from dbt_console.config import Paths, current_user
from dbt_console.errors import UserError
from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.store import Store
from dbt_console.store.tail import RunTail

# A poll that finds nothing new is one PRAGMA: cheap enough to do 50 times a second.
FOLLOW_POLL_SECONDS = 0.02


def cmd_run(args: Namespace, paths: Paths) -> int:
    with Store(paths.store) as store:
        job = store.get_job(args.job)
        branch, sha, trigger = args.branch, args.sha, Trigger.MANUAL
        if (branch or sha) and job.git is None:
            raise UserError(f"job {job.name!r} runs a local project_dir; --branch and --sha "
                            "are for git jobs")
        if job.ci is not None:
            if not branch:
                raise UserError(f"job {job.name!r} is a CI job: name the branch to test with "
                                f"--branch (it watches {', '.join(job.ci.branches)})")
            sha = sha or _branch_head(job, branch)
            trigger = ci.trigger(branch, sha)
        run = store.enqueue_run(job, trigger, current_user(), branch, sha)
        return start(paths, store, run, args.wait)


def _branch_head(job, branch: str) -> str:
    from dbt_console.engine.workspace import WorkspaceError, remote_head

    try:
        return remote_head(job.git.url, branch)
    except WorkspaceError as exc:
        raise UserError(f"job {job.name!r}: --branch {branch}: {exc}") from None


def start(paths: Paths, store: Store, run: Run, wait: bool) -> int:
    """A run is queued: print its id; with wait, see it through to the end."""
    from dbt_console.engine.lease import EngineBusy, LeaseKeeper, live_holder

    out(str(run.id))
    sys.stdout.flush()
    if live_holder(store) is None:
        if not wait:
            sys.stderr.write(
                f"dbt-console: run {run.id} of {run.job_name} is queued, but no engine is "
                "running to start it: start one with 'dbt-console serve', or use --wait to "
                "run it here\n")
            return 0
        keeper = LeaseKeeper("run --wait")
        try:
            keeper.acquire(store)
        except EngineBusy:
            pass  # an engine started just now: it will run it
        else:
            try:
                return _run_here(paths, store, run, keeper)
            finally:
                keeper.release(store)
    if not wait:
        return 0
    _follow_cancellable(store, run.id)
    return _summary(store, store.get_run(run.id))


def _run_here(paths: Paths, store: Store, run: Run, keeper) -> int:
    """No engine is alive: this process holds the lease and runs the run itself."""
    from dbt_console.engine.executor import Executor
    from dbt_console.engine.launcher import restore_default_sigint
    from dbt_console.engine.lease import recover

    restore_default_sigint()
    recover(store, keeper)
    warm = _warm_for(paths, store.run_job(run.id))
    executor = Executor(paths, warm)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            executor.execute(run.id)
        except BaseException as exc:  # re-raised on the main thread below
            failure.append(exc)

    thread = threading.Thread(target=work, name=f"run-{run.id}", daemon=True)
    thread.start()
    try:
        _follow_cancellable(store, run.id, on_poll=lambda: keeper.beat_if_due(store),
                            cancel=lambda: executor.cancel(run.id))
        thread.join()
    finally:
        if warm is not None:
            warm.close()
    if failure:
        raise failure[0]
    # No engine will come by to send this run's notifications now: try them here once;
    # whatever fails stays queued, with its retries, for the next engine.
    from dbt_console.engine.notify.notifier import send_due

    send_due(store, run.id)
    return _summary(store, store.get_run(run.id))


def _warm_for(paths: Paths, job):
    """A launcher for a run with no engine around: a helper that only imports dbt starts
    beside the first step and is ready for the second (the first runs cold). One-step
    jobs gain nothing from it and get none."""
    from dbt_console.config import load_settings
    from dbt_console.engine.executor import SetupError, find_dbt
    from dbt_console.engine.warm.launcher import WarmLauncher

    if len(job.commands) < 2 or not job.warm or not load_settings(paths).warm_starts:
        return None
    try:
        dbt = find_dbt(job)
    except SetupError:
        return None  # the run says so
    launcher = WarmLauncher(paths.helper_log, imports_only=True)
    launcher.prewarm([dbt])
    return launcher


def _follow_cancellable(store: Store, run_id: int, on_poll=None, cancel=None) -> None:
    """Stream a run's log to its end; Ctrl-C cancels the run (dbt gets SIGINT and stops
    cleanly) and the stream goes on until the run has ended."""
    while True:
        try:
            follow(store, run_id, on_poll)
            return
        except KeyboardInterrupt:
            sys.stderr.write(f"\ndbt-console: cancelling run {run_id}...\n")
            store.request_cancel(run_id)
            if cancel is not None:
                cancel()


def follow(store: Store, run_id: int, on_poll=None) -> Run:
    tail = RunTail(store, run_id)
    while True:
        lines = tail.poll()
        if lines:
            sys.stdout.write("".join(humanize.log_line(ln) + "\n" for ln in lines))
            sys.stdout.flush()
        if tail.finished:
            return tail.run
        if on_poll is not None:
            on_poll()
        time.sleep(FOLLOW_POLL_SECONDS)


def _summary(store: Store, run: Run) -> int:
    counts = store.node_counts([run.id])[run.id]
    nodes = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    line = (f"run {run.id} of {run.job_name}: {run.status.value} "
            f"in {humanize.duration(run.duration)}" + (f" ({nodes})" if nodes else ""))
    if run.error:
        line += f": {run.error}"
    out(line)
    failed = [r for r in store.node_results(run.id) if r.status in ("error", "fail")]
    for result in failed[:10]:
        first_line = (result.message or "").strip().splitlines()[:1]
        out(f"  {result.status}: {result.unique_id}: {''.join(first_line)}")
    return 0 if run.status is RunStatus.SUCCESS else 1


def cmd_retry(args: Namespace, paths: Paths) -> int:
    from dbt_console.retries import retry

    with Store(paths.store) as store:
        run, note = retry(store, args.run_id, current_user())
        sys.stderr.write(f"dbt-console: {note}\n")
        return start(paths, store, run, args.wait)


def cmd_cancel(args: Namespace, paths: Paths) -> int:
    from dbt_console.engine.lease import live_holder

    with Store(paths.store) as store:
        run = store.get_run(args.run_id)
        if run.status.finished:
            raise UserError(f"run {run.id} already finished: {run.status.value}")
        run = store.request_cancel(run.id)
        if run.status is RunStatus.CANCELLED:
            out(f"run {run.id} cancelled; it had not started")
            return 0
        if live_holder(store) is None:
            raise UserError(f"run {run.id} is {run.status.value} but no engine is alive to "
                            "stop it; the next engine to start marks it as failed")
        out(f"cancelling run {run.id}...")
        deadline = time.monotonic() + 30
        while not run.status.finished and time.monotonic() < deadline:
            time.sleep(0.1)
            run = store.get_run(run.id)
        out(f"run {run.id}: {run.status.value}")
        return 0 if run.status.finished else 1
