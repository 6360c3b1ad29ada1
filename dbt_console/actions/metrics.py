"""What /metrics reports: one snapshot of the store's counters and gauges."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.metrics import Totals


@dataclass(frozen=True)
class Counted:
    """What changes only when a run finishes (or is pruned) or a delivery is made: the
    costly part of a scrape, computed again only then."""

    totals: Totals
    last_success: dict[str, float]
    last_nodes: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Snapshot:
    fingerprint: tuple
    counted: Counted | None  # None: unchanged since the snapshot with `unless`'s print
    queued: int
    in_flight: int
    helpers: dict[str, int]
    lease_age: float | None
    store_bytes: int


@action("viewer")
def snapshot(ctx: Context, unless: tuple | None = None) -> Snapshot:
    store = ctx.store
    fingerprint = store.metrics_fingerprint()
    counted = None
    if fingerprint != unless:
        last_runs = store.last_finished_runs()
        counts = store.node_counts(list(last_runs.values()))
        counted = Counted(store.metric_totals(), store.last_successes(),
                          {job: counts[run_id] for job, run_id in last_runs.items()})
    from dbt_console.engine.retention import store_bytes

    lease = store.read_lease()
    return Snapshot(
        fingerprint, counted, len(store.queued_runs()), len(store.runs_in_flight()),
        store.helper_states(lease.token) if lease else {},
        None if lease is None else max(0.0, time.time() - lease.heartbeat_at),
        store_bytes(ctx.paths))
