"""Docs: which run's dbt docs to serve."""

from __future__ import annotations

from pathlib import Path

from dbt_console import rundir
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.errors import NotFound, UserError
from dbt_console.model import Run

# How many of a job's newest runs are looked through for the latest docs.
SEARCH_RUNS = 500


@action("viewer")
def find(ctx: Context, job_name: str, run_id: int | None = None) -> tuple[Run, Path]:
    """The run whose docs to serve (the given one, else the job's newest with docs) and
    the directory they are in. A UserError says how to get docs when there are none."""
    store = ctx.store
    job = store.get_job(job_name)
    if run_id is not None:
        run = store.get_run(run_id)
        if run.job_name != job.name:
            raise UserError(f"run {run_id} is a run of {run.job_name}, not of {job.name}")
        if not rundir.has_docs(run.run_dir):
            raise NotFound(f"run {run_id} of {job.name} has no docs" + (
                "" if job.generate_docs else f": set generate_docs: true on {job.name}"))
        return run, rundir.docs(run.run_dir)
    for run in store.list_runs(job.name, limit=SEARCH_RUNS):
        if rundir.has_docs(run.run_dir):
            return run, rundir.docs(run.run_dir)
    if not job.generate_docs:
        raise NotFound(f"{job.name} has no docs: set generate_docs: true on the job (its "
                       "runs then end with dbt docs generate), then run it")
    raise NotFound(f"{job.name} has no run with docs yet: run it (dbt-console run "
                   f"{job.name} --wait)")


@action("viewer")
def for_run(ctx: Context, run_id: int) -> tuple[Run, Path]:
    """This run's docs, else its job's latest."""
    run = ctx.store.get_run(run_id)
    if rundir.has_docs(run.run_dir):
        return run, rundir.docs(run.run_dir)
    return find(ctx, run.job_name)
