"""`ci cleanup`: a run per deleted CI branch that drops its schema, seen through."""

from __future__ import annotations

from argparse import Namespace

from dbt_console import actions
from dbt_console.actions import Context
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
