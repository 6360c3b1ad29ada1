"""What /metrics reports: one snapshot of the store's counters and gauges."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.metrics import Totals


@dataclass(frozen=True)
class Snapshot:
    totals: Totals
    queued: int
    in_flight: int
    last_success: dict[str, float]
    last_nodes: dict[str, dict[str, int]]
    helpers: dict[str, int]
    lease_age: float | None
    store_bytes: int


@action("viewer")
def snapshot(ctx: Context) -> Snapshot:
    store = ctx.store
    last_runs = store.last_finished_runs()
    counts = store.node_counts(list(last_runs.values()))
    lease = store.read_lease()
    store_bytes = sum(p.stat().st_size for p in ctx.paths.store.parent.glob(
        ctx.paths.store.name + "*") if p.is_file())
    return Snapshot(
        store.metric_totals(), len(store.queued_runs()),
        len(store.runs_in_flight()), store.last_successes(),
        {job: counts[run_id] for job, run_id in last_runs.items()},
        store.helper_states(lease.token) if lease else {},
        None if lease is None else max(0.0, time.time() - lease.heartbeat_at), store_bytes)
