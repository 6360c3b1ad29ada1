"""Engine events: what the engine did on its own (catch-ups, misses, cancels)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from dbt_console.store.base import StoreBase


@dataclass(frozen=True)
class EngineEvent:
    at: float
    kind: str
    job_name: str | None
    detail: str


def insert_event(conn: sqlite3.Connection, kind: str, job_name: str | None, detail: str,
                 at: float | None = None) -> None:
    """An engine event, inside a caller's transaction."""
    conn.execute("INSERT INTO engine_events (at, kind, job_name, detail) VALUES (?, ?, ?, ?)",
                 (time.time() if at is None else at, kind, job_name, detail))


class EventsStore(StoreBase):
    def record_event(self, kind: str, job_name: str | None, detail: str) -> None:
        with self._tx() as conn:
            insert_event(conn, kind, job_name, detail)

    def recent_events(self, limit: int = 10) -> list[EngineEvent]:
        rows = self.conn.execute(
            "SELECT at, kind, job_name, detail FROM engine_events ORDER BY id DESC LIMIT ?",
            (limit,))
        return [EngineEvent(*r) for r in rows]
