"""`store schema` and `store migrate`: the store's schema as this dbt-console makes it,
and bringing an older store up to it."""

from __future__ import annotations

import sys
from argparse import Namespace

from dbt_console import actions
from dbt_console.actions import Context
from dbt_console.commands import out


def cmd_store(args: Namespace, ctx: Context) -> int:
    if args.store_command == "schema":
        sys.stdout.write(actions.schema.current())
        return 0
    done = actions.schema.migrate(ctx.paths, ctx.actor.name)
    if done.before == done.after:
        out(f"the store is at schema {done.after}: nothing to migrate")
    else:
        out(f"migrated the store from schema {done.before} to {done.after}")
    return 0
