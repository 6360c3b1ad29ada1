"""Retrying a failed run from where it failed: the one way the CLI, the dashboard and the
API ask for it."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

from dbt_console.errors import UserError
from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.store import Store


def retry(store: Store, run_id: int, actor: str) -> tuple[Run, str]:
    """Queue a run that retries run_id; returns it and a line saying what it will do."""
    failed = store.get_run(run_id)
    if not failed.status.finished:
        raise UserError(f"run {failed.id} is still {failed.status.value}; "
                        "only a finished run can be retried")
    if failed.status is RunStatus.SUCCESS:
        raise UserError(f"run {failed.id} succeeded; there is nothing to retry")
    job = store.run_job(failed.id)
    commands, note = retry_commands(store, failed, job.commands)
    # The same commit: what failed is retried against the code that failed.
    same = (failed.git_branch, failed.git_sha) if job.git is not None else (None, None)
    run = store.enqueue_run(replace(job, commands=commands), f"{Trigger.RETRY}:{failed.id}",
                            actor, *same)
    return run, note


def retry_commands(store: Store, failed: Run, commands: tuple[str, ...]
                   ) -> tuple[tuple[str, ...], str]:
    """`dbt retry` against the failed step's results, then the steps that never ran.
    A run that failed before dbt wrote results (git, deps, a missing dbt) runs again
    from the start."""
    steps = [s for s in store.list_steps(failed.id) if s.command != "dbt deps"]
    state = Path(failed.run_dir or "") / "target"
    if not steps or not (state / "run_results.json").is_file():
        return commands, f"run {failed.id} has no dbt results to retry from: running it again"
    failed_at = len(steps) - 1  # a run stops at its first failed step
    rest = commands[failed_at + 1:]
    return ((f"dbt retry --state {shlex.quote(str(state))}", *rest),
            f"retrying what failed in '{steps[-1].command}' of run {failed.id}"
            + (f", then {len(rest)} step(s) that did not run" if rest else ""))
