"""`hooks test` and `deliveries`: notifications from the command line."""

from __future__ import annotations

import json
from argparse import Namespace

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out


def cmd_hooks(args: Namespace, ctx: Context) -> int:
    results = actions.notify.test_hooks(ctx, args.job)
    for r in results:
        out(r.summary())
    return 1 if any(not r.delivered for r in results) else 0


def cmd_deliveries(args: Namespace, ctx: Context) -> int:
    rows = actions.notify.deliveries(ctx, run_id=args.run, failed_only=args.failed)
    if args.json:
        out(json.dumps([{
            "id": d.id, "run_id": d.run_id, "job": d.job_name,
            "hook": {"type": d.hook_type, "target": d.target}, "event": d.event,
            "status": d.status, "attempts": d.attempts,
            "last_status_code": d.last_status_code, "last_error": d.last_error,
            "next_attempt_at": humanize.iso_utc(d.next_attempt_at)
            if d.status == "pending" else None,
        } for d in rows], indent=2))
        return 0
    out(humanize.table(
        ["ID", "RUN", "JOB", "HOOK", "EVENT", "STATUS", "TRIES", "LAST"],
        [[str(d.id), str(d.run_id), d.job_name, f"{d.hook_type} {d.target}", d.event,
          d.status, str(d.attempts), d.last_error or (str(d.last_status_code or ""))]
         for d in rows]))
    return 0
