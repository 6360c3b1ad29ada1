"""Warehouse-specific behaviour, one module per adapter that needs any.

What the engine asks of a run before starting it: `exclusive_resource(job, workspaces)`,
a name for something only one run may write at a time (a DuckDB file), or None. Adding
an adapter's rule is a module here and a line in RULES.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dbt_console.engine.adapters import duckdb
from dbt_console.engine.adapters.profile import Target, target_of
from dbt_console.model import Job

# adapter type -> the resource a run writing through that target must hold alone
RULES: dict[str, Callable[[Target], str | None]] = {"duckdb": duckdb.exclusive_resource}
# dbt sub-commands that never open a connection to the warehouse.
OFFLINE = {"parse", "ls", "list", "deps", "clean"}


def exclusive_resource(job: Job, workspaces: Path) -> str | None:
    """What a run of `job` must hold alone, or None (most warehouses take many writers,
    and a run of offline commands only touches no warehouse at all)."""
    if all(c.split()[1:2] and c.split()[1] in OFFLINE for c in job.commands):
        return None
    target = target_of(job, workspaces)
    if target is None:
        return None
    rule = RULES.get(target.type)
    return None if rule is None else rule(target)
