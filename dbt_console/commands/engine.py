"""`engine start` and `engine stop`: the background engine, and stopping whichever engine
holds the store."""

from __future__ import annotations

import time
from argparse import Namespace

from dbt_console import actions
from dbt_console.actions import Context
from dbt_console.commands import out
from dbt_console.engine.lease import describe
from dbt_console.errors import UserError


def cmd_engine(args: Namespace, ctx: Context) -> int:
    if args.engine_command == "start":
        started = actions.engine.start_background(ctx)
        if started.holder is not None:
            out(f"already running: {describe(started.holder)}")
            return 0
        holder = actions.engine.wait_for_engine(ctx)
        out(f"started: {describe(holder)}; it stops when idle for "
            f"{_idle_minutes(ctx)} min, or with: dbt-console engine stop")
        return 0
    holder = actions.engine.stop(ctx)
    out(f"asked {describe(holder)} to stop; runs in flight get its stop grace")
    if args.no_wait:
        return 0
    from dbt_console.config import load_settings

    deadline = time.monotonic() + load_settings(ctx.paths).stop_grace_seconds + 60
    while not actions.engine.stopped(ctx, holder):
        if time.monotonic() > deadline:
            raise UserError(f"pid {holder.pid} still holds the store; see dbt-console status")
        time.sleep(0.2)
    out("engine stopped")
    return 0


def _idle_minutes(ctx: Context) -> int:
    from dbt_console.config import load_settings

    return load_settings(ctx.paths).background_idle_minutes
