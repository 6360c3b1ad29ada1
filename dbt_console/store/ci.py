"""CI branches: each CI job's branches as last seen on the remote, their schemas, and
what each CI run's compare changes found."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dbt_console.ci.compare import ModelDiff, dumps, loads
from dbt_console.model import Run, RunStatus
from dbt_console.store.base import RUN_COLUMNS, StoreBase


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

    def save_compare(self, run_id: int, compared_with: int | None,
                     diffs: Sequence[ModelDiff]) -> None:
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO run_compares VALUES (?, ?, ?, ?, ?)",
                         (run_id, compared_with, dumps(list(diffs)),
                          sum(d.differs for d in diffs), time.time()))

    def compare_of(self, run_id: int) -> tuple[int | None, list[ModelDiff]] | None:
        """(the production run compared with, each model's differences), or None when
        the run made no comparison."""
        row = self.conn.execute("SELECT compared_with, diffs FROM run_compares "
                                "WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else (row[0], loads(row[1]))

    def differing_models(self, run_ids: Sequence[int]) -> dict[int, int]:
        """Per run that made a comparison, how many models differ from production."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        return dict(self.conn.execute(f"SELECT run_id, differing FROM run_compares "
                                      f"WHERE run_id IN ({marks})", tuple(run_ids)))

    def queued_ci_runs(self) -> list[Run]:
        """Every CI run still waiting (a handful: one per branch at most)."""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE status = ? AND trigger LIKE 'ci:%' "
            "ORDER BY id", (RunStatus.QUEUED.value,))
        return [self._run(r) for r in rows]

    def ci_runs_left_pending(self, ended_before: float, since: float) -> list[Run]:
        """CI runs that ended before `ended_before` whose last commit status, posted
        since `since`, is still pending: ended without running (cancelled while queued)
        or with their engine gone. Read from those pending statuses (an index of their
        own), never from every run that ever finished."""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id IN (SELECT d.run_id FROM deliveries d "
            "WHERE d.hook_index = -1 AND d.event = 'pending' AND d.created_at >= ? AND NOT "
            "EXISTS (SELECT 1 FROM deliveries n WHERE n.run_id = d.run_id AND "
            "n.hook_index = -1 AND n.id > d.id)) AND status IN (?, ?, ?) AND "
            "finished_at <= ? ORDER BY id",
            (since, RunStatus.SUCCESS.value, RunStatus.ERROR.value,
             RunStatus.CANCELLED.value, ended_before))
        return [self._run(r) for r in rows]
