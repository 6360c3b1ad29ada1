"""Run alerts (a job's sla:): each sent once, across restarts (the alerts table is the
once), and what the alert watch reads to decide them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from dbt_console.model import RunStatus
from dbt_console.store.base import StoreBase
from dbt_console.store.deliveries import insert_deliveries
from dbt_console.store.events import insert_event


class AlertsStore(StoreBase):
    def record_alert(self, job_name: str, kind: str, key: str, detail: str, at: float,
                     deliveries: Sequence[tuple]) -> bool:
        """Record an alert with its deliveries and an engine event, all or nothing: True
        when it is new, False when it was raised before (by this engine or an earlier)."""
        with self._tx() as conn:
            try:
                conn.execute("INSERT INTO alerts (job_name, kind, key, detail, at) "
                             "VALUES (?, ?, ?, ?, ?)", (job_name, kind, key, detail, at))
            except sqlite3.IntegrityError:
                return False
            insert_deliveries(conn, deliveries)
            insert_event(conn, kind, job_name, detail, at)
        return True

    def alerted_since(self, job_name: str, since: float) -> bool:
        return self.conn.execute("SELECT 1 FROM alerts WHERE job_name = ? AND at > ? LIMIT 1",
                                 (job_name, since)).fetchone() is not None

    def open_alerts(self) -> dict[str, str]:
        """Per job, its newest alert's kind when no success finished after it."""
        rows = self.conn.execute(
            "SELECT a.job_name, a.kind FROM alerts a WHERE a.at = (SELECT MAX(at) FROM alerts "
            "WHERE job_name = a.job_name) AND NOT EXISTS (SELECT 1 FROM runs r WHERE "
            "r.job_name = a.job_name AND r.status = 'success' AND r.finished_at > a.at)")
        return dict(rows.fetchall())

    def success_durations(self, job_name: str, limit: int) -> list[float]:
        return [d for (d,) in self.conn.execute(
            "SELECT finished_at - started_at FROM runs WHERE job_name = ? AND status = ? "
            "AND started_at IS NOT NULL ORDER BY id DESC LIMIT ?",
            (job_name, RunStatus.SUCCESS.value, limit))]

    def succeeded_between(self, job_name: str, start: float, end: float) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM runs WHERE job_name = ? AND status = ? AND finished_at BETWEEN ? "
            "AND ? LIMIT 1", (job_name, RunStatus.SUCCESS.value, start, end)).fetchone() is not None

    def scheduled_runs_waiting(self, job_name: str, before: float) -> list[tuple[int, float]]:
        """(run id, when it was queued) of the job's scheduled runs still queued."""
        return self.conn.execute(
            "SELECT id, queued_at FROM runs WHERE job_name = ? AND status = ? AND queued_at < ? "
            "AND (trigger = 'schedule' OR trigger LIKE 'catch-up%')",
            (job_name, RunStatus.QUEUED.value, before)).fetchall()
