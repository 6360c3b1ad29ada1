"""Runs: reading them back, their state changes, cancel requests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from dbt_console.errors import NotFound
from dbt_console.jobfields import job_from_spec
from dbt_console.model import Job, Run, RunStatus
from dbt_console.store.base import IN_FLIGHT, RUN_COLUMNS, StoreBase, like_escape, like_prefix


class RunsStore(StoreBase):
    def find_run(self, run_id: int) -> Run | None:
        row = self.conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        return None if row is None else self._run(row)

    def get_run(self, run_id: int) -> Run:
        run = self.find_run(run_id)
        if run is None:
            raise NotFound(f"no run with id {run_id}")
        return run

    def run_job(self, run_id: int) -> Job:
        """The job exactly as it was when this run was queued."""
        row = self.conn.execute("SELECT spec, job_id FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        return job_from_spec(json.loads(row[0])).with_store_ids(row[1], 0)

    def list_runs(self, job_name: str | None = None, limit: int = 50,
                  before_id: int | None = None, status: str | None = None,
                  trigger: str | None = None, text: str | None = None,
                  branch: str | None = None) -> list[Run]:
        """Newest first, a page at a time: pass the last id seen as before_id. `trigger`
        matches its start (schedule, job:, retry:...); `text` any of job, trigger, who
        asked, branch, sha or error."""
        where, args = [], []
        if job_name is not None:
            where.append("job_name = ?")
            args.append(job_name)
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if branch is not None:
            where.append("git_branch = ?")
            args.append(branch)
        if trigger is not None:
            where.append("trigger LIKE ? ESCAPE '\\'")
            args.append(like_prefix(trigger))
        if text:
            where.append("(job_name || ' ' || trigger || ' ' || actor || ' ' || "
                         "COALESCE(git_branch, '') || ' ' || COALESCE(git_sha, '') || ' ' || "
                         "COALESCE(error, '')) LIKE ? ESCAPE '\\'")
            args.append("%" + like_escape(text) + "%")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs {clause} ORDER BY id DESC LIMIT ?",
            (*args, limit))
        return [self._run(r) for r in rows]

    RUN_ORDERS = {"id": "id", "created_at": "queued_at", "finished_at": "finished_at"}

    def query_runs(self, job_id: int | None = None, statuses: Sequence[str] = (),
                   order_by: str = "id", descending: bool = False, limit: int = 100,
                   offset: int = 0, finished_between: tuple[float, float] | None = None,
                   job_ids: Iterable[int] | None = None) -> tuple[list[Run], int]:
        """A page of runs for the API, and how many match in all. order_by is one of
        RUN_ORDERS' keys (checked by the caller)."""
        where, args = [], []
        if job_id is not None:
            where.append("job_id = ?")
            args.append(job_id)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            args.extend(statuses)
        if finished_between is not None:
            where.append("finished_at BETWEEN ? AND ?")
            args.extend(finished_between)
        if job_ids is not None:
            job_ids = sorted(job_ids)
            where.append(f"job_id IN ({', '.join('?' * len(job_ids))})" if job_ids else "0")
            args.extend(job_ids)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        total = self.conn.execute(f"SELECT COUNT(*) FROM runs {clause}", args).fetchone()[0]
        column = self.RUN_ORDERS[order_by]
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs {clause} ORDER BY {column} "
            f"{'DESC' if descending else 'ASC'}, id {'DESC' if descending else 'ASC'} "
            "LIMIT ? OFFSET ?", (*args, limit, offset))
        return [self._run(r) for r in rows], total

    def last_success_before(self, job_name: str, run_id: int | None = None,
                            branch: str | None = None) -> Run | None:
        """The job's newest successful run (before run_id, of branch, when given)."""
        row = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE job_name = ? AND id < ? AND status = ? "
            "AND (? IS NULL OR git_branch = ?) ORDER BY id DESC LIMIT 1",
            (job_name, 1 << 62 if run_id is None else run_id, RunStatus.SUCCESS.value,
             branch, branch)).fetchone()
        return None if row is None else self._run(row)

    def latest_runs(self) -> dict[str, Run]:
        """The newest run of each job name."""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id IN "
            "(SELECT MAX(id) FROM runs GROUP BY job_name)")
        return {run.job_name: run for run in map(self._run, rows)}

    def latest_branch_runs(self, job_name: str) -> dict[str, Run]:
        """The newest run of each branch a job ran."""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id IN (SELECT MAX(id) FROM runs "
            "WHERE job_name = ? AND git_branch IS NOT NULL GROUP BY git_branch)", (job_name,))
        return {run.git_branch: run for run in map(self._run, rows)}

    def recent_statuses(self, per_job: int = 10) -> dict[str, list[RunStatus]]:
        """Each job's last runs' statuses, oldest first: the history strip."""
        rows = self.conn.execute(
            "SELECT job_name, status FROM (SELECT job_name, status, id, ROW_NUMBER() OVER "
            "(PARTITION BY job_name ORDER BY id DESC) AS n FROM runs) WHERE n <= ? "
            "ORDER BY id", (per_job,))
        out: dict[str, list[RunStatus]] = {}
        for name, status in rows:
            out.setdefault(name, []).append(RunStatus(status))
        return out

    def run_cause(self, run_id: int) -> str | None:
        row = self.conn.execute("SELECT cause FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else row[0]

    def run_overrides(self, run_id: int) -> dict:
        """What the caller changed of the job for this run (model.Overrides.echo)."""
        row = self.conn.execute("SELECT overrides FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def claim_run(self, run_id: int) -> bool:
        """queued -> starting, only if still queued: two claimers never both win."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, started_at = ? WHERE id = ? AND status = ?",
                (RunStatus.STARTING.value, time.time(), run_id, RunStatus.QUEUED.value))
            return cur.rowcount == 1

    def update_run(self, run_id: int, **fields: Any) -> None:
        allowed = {"status", "git_sha", "git_branch", "error", "run_dir", "started_at",
                   "finished_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not a run field: {unknown}")
        if isinstance(fields.get("status"), RunStatus):
            fields["status"] = fields["status"].value
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as conn:
            conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))

    def finish_run(self, run_id: int, status: RunStatus, error: str | None = None) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                         (status.value, error, time.time(), run_id))

    def last_run_dir(self, job_name: str, before_id: int, branch: str | None = None
                     ) -> str | None:
        """The newest earlier run of a job (of `branch`, when given) that got as far as
        having a run directory."""
        row = self.conn.execute(
            "SELECT run_dir FROM runs WHERE job_name = ? AND id < ? AND run_dir IS NOT NULL "
            "AND (? IS NULL OR git_branch = ?) ORDER BY id DESC LIMIT 1",
            (job_name, before_id, branch, branch)).fetchone()
        return row[0] if row else None

    def queued_runs(self) -> list[tuple[int, str]]:
        """(run id, job name) of every queued run, oldest first."""
        return self.conn.execute(
            "SELECT id, job_name FROM runs WHERE status = ? ORDER BY id",
            (RunStatus.QUEUED.value,)).fetchall()

    def runs_in_flight(self) -> list[Run]:
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE status IN (?, ?) ORDER BY id", IN_FLIGHT)
        return [self._run(r) for r in rows]

    def request_cancel(self, run_id: int, by: str | None = None) -> Run:
        """A queued run is cancelled at once; a run in flight is asked to stop (whoever
        executes it sees the request within a second). `by`: who asked, in words."""
        with self._tx() as conn:
            now = time.time()
            words = "cancelled before it started" + (f" by {by}" if by else "")
            if conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ? AND "
                    "status = ?", (RunStatus.CANCELLED.value, now, words, run_id,
                                   RunStatus.QUEUED.value)).rowcount:
                self._append_system_line(conn, run_id, words, "warn")
            else:
                conn.execute(
                    "UPDATE runs SET cancel_requested = 1, cancel_by = ? WHERE id = ? AND "
                    "status IN (?, ?)", (by, run_id, *IN_FLIGHT))
        return self.get_run(run_id)

    def cancel_requested(self, run_id: int) -> bool:
        row = self.conn.execute("SELECT cancel_requested FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        return bool(row and row[0])

    def cancel_requester(self, run_id: int) -> str | None:
        row = self.conn.execute("SELECT cancel_by FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        return row[0] if row else None

    def fail_orphans(self, reason: str) -> list[int]:
        """Runs left starting/running by an engine that died: error, with the reason in
        their log. Only the lease holder calls this, so none of them is really running."""
        with self._tx() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM runs WHERE status IN (?, ?)", IN_FLIGHT)]
            for run_id in ids:
                conn.execute(
                    "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                    (RunStatus.ERROR.value, reason, time.time(), run_id))
                conn.execute("UPDATE steps SET status = ? WHERE run_id = ? AND status = ?",
                             (RunStatus.ERROR.value, run_id, RunStatus.RUNNING.value))
                self._append_system_line(conn, run_id, reason, "error")
        return ids
