"""Team access: grants of roles, and the audit log (append-only: triggers refuse any
UPDATE or DELETE of its rows)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dbt_console.access import Grant
from dbt_console.errors import NotFound
from dbt_console.store.base import StoreBase


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    actor: str
    kind: str
    via: str
    action: str
    job: str | None
    target: str
    detail: str
    outcome: str


AUDIT_COLUMNS = "id, at, actor, kind, via, action, job, target, detail, outcome"


class AccessStore(StoreBase):
    def grants(self) -> list[Grant]:
        return [Grant(*row) for row in self.conn.execute(
            "SELECT principal, role, jobs FROM grants ORDER BY principal, jobs")]

    def grant(self, grant: Grant, by: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO grants VALUES (?, ?, ?, ?, ?)",
                         (grant.principal, grant.jobs, grant.role, time.time(), by))

    def revoke(self, principal: str, jobs: str | None = None) -> int:
        """Drop a principal's grants (only the one for `jobs`, when given)."""
        with self._tx() as conn:
            count = conn.execute(
                "DELETE FROM grants WHERE principal = ? AND (? IS NULL OR jobs = ?)",
                (principal, jobs, jobs)).rowcount
        if not count:
            raise NotFound(f"{principal} has no grant" + (f" for jobs {jobs!r}" if jobs else "")
                           + " (see dbt-console access list)")
        return count

    def audit(self, actor: str, kind: str, via: str, action: str, job: str | None,
              target: str, detail: str, outcome: str) -> None:
        with self._tx() as conn:
            conn.execute(f"INSERT INTO audit ({AUDIT_COLUMNS}) VALUES "
                         "(NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (time.time(), actor, kind, via, action, job, target, detail, outcome))

    def audit_rows(self, actor: str | None = None, job: str | None = None,
                   since: float | None = None, limit: int = 200) -> list[AuditRow]:
        """Newest first."""
        rows = self.conn.execute(
            f"SELECT {AUDIT_COLUMNS} FROM audit WHERE (? IS NULL OR actor = ?) AND "
            "(? IS NULL OR job = ?) AND at >= ? ORDER BY id DESC LIMIT ?",
            (actor, actor, job, job, since or 0.0, limit))
        return [AuditRow(*row) for row in rows]

    def token_role(self, name: str) -> str | None:
        row = self.conn.execute("SELECT role FROM api_tokens WHERE name = ? AND revoked_at "
                                "IS NULL", (name,)).fetchone()
        return None if row is None else row[0]
