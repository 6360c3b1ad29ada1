"""Jobs: create, update, delete, import, export, pause, resume, and reading them back.

The rules that need the store (a chained job's upstream exists, a project_dir is there)
are applied here, once, for the jobs file, the form and the API alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from dbt_console import jobspec
from dbt_console.actions.context import Context
from dbt_console.errors import UserError, ValidationError
from dbt_console.model import Job, Run, RunStatus


def list_all(ctx: Context) -> list[Job]:
    return ctx.store.list_jobs()


def get(ctx: Context, name: str) -> Job:
    return ctx.store.get_job(name)


def find(ctx: Context, name: str) -> Job | None:
    return ctx.store.find_job(name)


def by_id(ctx: Context, job_id: int) -> Job:
    from dbt_console.errors import NotFound

    for job in ctx.store.list_jobs():
        if job.id == job_id:
            return job
    raise NotFound(f"no job with id {job_id}")


@dataclass(frozen=True)
class JobRow:
    """What a jobs list shows of a job: the job, its latest run, its recent statuses, and
    for a CI job its open branches with their latest runs."""

    job: Job
    last: Run | None
    recent: tuple[RunStatus, ...]
    # (branch, its head on the remote as last seen, its latest run)
    branches: tuple[tuple[str, str, Run | None], ...] = ()


def overview(ctx: Context) -> list[JobRow]:
    store = ctx.store
    latest = store.latest_runs()
    history = store.recent_statuses(10)
    rows = []
    for job in store.list_jobs():
        branches: tuple = ()
        if job.ci is not None:
            runs = store.latest_branch_runs(job.name)
            branches = tuple((b.branch, b.sha, runs.get(b.branch))
                             for b in store.ci_branches(job.name) if b.gone_at is None)
        rows.append(JobRow(job, latest.get(job.name), tuple(history.get(job.name, ())),
                           branches))
    return rows


def check_in_store(ctx: Context, jobs: list[Job], where: str = "") -> None:
    """The rules a job must meet that depend on what else exists: its upstream job and
    CI's production job are jobs (or come in the same batch); its project_dir is a dbt
    project on this machine."""
    names = {j.name for j in ctx.store.list_jobs()} | {j.name for j in jobs}
    prefix = f"{where}: " if where else ""
    problems = []
    for job in jobs:
        if job.after is not None and job.after not in names:
            problems.append(f"{prefix}job {job.name!r}: after: no job named {job.after!r}")
        if job.ci is not None and job.ci.defer_to not in names:
            problems.append(f"{prefix}job {job.name!r}: ci.defer_to: no job named "
                            f"{job.ci.defer_to!r}")
        if job.project_dir is not None:
            if not os.path.isdir(job.project_dir):
                problems.append(f"{prefix}job {job.name!r}: project_dir: {job.project_dir} "
                                "does not exist")
            elif not os.path.isfile(os.path.join(job.project_dir, "dbt_project.yml")):
                problems.append(f"{prefix}job {job.name!r}: project_dir: no dbt_project.yml "
                                f"in {job.project_dir}")
    if problems:
        raise ValidationError(problems)


def create(ctx: Context, job: Job) -> Job:
    check_in_store(ctx, [job])
    return ctx.store.create_job(job)


def update(ctx: Context, job: Job, previous: Job) -> Job:
    """Save an edited job, refusing when someone else saved it since `previous` was read."""
    check_in_store(ctx, [job])
    return ctx.store.update_job(job, previous.name, previous.version)


def delete(ctx: Context, name: str) -> None:
    ctx.store.delete_job(name)


def set_enabled(ctx: Context, name: str, enabled: bool, seen: Job | None = None) -> Job:
    """Pause or resume. With `seen` (the job as the user saw it), a job deleted, renamed
    or changed since is refused instead of acting on whatever now has the name."""
    job = ctx.store.get_job(name) if seen is None else _still(ctx, seen)
    return ctx.store.update_job(replace(job, enabled=enabled), job.name, job.version)


def _still(ctx: Context, seen: Job) -> Job:
    from dbt_console.errors import ConflictError

    job = ctx.store.find_job(seen.name)
    if job is None or job.id != seen.id:
        raise ConflictError(f"job {seen.name!r} is gone: someone deleted or renamed it")
    return job


@dataclass(frozen=True)
class Imported:
    created: tuple[str, ...]
    updated: tuple[str, ...]


def import_file(ctx: Context, path: Path) -> Imported:
    """Create or update the jobs of a jobs file, all or none. Jobs not in the file stay."""
    jobs = jobspec.load_jobs_file(path)
    check_in_store(ctx, jobs, str(path))
    existing = {j.name for j in ctx.store.list_jobs()}
    ctx.store.save_jobs(jobs)
    return Imported(tuple(j.name for j in jobs if j.name not in existing),
                    tuple(j.name for j in jobs if j.name in existing))


def export(ctx: Context, include_secrets: bool = False,
           names: list[str] | None = None) -> str:
    jobs = ctx.store.list_jobs() if names is None else [ctx.store.get_job(n) for n in names]
    return jobspec.dump_jobs(jobs, include_secrets=include_secrets)


def check_remote(url: str, branch: str) -> str | None:
    """The problem reaching a git remote's branch, or None. Network: call it off the UI."""
    from dbt_console.engine.workspace import check_remote as check

    return check(url, branch)


def next_fire(job: Job, after: float | None = None) -> float | None:
    """When the job's schedule fires next (after `after`), or None: no schedule, paused."""
    if not job.enabled or job.schedule is None:
        return None
    from dbt_console.engine.scheduler import next_fire as fire

    return fire(job.schedule, after)


def refuse_if_missing(ctx: Context, name: str) -> None:
    if ctx.store.find_job(name) is None and not ctx.store.list_runs(name, limit=1):
        raise UserError(f"no job named {name!r} and no runs of one")
