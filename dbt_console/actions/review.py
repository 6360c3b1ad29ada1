"""Failure review: what failed in a run, with its message and SQL, and what changed in
the code since the last green run. The dashboard's run screen, `dbt-console review` and
the API read the same answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dbt_console import failures
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.engine.workspace import Commit
from dbt_console.model import NodeResult, Run, RunStatus


@dataclass(frozen=True)
class FailedNode:
    result: NodeResult
    sql: str | None  # the compiled SQL dbt ran, when it got that far


@dataclass(frozen=True)
class Changes:
    """The commits since the last green run, or why there are none to show."""

    green: Run | None
    commits: tuple[Commit, ...] = ()  # newest first
    note: str = ""


@dataclass(frozen=True)
class Review:
    run: Run
    failed: tuple[FailedNode, ...]
    skipped: int
    changes: Changes | None  # None: not asked for, or not a failed git run


@action("viewer")
def failed_nodes(ctx: Context, run_id: int) -> tuple[list[NodeResult], int]:
    """The nodes that failed (last step's status of each), and how many were skipped.
    No file is read: a runs list asks this for every failed run on its page."""
    summary = failures.summarize(ctx.store.node_results(run_id))
    return list(summary.failed), summary.skipped


def read_sql(result: NodeResult, limit: int = 200_000) -> str | None:
    if not result.compiled_path:
        return None
    try:
        return Path(result.compiled_path).read_text(encoding="utf-8", errors="replace")[:limit]
    except OSError:
        return None


@action("viewer")
def changes(ctx: Context, run: Run) -> Changes | None:
    """For a failed run of a git project: the commits since the job's last green run (for
    a CI branch: its own, else production's it builds on). Runs git: call it off the UI."""
    from dbt_console.engine.workspace import WorkspaceError, commits_between

    if run.status is not RunStatus.ERROR or not run.git_sha:
        return None
    store = ctx.store
    job = store.run_job(run.id)
    if job.ci is None:
        green = store.last_success_before(run.job_name, run.id)
    else:
        green = (store.last_success_before(run.job_name, run.id, run.git_branch)
                 or store.last_success_before(job.ci.defer_to, run.id))
    if green is None or not green.git_sha:
        return Changes(None, note="no earlier green run of this job to compare with")
    if green.git_sha == run.git_sha:
        return Changes(green, note=f"same commit as the last green run #{green.id}: the code "
                                   "did not change (data or environment did)")
    try:
        commits = commits_between(job, ctx.paths.workspaces, green.git_sha, run.git_sha)
    except WorkspaceError as exc:
        return Changes(green, note=str(exc))
    return Changes(green, tuple(commits))


@action("viewer")
def review(ctx: Context, run_id: int, with_changes: bool = True) -> Review:
    run = ctx.store.get_run(run_id)
    failed, skipped = failed_nodes(ctx, run_id)
    return Review(run, tuple(FailedNode(r, read_sql(r)) for r in failed), skipped,
                  changes(ctx, run) if with_changes else None)


def as_dict(review: Review) -> dict:
    """The review as JSON-ready data (the run itself left to the caller's shape)."""
    changes = review.changes
    return {
        "failed": [{"unique_id": n.result.unique_id, "status": n.result.status,
                    "message": n.result.message, "compiled_sql": n.sql} for n in review.failed],
        "skipped": review.skipped,
        "changes": None if changes is None else {
            "last_green_run": changes.green.id if changes.green else None,
            "commits": [{"sha": c.sha, "author": c.author, "subject": c.subject}
                        for c in changes.commits],
            "note": changes.note or None},
    }
