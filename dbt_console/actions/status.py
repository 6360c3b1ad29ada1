"""The engine's state as anyone can see it: who holds the store, the queue, runs in
flight, the next fires, warm helpers, recent engine events."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from dbt_console import dbtversion
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.model import Run
from dbt_console.store import EngineEvent, Lease, WarmHelperRow


@dataclass(frozen=True)
class Helper:
    row: WarmHelperRow
    rss_bytes: int | None  # None when the helper is on another host


@dataclass(frozen=True)
class Status:
    engine: Lease | None
    engine_words: str  # who holds the store, in words
    queued: tuple[int, ...]
    in_flight: tuple[Run, ...]
    next_fires: tuple[tuple[float, str], ...]  # (at, job), soonest first
    helpers: tuple[Helper, ...]
    events: tuple[EngineEvent, ...]
    dbt_core: str | None = None            # installed beside dbt-console
    dbt_core_warning: str | None = None    # when outside the tested range


@action("viewer")
def engine(ctx: Context) -> Lease | None:
    """The live engine holding the store's lease, or None."""
    from dbt_console.engine.lease import live_holder

    return live_holder(ctx.store)


@action("viewer")
def status(ctx: Context, events: int = 5) -> Status:
    from dbt_console.actions.jobs import next_fire
    from dbt_console.engine.lease import describe
    from dbt_console.engine.warm.launcher import rss_bytes

    store = ctx.store
    holder = engine(ctx)
    found = dbtversion.installed()
    fires = sorted((at, j.name) for j in store.list_jobs()
                   if (at := next_fire(j)) is not None)
    rows = [] if holder is None else store.warm_helpers(holder.token)
    local = holder is not None and holder.host == socket.gethostname()
    return Status(
        holder, describe(holder) if holder else _silent(store) or
        "none running (start: dbt-console serve, or engine start)",
        tuple(run_id for run_id, _ in store.queued_runs()), tuple(store.runs_in_flight()),
        tuple(fires), tuple(Helper(h, rss_bytes(h.pid) if local else None) for h in rows),
        tuple(store.recent_events(events)), found, dbtversion.untested(found))


def _silent(store) -> str | None:
    from dbt_console.engine.lease import describe, silent_holder

    lease = silent_holder(store)
    if lease is None:
        return None
    return (f"{describe(lease)}: alive, but it has not renewed its lease for "
            f"{time.time() - lease.heartbeat_at:.0f} s: it cannot write the store (a full "
            "disk?) or its loop is stuck; its log says which")


# The engine loop renews its lease every 2 s: one older than this means the loop is stuck.
HEALTHY_SECONDS = 10.0


@action("viewer")
def health(ctx: Context, engine_pid: int) -> tuple[bool, str]:
    """Is the engine of process engine_pid alive: holding the store, its loop ticking?"""
    from dbt_console.engine.lease import describe

    lease = ctx.store.read_lease()
    if lease is None:
        return False, "no engine holds the store"
    if lease.pid != engine_pid or lease.host != socket.gethostname():
        return False, f"another engine holds the store: {describe(lease)}"
    age = time.time() - lease.heartbeat_at
    if age > HEALTHY_SECONDS:
        return False, f"the engine's loop has not ticked for {age:.0f}s"
    return True, f"pid {lease.pid} holds the store; its loop ticked {age:.1f}s ago"


@action("viewer")
def data_version(ctx: Context) -> int:
    """Changes whenever another process commits: a screen's cheap 'anything new?'."""
    return ctx.store.data_version()
