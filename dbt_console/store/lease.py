"""The engine's lease (one engine per store) and what it knows of its warm helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dbt_console.store.base import StoreBase


@dataclass(frozen=True)
class Lease:
    """Who runs this store's engine: taken only when the holder's heartbeat expired."""

    host: str
    pid: int
    token: str
    kind: str
    started_at: float
    heartbeat_at: float


@dataclass(frozen=True)
class WarmHelperRow:
    python: str
    pid: int
    state: str
    dbt_version: str
    detail: str
    changed_at: float


class LeaseStore(StoreBase):
    def read_lease(self) -> Lease | None:
        row = self.conn.execute(
            "SELECT host, pid, token, kind, started_at, heartbeat_at FROM engine_lease").fetchone()
        return None if row is None else Lease(*row)

    def acquire_lease(self, lease: Lease, ttl: float,
                      holder_is_dead: Callable[[Lease], bool]) -> Lease | None:
        """Take the lease if it is free, expired, or held by a process known dead.
        Returns None when taken, else the live holder."""
        with self._tx() as conn:
            current = self.read_lease()
            if (current is not None and current.token != lease.token
                    and time.time() - current.heartbeat_at < ttl
                    and not holder_is_dead(current)):
                return current
            conn.execute("INSERT OR REPLACE INTO engine_lease (id, host, pid, token, kind, "
                         "started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
                         (lease.host, lease.pid, lease.token, lease.kind, lease.started_at,
                          time.time()))
        return None

    def heartbeat(self, token: str) -> tuple[bool, str | None]:
        """Renew the lease: is it still ours, and who asked its engine to stop (or None)."""
        with self._tx() as conn:
            row = conn.execute("UPDATE engine_lease SET heartbeat_at = ? WHERE token = ? "
                               "RETURNING stop_asked_by", (time.time(), token)).fetchone()
        return (False, None) if row is None else (True, row[0])

    def ask_engine_to_stop(self, by: str) -> Lease | None:
        """Mark the lease so that its engine stops at its next beat; the lease, or None."""
        with self._tx() as conn:
            conn.execute("UPDATE engine_lease SET stop_asked_by = ?", (by,))
        return self.read_lease()

    def release_lease(self, token: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM engine_lease WHERE token = ?", (token,))
            conn.execute("DELETE FROM warm_helpers")

    def record_helper(self, token: str, python: str, pid: int, state: str, dbt_version: str,
                      detail: str) -> None:
        """What the engine holding `token` knows of its warm helper for `python`. Rows of
        any earlier engine go: there is one engine per store."""
        with self._tx() as conn:
            conn.execute("DELETE FROM warm_helpers WHERE engine_token != ?", (token,))
            conn.execute("INSERT OR REPLACE INTO warm_helpers VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (python, token, pid, state, dbt_version, detail, time.time()))

    def warm_helpers(self, token: str) -> list[WarmHelperRow]:
        rows = self.conn.execute(
            "SELECT python, pid, state, dbt_version, detail, changed_at FROM warm_helpers "
            "WHERE engine_token = ? ORDER BY python", (token,))
        return [WarmHelperRow(*r) for r in rows]
