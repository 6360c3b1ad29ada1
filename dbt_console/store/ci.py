"""CI branches: each CI job's branches as last seen on the remote, and their schemas."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from dbt_console.store.base import StoreBase


@dataclass(frozen=True)
class CiBranch:
    branch: str
    sha: str
    seen_at: float
    gone_at: float | None
    dropped_at: float | None


class CiStore(StoreBase):
    @staticmethod
    def _note_ci_branch(conn: sqlite3.Connection, job_name: str, branch: str,
                        sha: str | None) -> None:
        conn.execute(
            "INSERT INTO ci_branches (job_name, branch, sha, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(job_name, branch) DO UPDATE SET sha = CASE excluded.sha WHEN '' "
            "THEN sha ELSE excluded.sha END, seen_at = excluded.seen_at, gone_at = NULL, "
            "dropped_at = NULL", (job_name, branch, sha or "", time.time()))

    def ci_branches(self, job_name: str) -> list[CiBranch]:
        return [CiBranch(*row) for row in self.conn.execute(
            "SELECT branch, sha, seen_at, gone_at, dropped_at FROM ci_branches "
            "WHERE job_name = ? ORDER BY branch", (job_name,))]

    def mark_ci_gone(self, job_name: str, branches: Iterable[str]) -> None:
        with self._tx() as conn:
            conn.executemany("UPDATE ci_branches SET gone_at = COALESCE(gone_at, ?) "
                             "WHERE job_name = ? AND branch = ?",
                             [(time.time(), job_name, b) for b in branches])

    def mark_ci_dropped(self, job_name: str, branch: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE ci_branches SET dropped_at = ? WHERE job_name = ? AND "
                         "branch = ?", (time.time(), job_name, branch))
