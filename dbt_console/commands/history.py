"""`runs` and `logs`: past and current runs, and their logs."""

from __future__ import annotations

import json
import sys
from argparse import Namespace

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out
from dbt_console.commands.running import follow, outcome
from dbt_console.model import Run


def cmd_runs(args: Namespace, ctx: Context) -> int:
    if args.job is not None:
        actions.jobs.refuse_if_missing(ctx, args.job)
    runs = actions.runs.history(ctx, args.job, limit=args.limit, status=args.status,
                                trigger=args.trigger, text=args.search, branch=args.branch)
    counts = actions.runs.node_counts(ctx, [r.id for r in runs])
    orphans = actions.runs.orphans(ctx)
    if args.json:
        out(json.dumps([run_json(r, counts[r.id], r.id in orphans) for r in runs], indent=2))
        return 0
    rows = [[str(r.id), r.job_name, "orphaned" if r.id in orphans else r.status.value,
             r.trigger.short(),
             humanize.local_time(r.started_at or r.queued_at),
             humanize.duration(r.duration), r.git_branch or "", (r.git_sha or "")[:12]]
            for r in runs]
    out(humanize.table(["ID", "JOB", "STATUS", "TRIGGER", "STARTED", "DURATION", "BRANCH",
                        "GIT SHA"], rows))
    return 0


def run_json(run: Run, nodes: dict[str, int], orphaned: bool = False) -> dict:
    return {
        "id": run.id, "job": run.job_name, "status": run.status.value,
        "orphaned": orphaned,  # marked running, but no engine runs it (see ORPHANED)
        "trigger": str(run.trigger), "actor": run.actor,
        "git_sha": run.git_sha, "git_branch": run.git_branch,
        "queued_at": humanize.iso_utc(run.queued_at),
        "started_at": humanize.iso_utc(run.started_at),
        "finished_at": humanize.iso_utc(run.finished_at),
        "duration": None if run.duration is None else round(run.duration, 3),
        "error": run.error, "nodes": nodes,
    }


def cmd_logs(args: Namespace, ctx: Context) -> int:
    run = actions.runs.get(ctx, args.run_id)
    if args.follow:
        if not run.status.finished and actions.status.engine(ctx) is None:
            sys.stderr.write(f"dbt-console: run {run.id} is {run.status.value} and no "
                             "engine is running; following until one runs it\n")
        return outcome(ctx, follow(ctx, args.run_id))
    batch: list[str] = []
    for line in actions.logs.lines(ctx, args.run_id):
        batch.append(humanize.log_line(line))
        if len(batch) >= 5000:
            out("\n".join(batch))
            batch.clear()
    if batch:
        out("\n".join(batch))
    return 0


def cmd_review(args: Namespace, ctx: Context) -> int:
    review = actions.review.review(ctx, args.run_id)
    if args.json:
        out(json.dumps({"run": run_json(review.run, {}), **actions.review.as_dict(review)},
                       indent=2))
        return 0
    run = review.run
    out(f"run {run.id} of {run.job_name}: {run.status.value}"
        + (f": {run.error}" if run.error else ""))
    for node in review.failed:
        r = node.result
        out(f"\n{r.status}: {r.unique_id}")
        out(_indent((r.message or "").strip()))
        if node.sql:
            out(f"  compiled SQL ({r.compiled_path}):")
            out(_indent(node.sql.strip()))
    if review.skipped:
        out(f"\n{review.skipped} node(s) skipped because of these")
    changes = review.changes
    if changes is not None:
        out("")
        if changes.commits:
            out(f"changed since the last green run #{changes.green.id} "
                f"({changes.green.git_sha[:10]}): {len(changes.commits)} commit(s)")
            for c in changes.commits:
                out(f"  {c.sha[:10]} {c.author}: {c.subject}")
        else:
            out(changes.note)
    return 0


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
