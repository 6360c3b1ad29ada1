"""`ci cleanup`: a run per deleted CI branch that drops its schema, seen through; and
`compare`: what a CI run's compare changes found."""

from __future__ import annotations

import json
from argparse import Namespace

from dbt_console import actions
from dbt_console.actions import Context
from dbt_console.ci.compare import cells
from dbt_console.commands import out
from dbt_console.commands.running import start


def cmd_ci(args: Namespace, ctx: Context) -> int:
    worst = 0
    for cleanup in actions.ci.cleanup(ctx, args.job, args.branch):
        if not cleanup.runs:
            out(f"{cleanup.job.name}: nothing to clean up (no deleted branch with a schema "
                "left)")
        for run in cleanup.runs:
            worst = max(worst, start(ctx, run, wait=True))
    return worst


def cmd_compare(args: Namespace, ctx: Context) -> int:
    found = actions.ci.comparison(ctx, args.run_id)
    if args.json:
        out(json.dumps(found.as_dict(), indent=2))
        return 0
    run = found.run
    out(f"run {run.id} of {run.job_name}, branch {run.git_branch} at "
        f"{(run.git_sha or '')[:12]}, against production run {found.compared_with}")
    if not found.diffs:
        out("no model the branch modified was built")
        return 0
    table = [("model", "rows (production → branch)", "columns", "rows by key")]
    table += [(d.name, *cells(d)) for d in found.diffs]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells_ = [cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)]
        out("  ".join([*cells_, row[3]]))
    differing = sum(d.differs for d in found.diffs)
    out(f"{differing} of {len(found.diffs)} modified models differ from production")
    return 0
