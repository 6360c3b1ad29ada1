"""Retention: what a prune would remove, pruning by hand, and the space runs take. The
engine applies the same plan once a day (engine/retention.py)."""

from __future__ import annotations

from dataclasses import dataclass

from dbt_console.actions.context import Context
from dbt_console.actions.guard import Noted, action


@dataclass(frozen=True)
class Pruned:
    run_ids: tuple[int, ...]
    bytes: int
    done: bool  # False: a dry run, nothing removed


@action("viewer")
def plan(ctx: Context) -> Pruned:
    from dbt_console.config import load_settings
    from dbt_console.engine import retention

    found = retention.plan(ctx.store, ctx.paths, load_settings(ctx.paths))
    return Pruned(tuple(found.run_ids), found.bytes, False)


@action("admin", changes=True, target=lambda ctx: "runs past retention")
def prune(ctx: Context) -> Noted[Pruned]:
    from dbt_console.config import load_settings
    from dbt_console.engine import retention

    found = retention.plan(ctx.store, ctx.paths, load_settings(ctx.paths))
    retention.apply(ctx.store, found)
    if found.run_ids:
        ctx.store.record_event("prune", None, retention.words(found, f"by {ctx.actor.name}"))
    return Noted(Pruned(tuple(found.run_ids), found.bytes, True),
                 f"{len(found.run_ids)} run(s), {found.bytes} bytes")


@action("viewer")
def space(ctx: Context) -> dict[str, int]:
    from dbt_console.engine import retention

    return retention.space(ctx.paths)

