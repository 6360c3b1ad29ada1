"""`access` and `audit`: who may do what, and what everyone did."""

from __future__ import annotations

import json
from argparse import Namespace
from datetime import datetime

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out
from dbt_console.errors import UserError


def cmd_access(args: Namespace, ctx: Context) -> int:
    team = actions.team
    if args.access_command == "grant":
        made = team.grant(ctx, args.principal, args.role, args.jobs)
        out(f"{made.principal} is {made.role}"
            + (f" on jobs matching {made.jobs!r}" if made.jobs != "*" else ""))
    elif args.access_command == "revoke":
        count = team.revoke(ctx, args.principal, args.jobs)
        out(f"{args.principal}: {count} grant(s) revoked")
    elif args.access_command == "whoami":
        me = team.whoami(ctx)
        out(f"{me.name} ({me.kind}): {me.role or 'no role'}; the store's owner is {me.owner}")
    else:
        grants = team.grants(ctx)
        owner = team.whoami(ctx).owner
        if args.json:
            out(json.dumps({"owner": owner, "grants": [
                {"principal": g.principal, "role": g.role, "jobs": g.jobs} for g in grants]},
                indent=2))
            return 0
        rows = [[owner, "admin", "*", "owns the store"]]
        rows += [[g.principal, g.role, g.jobs, "group" if g.is_group else "user"]
                 for g in grants]
        out(humanize.table(["WHO", "ROLE", "JOBS", ""], rows))
    return 0


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UserError(f"--since {text!r}: give a date or time, e.g. 2026-12-01 or "
                        "2026-12-01T09:00") from None


def cmd_audit(args: Namespace, ctx: Context) -> int:
    rows = actions.team.audit_log(ctx, args.user, args.job, _since(args.since), args.limit)
    if args.json:
        out(json.dumps([{"at": humanize.iso_utc(r.at), "who": r.actor, "kind": r.kind,
                         "via": r.via, "action": r.action, "job": r.job, "target": r.target,
                         "detail": r.detail or None, "outcome": r.outcome}
                        for r in rows], indent=2))
        return 0
    out(humanize.table(["WHEN", "WHO", "VIA", "ACTION", "WHAT", "OUTCOME"],
                       [[humanize.local_time(r.at), r.actor, r.via, r.action, r.target,
                         r.outcome + (f" ({r.detail})" if r.detail else "")] for r in rows]))
    return 0
