"""What /metrics reports, read from the store in a few grouped queries per scrape.

Counters and histograms must never go down, but retention removes runs: a prune first
adds what the runs it removes counted into metric_totals (fold_pruned), and every read
adds metric_totals back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from dbt_console.metrics import DURATION_BUCKETS, LATENESS_BUCKETS, Histogram, Totals
from dbt_console.store.base import StoreBase

KIND = ("CASE WHEN instr(trigger, ':') > 0 THEN substr(trigger, 1, instr(trigger, ':') - 1) "
        "ELSE trigger END")
FINISHED = "status IN ('success', 'error', 'cancelled')"
COUNTERS = ("runs", "deliveries")


def _sums(expr: str, bounds: Sequence[float]) -> str:
    return ", ".join(f"SUM({expr} <= {b})" for b in bounds) + f", COUNT(*), SUM({expr})"


def _histograms(rows, bounds: Sequence[float]) -> dict[str, Histogram]:
    n = len(bounds)
    return {key: Histogram([v or 0 for v in values[:n]], values[n] or 0, values[n + 1] or 0.0)
            for key, *values in rows}


def totals(conn: sqlite3.Connection, run_ids: Sequence[int] | None = None) -> Totals:
    """The counters and histograms over these runs (all when None)."""
    only = "1" if run_ids is None else f"IN ({', '.join(str(int(i)) for i in run_ids)})"
    runs, of_run = ("1", "1") if run_ids is None else (f"id {only}", f"run_id {only}")
    of_step = "1" if run_ids is None else f"s.run_id {only}"
    seconds = "finished_at - started_at"
    out = Totals()
    for job, status, kind, n in conn.execute(
            f"SELECT job_name, status, {KIND}, COUNT(*) FROM runs WHERE {FINISHED} AND "
            f"{runs} GROUP BY 1, 2, 3"):
        out.runs[(job, status, kind)] = n
    out.run_seconds = _histograms(conn.execute(
        f"SELECT job_name, {_sums(seconds, DURATION_BUCKETS)} FROM runs WHERE {FINISHED} "
        f"AND started_at IS NOT NULL AND {runs} GROUP BY 1"), DURATION_BUCKETS)
    out.step_seconds = _histograms(conn.execute(
        f"SELECT r.job_name, {_sums('s.finished_at - s.started_at', DURATION_BUCKETS)} "
        "FROM steps s JOIN runs r ON r.id = s.run_id WHERE s.finished_at IS NOT NULL "
        f"AND {of_step} GROUP BY 1"), DURATION_BUCKETS)
    lateness = _histograms(conn.execute(
        f"SELECT '', {_sums('started_at - queued_at', LATENESS_BUCKETS)} FROM runs WHERE "
        f"{KIND} IN ('schedule', 'catch-up') AND started_at IS NOT NULL AND {runs}"),
        LATENESS_BUCKETS)
    out.lateness = {k: v for k, v in lateness.items() if v.count}
    out.deliveries = {(kind, status): n for kind, status, n in conn.execute(
        f"SELECT hook_type, status, COUNT(*) FROM deliveries WHERE {of_run} GROUP BY 1, 2")}
    return out


def fold_pruned(conn: sqlite3.Connection, run_ids: Sequence[int]) -> None:
    """Before runs are removed (in the same transaction): add what they counted to
    metric_totals, so counters and histograms never go down."""
    gone = totals(conn, run_ids)
    rows = [(name, json.dumps(key), json.dumps(n)) for name in ("runs", "deliveries")
            for key, n in getattr(gone, name).items()]
    for name in ("run_seconds", "step_seconds", "lateness"):
        rows += [(name, json.dumps(key), json.dumps([h.buckets, h.count, h.total]))
                 for key, h in getattr(gone, name).items()]
    for name, key, value in rows:
        old = conn.execute("SELECT value FROM metric_totals WHERE name = ? AND key = ?",
                           (name, key)).fetchone()
        conn.execute("INSERT OR REPLACE INTO metric_totals (name, key, value) VALUES (?, ?, ?)",
                     (name, key, _plus(name, old and old[0], value)))


def _plus(name: str, old: str | None, new: str) -> str:
    if old is None:
        return new
    if name in COUNTERS:
        return json.dumps(json.loads(old) + json.loads(new))
    (ob, oc, ot), (nb, nc, nt) = json.loads(old), json.loads(new)
    return json.dumps([[a + b for a, b in zip(ob, nb, strict=True)], oc + nc, ot + nt])


class MetricsStore(StoreBase):
    def metric_totals(self) -> Totals:
        """Counters and histograms over every run ever finished, pruned ones included."""
        live = totals(self.conn)
        for name, key, value in self.conn.execute("SELECT name, key, value FROM metric_totals"):
            key, value = json.loads(key), json.loads(value)
            table = getattr(live, name)
            if name in COUNTERS:
                table[tuple(key)] = table.get(tuple(key), 0) + value
            else:
                table.setdefault(key, Histogram([0] * len(value[0]))).add(Histogram(*value))
        return live

    def metrics_fingerprint(self) -> tuple:
        """Changes whenever the counters and histograms may have: a run finished or was
        pruned, a delivery was made."""
        return (*self.conn.execute(
            "SELECT COUNT(*), MAX(finished_at) FROM runs WHERE finished_at IS NOT NULL"
        ).fetchone(), *self.conn.execute(
            "SELECT COUNT(*), MAX(finished_at), SUM(attempts) FROM deliveries").fetchone(),
            self.conn.execute("SELECT COUNT(*) FROM metric_totals").fetchone()[0])

    def last_successes(self) -> dict[str, float]:
        return dict(self.conn.execute(
            "SELECT job_name, MAX(finished_at) FROM runs WHERE status = 'success' GROUP BY 1"))

    def last_finished_runs(self) -> dict[str, int]:
        """Each job's newest finished run."""
        return {job: run_id for run_id, job in self.conn.execute(
            f"SELECT MAX(id), job_name FROM runs WHERE {FINISHED} GROUP BY job_name")}

    def helper_states(self, token: str) -> dict[str, int]:
        return dict(self.conn.execute(
            "SELECT state, COUNT(*) FROM warm_helpers WHERE engine_token = ? GROUP BY 1",
            (token,)))
