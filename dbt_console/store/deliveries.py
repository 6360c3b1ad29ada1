"""Notification deliveries: the queue the notifier sends from, with each attempt."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dbt_console.store.base import StoreBase


@dataclass(frozen=True)
class Delivery:
    id: int
    run_id: int | None  # None: an alert about a job, with no run (late, missed)
    job_name: str
    hook_index: int
    hook_type: str
    target: str
    event: str
    status: str
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    request_body: str
    response_body: str | None
    created_at: float
    finished_at: float | None


DELIVERY_COLUMNS = ("id, run_id, job_name, hook_index, hook_type, target, event, status, "
                    "attempts, next_attempt_at, last_status_code, last_error, request_body, "
                    "response_body, created_at, finished_at")


def insert_deliveries(conn: sqlite3.Connection, rows: Sequence[tuple]) -> None:
    now = time.time()
    conn.executemany(
        "INSERT INTO deliveries (run_id, job_name, hook_index, hook_type, target, event, "
        "status, next_attempt_at, request_body, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)", [(*r[:6], now, r[6], now) for r in rows])


class DeliveriesStore(StoreBase):
    def add_deliveries(self, rows: Sequence[tuple[int | None, str, int, str, str, str, str]]
                       ) -> None:
        """(run_id, job_name, hook_index, hook_type, target, event, body): due at once."""
        with self._tx() as conn:
            insert_deliveries(conn, rows)

    def due_deliveries(self, run_id: int | None = None, limit: int = 20) -> list[Delivery]:
        where = "status = 'pending' AND next_attempt_at <= ?"
        args: list[Any] = [time.time()]
        if run_id is not None:
            where += " AND run_id = ?"
            args.append(run_id)
        rows = self.conn.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {where} "
            "ORDER BY next_attempt_at, id LIMIT ?", (*args, limit))
        return [Delivery(*r) for r in rows]

    def record_attempt(self, delivery_id: int, delivered: bool, status_code: int | None,
                       error: str | None, response: str | None,
                       retry_at: float | None) -> None:
        """One attempt's outcome: delivered, retried at retry_at, or failed for good."""
        status = "delivered" if delivered else "pending" if retry_at is not None else "failed"
        with self._tx() as conn:
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, "
                "next_attempt_at = ?, last_status_code = ?, last_error = ?, "
                "response_body = ?, finished_at = ? WHERE id = ? AND status = 'pending'",
                (status, retry_at, status_code, error, response,
                 None if status == "pending" else time.time(), delivery_id))

    def supersede_delivery(self, delivery_id: int, why: str) -> None:
        """Give up a delivery still waiting: a newer one says more."""
        with self._tx() as conn:
            conn.execute("UPDATE deliveries SET status = 'superseded', last_error = ?, "
                         "finished_at = ? WHERE id = ? AND status = 'pending'",
                         (why, time.time(), delivery_id))

    def latest_deliveries(self, run_ids: Sequence[int], hook_index: int
                          ) -> dict[int, Delivery]:
        """Per run, its newest delivery through one hook (CI's report: the status the
        pull request shows)."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        rows = self.conn.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id IN (SELECT MAX(id) FROM "
            f"deliveries WHERE hook_index = ? AND run_id IN ({marks}) GROUP BY run_id)",
            (hook_index, *run_ids))
        return {d.run_id: d for d in (Delivery(*r) for r in rows)}

    def last_event_run(self, job_name: str, hook_index: int, event: str) -> int | None:
        """The run id of the newest delivery of `event` through one hook of a job (the
        last reminder: hooks/policy.py)."""
        row = self.conn.execute(
            "SELECT MAX(run_id) FROM deliveries WHERE job_name = ? AND hook_index = ? "
            "AND event = ?", (job_name, hook_index, event)).fetchone()
        return row[0]

    def list_deliveries(self, run_id: int | None = None, failed_only: bool = False,
                        limit: int = 50) -> list[Delivery]:
        where, args = [], []
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if failed_only:
            where.append("status = 'failed'")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries {clause} ORDER BY id DESC LIMIT ?",
            (*args, limit))
        return [Delivery(*r) for r in rows]
