"""`tokens`: the HTTP API's tokens, shown once and kept as hashes."""

from __future__ import annotations

import sys
from argparse import Namespace

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out


def cmd_tokens(args: Namespace, ctx: Context) -> int:
    if args.tokens_command == "create":
        out(actions.tokens.create(ctx, args.name, args.role))
        sys.stderr.write(f"dbt-console: token {args.name!r} ({args.role}) created; it is "
                         "shown this once and only its hash is kept\n")
    elif args.tokens_command == "revoke":
        actions.tokens.revoke(ctx, args.name)
        out(f"token {args.name!r} revoked")
    else:
        rows = [[t.name, t.role, humanize.local_time(t.created_at), t.created_by,
                 humanize.local_time(t.revoked_at) if t.revoked_at else "live"]
                for t in actions.tokens.list_all(ctx)]
        out(humanize.table(["NAME", "ROLE", "CREATED", "BY", "STATE"], rows))
    return 0
