"""What retention reads and removes: finished runs past their time, the runs that must
stay whatever their age, and the removal itself (steps, node results, log chunks and
deliveries go with their run: ON DELETE CASCADE)."""

from __future__ import annotations

from dbt_console.store.base import StoreBase
from dbt_console.store.metrics import fold_pruned

FINISHED = ("success", "error", "cancelled")


class PruneStore(StoreBase):
    def runs_past_retention(self, before: float | None, beyond: int | None
                            ) -> list[tuple[int, str, str | None]]:
        """(id, job, run_dir) of finished runs that finished before `before`, or that are
        past the `beyond` newest runs of their job."""
        if before is None and beyond is None:
            return []
        rows = self.conn.execute(
            "SELECT id, job_name, run_dir FROM (SELECT id, job_name, run_dir, finished_at, "
            "ROW_NUMBER() OVER (PARTITION BY job_name ORDER BY id DESC) AS nth FROM runs "
            f"WHERE status IN ({', '.join('?' * len(FINISHED))})) "
            "WHERE (? IS NOT NULL AND finished_at < ?) OR (? IS NOT NULL AND nth > ?) "
            "ORDER BY id", (*FINISHED, before, before, beyond, beyond))
        return rows.fetchall()

    def runs_always_kept(self) -> set[int]:
        """Each job's last success and last failure, each open CI branch's latest run, and
        the newest run of all (run ids are the next after the highest: never reused)."""
        rows = self.conn.execute(
            "SELECT MAX(id) FROM runs WHERE status = 'success' GROUP BY job_name "
            "UNION SELECT MAX(id) FROM runs WHERE status = 'error' GROUP BY job_name "
            "UNION SELECT MAX(r.id) FROM runs r JOIN ci_branches b ON r.job_name = b.job_name "
            "AND r.git_branch = b.branch WHERE b.gone_at IS NULL GROUP BY r.job_name, r.git_branch "
            "UNION SELECT MAX(id) FROM runs")
        return {run_id for (run_id,) in rows if run_id is not None}

    def newest_run_dirs(self, job_name: str, limit: int) -> list[tuple[int, str | None]]:
        return self.conn.execute(
            "SELECT id, run_dir FROM runs WHERE job_name = ? ORDER BY id DESC LIMIT ?",
            (job_name, limit)).fetchall()

    def delete_runs(self, run_ids: list[int]) -> None:
        for start in range(0, len(run_ids), 500):
            batch = run_ids[start:start + 500]
            with self._tx() as conn:
                fold_pruned(conn, batch)  # /metrics' counters never go down
                conn.execute(f"DELETE FROM runs WHERE id IN ({', '.join('?' * len(batch))})",
                             batch)
