"""CI: what a CI run's compare changes found, and dropping the schemas of CI branches
deleted from the remote."""

from __future__ import annotations

from dataclasses import dataclass

from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.ci.compare import ModelDiff
from dbt_console.errors import UserError
from dbt_console.model import Job, Run, Trigger


@dataclass(frozen=True)
class Comparison:
    run: Run
    compared_with: int | None  # the production run whose relations were read
    diffs: tuple[ModelDiff, ...]

    def as_dict(self) -> dict:
        return {"run_id": self.run.id, "job": self.run.job_name,
                "branch": self.run.git_branch, "sha": self.run.git_sha,
                "compared_with_run": self.compared_with,
                "differing": sum(d.differs for d in self.diffs),
                "models": [d.to_dict() for d in self.diffs]}


@action("viewer")
def comparison(ctx: Context, run_id: int) -> Comparison:
    """What a CI run's compare changes found, or why there is nothing to show."""
    run = ctx.store.get_run(run_id)
    found = ctx.store.compare_of(run_id)
    if found is not None:
        return Comparison(run, found[0], tuple(found[1]))
    job = ctx.store.run_job(run_id)
    if job.ci is None or run.trigger.kind != "ci":
        raise UserError(f"run {run_id} is a run of {run.job_name}, not a CI run of a "
                        "branch: only CI runs compare changes with production")
    if not run.status.finished:
        raise UserError(f"run {run_id} is still {run.status.value}: its compare changes "
                        "come once its commands are done")
    raise UserError(f"run {run_id} made no comparison: there was no successful run of "
                    f"{job.ci.defer_to} to compare with, or its commands did not finish "
                    f"(dbt-console logs {run_id} says which)")


@dataclass(frozen=True)
class Cleanup:
    job: Job
    runs: tuple[Run, ...]  # one queued run per schema to drop; empty: nothing to do


@action("editor", changes=True, job=lambda ctx, job_name=None, *a, **k: job_name,
        target=lambda ctx, job_name=None, branch=None:
        f"CI schemas of {job_name or 'every CI job'}" + (f" ({branch})" if branch else ""))
def cleanup(ctx: Context, job_name: str | None = None, branch: str | None = None
            ) -> list[Cleanup]:
    """Queue a run per deleted branch whose schema is still there (or for `branch`)."""
    store = ctx.store
    jobs = [store.get_job(job_name)] if job_name else store.list_jobs()
    jobs = [j for j in jobs if j.ci is not None]
    if not jobs:
        raise UserError(f"job {job_name!r} is not a CI job (it has no ci: field)"
                        if job_name else "there are no CI jobs")
    # Every remote asked before the first change: the unit of work's lock is never held
    # over the network.
    heads_of = {job.name: _heads(job) for job in jobs}
    out = []
    for job in jobs:
        heads = heads_of[job.name]
        known = {b.branch: b for b in store.ci_branches(job.name)}
        gone = [b for b in known if b not in heads]
        store.mark_ci_gone(job.name, gone)
        if branch is not None:
            if branch in heads:
                raise UserError(f"branch {branch!r} still exists on the remote of "
                                f"{job.name!r}; its next CI run would only make the schema "
                                "again: delete the branch first")
            if branch not in known:
                raise UserError(f"job {job.name!r} never ran branch {branch!r}")
            gone = [branch]
        todo = [b for b in gone if known[b].dropped_at is None or b == branch]
        out.append(Cleanup(job, tuple(store.enqueue_run(job, Trigger.ci_cleanup(b),
                                                        ctx.actor.name) for b in todo)))
    return out


def _heads(job: Job) -> set[str]:
    from dbt_console.engine.workspace import WorkspaceError, remote_heads

    try:
        return set(remote_heads(job.git.url))
    except WorkspaceError as exc:
        raise UserError(f"job {job.name!r}: cannot list the remote's branches: "
                        f"{exc}") from None
