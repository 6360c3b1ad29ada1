"""A run's steps and the per-node results dbt wrote for them."""

from __future__ import annotations

import time
from collections.abc import Sequence

from dbt_console.model import NodeResult, RunStatus, Step
from dbt_console.store.base import StoreBase


class StepsStore(StoreBase):
    def start_step(self, run_id: int, idx: int, command: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO steps (run_id, idx, command, status, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, idx, command, RunStatus.RUNNING.value, time.time()))
            conn.execute("UPDATE runs SET status = ? WHERE id = ? AND status = ?",
                         (RunStatus.RUNNING.value, run_id, RunStatus.STARTING.value))

    def finish_step(self, run_id: int, idx: int, status: RunStatus, exit_code: int | None,
                    results: Sequence[NodeResult] = ()) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE steps SET status = ?, exit_code = ?, finished_at = ? "
                "WHERE run_id = ? AND idx = ?",
                (status.value, exit_code, time.time(), run_id, idx))
            conn.executemany(
                "INSERT OR REPLACE INTO node_results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, idx, r.unique_id, r.resource_type, r.status, r.message, r.failures,
                  r.execution_time, r.started_at, r.finished_at, r.thread, r.compiled_path)
                 for r in results])

    def set_step_pid(self, run_id: int, idx: int, pid: int) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE steps SET pid = ? WHERE run_id = ? AND idx = ?",
                         (pid, run_id, idx))

    def orphan_pids(self) -> list[int]:
        """Process groups of steps still marked running: what a dead engine left behind."""
        return [r[0] for r in self.conn.execute(
            "SELECT pid FROM steps WHERE status = ? AND pid IS NOT NULL",
            (RunStatus.RUNNING.value,))]

    def list_steps(self, run_id: int) -> list[Step]:
        rows = self.conn.execute(
            "SELECT run_id, idx, command, status, exit_code, started_at, finished_at "
            "FROM steps WHERE run_id = ? ORDER BY idx", (run_id,))
        return [Step(r[0], r[1], r[2], RunStatus(r[3]), *r[4:]) for r in rows]

    def node_results(self, run_id: int) -> list[NodeResult]:
        rows = self.conn.execute(
            "SELECT unique_id, status, step, resource_type, message, failures, execution_time, "
            "started_at, finished_at, thread, compiled_path FROM node_results "
            "WHERE run_id = ? ORDER BY step, started_at, unique_id", (run_id,))
        return [NodeResult(*r) for r in rows]

    def node_counts(self, run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Per run, how many nodes ended in each status. A node run by several steps counts
        once, with the status of its last step."""
        counts: dict[int, dict[str, int]] = {i: {} for i in run_ids}
        if not run_ids:
            return counts
        marks = ",".join("?" * len(run_ids))
        rows = self.conn.execute(
            f"""SELECT run_id, status, COUNT(*) FROM node_results n
                WHERE run_id IN ({marks}) AND step = (
                    SELECT MAX(step) FROM node_results m
                    WHERE m.run_id = n.run_id AND m.unique_id = n.unique_id)
                GROUP BY run_id, status""", tuple(run_ids))
        for run_id, status, count in rows:
            counts[run_id][status] = count
        return counts
