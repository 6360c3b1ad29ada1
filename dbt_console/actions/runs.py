"""Runs: run now, retry, rerun, cancel, and reading runs back.

Every front end asks for a run through run_now, so a run of one CI branch is the same
run (trigger, actor, environment, merging with one already waiting) whoever asks.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from dbt_console import narrowing, rundir, runplan
from dbt_console.access import Forbidden, allows
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.errors import UserError
from dbt_console.jobrules import check_branch
from dbt_console.model import (
    DOCS_COMMAND,
    FIRST_COMMAND_STEP,
    Job,
    Overrides,
    Run,
    RunStatus,
    Step,
    Trigger,
)

FAILED = (RunStatus.ERROR, RunStatus.CANCELLED)


def _job_of_run(ctx: Context, run_id: int, *args, **kwargs) -> str:
    return ctx.store.get_run(run_id).job_name


@action("runner", changes=True, job=lambda ctx, job_name, *a, **k: job_name,
        target=lambda ctx, job_name, branch=None, *a, **k:
        job_name + (f" on {branch}" if branch else ""),
        detail=lambda ctx, job_name, branch=None, sha=None, overrides=None, *a, **k:
        f"overrides: {json.dumps(overrides.echo())}" if overrides is not None else "")
def run_now(ctx: Context, job_name: str, branch: str | None = None, sha: str | None = None,
            overrides: Overrides | None = None, cause: str | None = None) -> Run:
    """Queue a run of a job now. A CI job needs a branch; its sha is the branch's head on
    the remote unless given. A run of a branch already waiting becomes this one."""
    return _queue(ctx, job_name, branch, sha, overrides, cause)


def _queue(ctx: Context, job_name: str, branch: str | None, sha: str | None,
           overrides: Overrides | None, cause: str | None) -> Run:
    job = ctx.store.get_job(job_name)
    if branch is not None and check_branch(branch):
        raise UserError(f"branch: {check_branch(branch)}")
    if (branch or sha) and job.git is None:
        raise UserError(f"job {job.name!r} runs a local project_dir; a branch or sha is "
                        "for git jobs")
    if overrides is not None:
        _check_narrowing(ctx, job, overrides)
        job = overrides.apply(job)
    if job.ci is not None:
        if not branch:
            raise UserError(f"job {job.name!r} is a CI job: name the branch to test with "
                            f"--branch (git_branch in the API; it watches "
                            f"{', '.join(job.ci.branches)})")
        sha = sha or _branch_head(job, branch)
        trigger = Trigger.ci(branch, sha)
    else:
        trigger = Trigger.api() if ctx.actor.is_token else Trigger.manual()
    return ctx.store.enqueue_run(job, trigger, ctx.actor.name, branch, sha, cause=cause,
                                 overrides=overrides.echo() if overrides else None)


def _check_narrowing(ctx: Context, job: Job, overrides: Overrides) -> None:
    """A runner's overrides may narrow the job and nothing else (narrowing.py); the
    audit row records what was asked, allowed or not (run_now's detail)."""
    role = ctx.role(job.name)
    if allows(role, "editor"):
        return
    found = narrowing.problems(overrides, job)
    if found:
        raise Forbidden("; ".join(found) + f"; beyond narrowing the job takes the editor "
                        f"role, {ctx.actor.name} is {role}")


def _branch_head(job: Job, branch: str) -> str:
    from dbt_console.engine.workspace import WorkspaceError, remote_head

    try:
        return remote_head(job.git.url, branch)
    except WorkspaceError as exc:
        raise UserError(f"job {job.name!r}: branch {branch}: {exc}") from None


@action("runner", changes=True, job=_job_of_run, target=lambda ctx, run_id: f"run {run_id}")
def retry(ctx: Context, run_id: int) -> tuple[Run, str]:
    """Queue a run that retries run_id from where it failed; returns it and a line saying
    what it will do."""
    return _retry(ctx, run_id)


def _retry(ctx: Context, run_id: int) -> tuple[Run, str]:
    store = ctx.store
    failed = store.get_run(run_id)
    if not failed.status.finished:
        raise UserError(f"run {failed.id} is still {failed.status.value}; "
                        "only a finished run can be retried")
    if failed.status is RunStatus.SUCCESS:
        raise UserError(f"run {failed.id} succeeded; there is nothing to retry")
    job = store.run_job(failed.id)
    commands, note = _retry_commands(store.list_steps(failed.id), failed, job.commands)
    # The same commit: what failed is retried against the code that failed.
    same = (failed.git_branch, failed.git_sha) if job.git is not None else (None, None)
    run = store.enqueue_run(replace(job, commands=commands), Trigger.retry(failed.id),
                            ctx.actor.name, *same)
    return run, note


def _retry_commands(steps: list[Step], failed: Run, commands: tuple[str, ...]
                    ) -> tuple[tuple[str, ...], str]:
    """The retry's commands (runplan.retry_commands), and a line saying what it does."""
    ran = [s.command for s in steps if s.idx >= FIRST_COMMAND_STEP]
    state = rundir.target(Path(failed.run_dir or ""))
    retrying = runplan.retry_commands(
        ran, state if (state / "run_results.json").is_file() else None, commands)
    if retrying is None:
        return commands, f"run {failed.id} has no dbt results to retry from: running it again"
    rest = len(retrying) - 1
    return retrying, (f"retrying what failed in '{ran[-1]}' of run {failed.id}"
                      + (f", then {rest} step(s) that did not run" if rest else ""))


@action("runner", changes=True, job=lambda ctx, job_name: job_name)
def rerun(ctx: Context, job_name: str) -> tuple[Run, str]:
    """dbt Cloud's rerun: retry the job's latest run when it failed, else run it anew."""
    job = ctx.store.get_job(job_name)
    last = ctx.store.list_runs(job.name, limit=1)
    if last and last[0].status in FAILED:
        return _retry(ctx, last[0].id)
    if job.ci is not None and last and last[0].git_branch:
        run = _queue(ctx, job.name, last[0].git_branch, None, None, None)
    else:
        run = _queue(ctx, job.name, None, None, None, "Rerun: no failed run to retry")
    return run, f"the latest run of {job.name} did not fail: a new run"


@action("runner", changes=True, job=_job_of_run, target=lambda ctx, run_id: f"run {run_id}")
def cancel(ctx: Context, run_id: int) -> Run:
    """A queued run is cancelled at once; a run in flight is asked to stop, and the engine
    running it sees the request within a second."""
    run = ctx.store.get_run(run_id)
    if run.status.finished:
        raise UserError(f"run {run.id} already finished: {run.status.value}")
    from dbt_console.engine import outbox

    with ctx.store.atomic():  # a queued run ends here: its hooks and chained runs with it
        cancelled = ctx.store.request_cancel(run.id, f"{ctx.actor.name} (from the "
                                                     f"{ctx.actor.via})")
        if cancelled.status.finished:
            outbox.set_off(ctx.store, cancelled)
    ctx.store.record_event("cancel", run.job_name, f"{ctx.actor.name} cancelled run {run.id} "
                           f"(from the {ctx.actor.via})")
    return cancelled


@action("viewer")
def get(ctx: Context, run_id: int) -> Run:
    return ctx.store.get_run(run_id)


@action("viewer")
def latest(ctx: Context, job_name: str, branch: str | None = None) -> Run | None:
    runs = ctx.store.list_runs(job_name, limit=1, branch=branch)
    return runs[0] if runs else None


@action("viewer")
def history(ctx: Context, job_name: str | None = None, limit: int = 50,
            before_id: int | None = None, status: str | None = None,
            trigger: str | None = None, text: str | None = None,
            branch: str | None = None) -> list[Run]:
    """Newest first, a page at a time (before_id: the last id seen)."""
    if limit < 1:
        raise UserError(f"limit must be at least 1, got {limit}")
    return ctx.store.list_runs(job_name, limit=limit, before_id=before_id, status=status,
                               trigger=trigger, text=text, branch=branch)


@action("viewer")
def query(ctx: Context, job_id: int | None, statuses: list[str], order_by: str,
          descending: bool, limit: int, offset: int,
          finished_between: tuple[float, float] | None,
          job_ids: set[int] | None = None) -> tuple[list[Run], int]:
    """A page of runs and how many match: the API's runs list (job_ids: only the runs of
    these jobs, e.g. those of one project)."""
    return ctx.store.query_runs(job_id, statuses, order_by, descending, limit, offset,
                                finished_between, job_ids)


@action("viewer")
def last_success(ctx: Context, job_name: str) -> Run | None:
    return ctx.store.last_success_before(job_name)


# How a runs list may be ordered (the API's order_by).
ORDERS = ("id", "created_at", "finished_at")


@action("viewer")
def steps(ctx: Context, run_id: int) -> list[Step]:
    """The run's steps, and after them every command it has not started: waiting while
    the run goes on, skipped once it ended (dbt Cloud lists them so, and Prefect reruns a
    skipped command when it retries a run)."""
    recorded = ctx.store.list_steps(run_id)
    run, job = ctx.store.get_run(run_id), ctx.store.run_job(run_id)
    planned = [*job.commands, *([DOCS_COMMAND] if job.generate_docs else [])]
    started = {s.idx for s in recorded}
    ended = run.status.finished
    return recorded + [
        Step(run_id, idx, command, RunStatus.CANCELLED if ended else RunStatus.QUEUED,
             skipped=ended)
        for idx, command in enumerate(planned, start=FIRST_COMMAND_STEP)
        if idx not in started and idx > max(started, default=0)]


@action("viewer")
def node_results(ctx: Context, run_id: int):
    return ctx.store.node_results(run_id)


@action("viewer")
def node_counts(ctx: Context, run_ids: list[int]) -> dict[int, dict[str, int]]:
    return ctx.store.node_counts(run_ids)


@action("viewer")
def in_flight(ctx: Context) -> list[Run]:
    return ctx.store.runs_in_flight()


@action("viewer")
def queued(ctx: Context) -> list[int]:
    """Runs waiting for the engine, in queue order."""
    return [run_id for run_id, _ in ctx.store.queued_runs()]


@action("viewer")
def orphans(ctx: Context) -> set[int]:
    """Runs marked starting or running that no engine is running: theirs died (or froze
    past its lease), and the next engine to start marks them error."""
    from dbt_console.engine.lease import live_holder

    if live_holder(ctx.store) is not None:
        return set()
    return {run.id for run in ctx.store.runs_in_flight()}


# How an orphaned run is described wherever it is shown.
ORPHANED = "orphaned: the engine running it stopped; the next engine to start marks it error"


@action("viewer")
def cause(ctx: Context, run_id: int) -> str | None:
    return ctx.store.run_cause(run_id)


@action("viewer")
def overrides(ctx: Context, run_id: int) -> dict:
    """What the caller changed of the job for this run, in the API's *_override words."""
    return ctx.store.run_overrides(run_id)
