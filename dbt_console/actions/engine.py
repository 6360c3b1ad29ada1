"""Starting and stopping the engine: the background engine the dashboard starts when none
is alive, and `dbt-console engine stop` for whichever engine holds the store."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dbt_console.access import Forbidden, allows
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.actions.status import engine as live_engine
from dbt_console.errors import UserError
from dbt_console.store import Lease

# How long a just-started background engine may take to hold the store (imports, recovery).
START_SECONDS = 30.0


@dataclass(frozen=True)
class Started:
    pid: int
    holder: Lease | None  # the engine holding the store: this one, or one that beat it


@action("viewer", changes=True, target=lambda ctx: "background engine")
def start_background(ctx: Context) -> Started:
    """Start a background engine unless one is alive. Returns at once: `holder` is None
    until it holds the store (see `status`)."""
    from dbt_console.engine import background

    holder = live_engine(ctx)
    if holder is not None:
        return Started(holder.pid, holder)
    return Started(background.spawn(ctx.paths), None)


def wait_for_engine(ctx: Context, seconds: float = START_SECONDS) -> Lease:
    deadline = time.monotonic() + seconds
    while (holder := live_engine(ctx)) is None:
        if time.monotonic() > deadline:
            from dbt_console.engine.background import log_path

            raise UserError(f"no engine took the store within {seconds:.0f}s; its log: "
                            f"{log_path(ctx.paths)}")
        time.sleep(0.1)
    return holder


@action("runner", changes=True, target=lambda ctx: "engine")
def stop(ctx: Context) -> Lease:
    """Ask the engine holding the store to stop (nudged, it sees it at once; else at its
    next 2 s heartbeat): runs in flight get its stop grace. A background engine is
    anyone's who may run jobs to stop; `serve` (production) is an admin's."""
    holder = live_engine(ctx)
    if holder is None:
        raise UserError("no engine is running")
    role = ctx.role(None)
    if holder.kind != "background" and not allows(role, "admin"):
        raise Forbidden(f"stopping {holder.kind} (pid {holder.pid}) takes the admin role; "
                        f"{ctx.actor.name} is {role}")
    # Nudged by the action's guard once this commits: woken sooner, it would read the
    # store before the request is in it.
    ctx.store.ask_engine_to_stop(ctx.actor.name)
    return holder


def stopped(ctx: Context, holder: Lease) -> bool:
    """Has the engine `holder` let go of the store?"""
    current = live_engine(ctx)
    return current is None or current.token != holder.token
