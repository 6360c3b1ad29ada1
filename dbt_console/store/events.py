"""Engine events: what the engine did on its own (catch-ups, misses, cancels)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dbt_console.store.base import StoreBase


@dataclass(frozen=True)
class EngineEvent:
    at: float
    kind: str
    job_name: str | None
    detail: str


class EventsStore(StoreBase):
    def record_event(self, kind: str, job_name: str | None, detail: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO engine_events (at, kind, job_name, detail) "
                         "VALUES (?, ?, ?, ?)", (time.time(), kind, job_name, detail))

    def recent_events(self, limit: int = 10) -> list[EngineEvent]:
        rows = self.conn.execute(
            "SELECT at, kind, job_name, detail FROM engine_events ORDER BY id DESC LIMIT ?",
            (limit,))
        return [EngineEvent(*r) for r in rows]
