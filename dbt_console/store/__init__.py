"""The SQLite run store: the single source of truth and the only channel between processes.

The only module that speaks SQL. A Store wraps one connection and is used by one thread;
a thread that needs the store opens its own (opening is cheap). Every state change is
one transaction, so a reader never sees a half-written run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbt_console.errors import ConflictError, NotFound, UserError
from dbt_console.model import (
    Job,
    LogLine,
    NodeResult,
    Run,
    RunStatus,
    Step,
    job_from_spec,
    job_to_dict,
)
from dbt_console.store import logcodec
from dbt_console.store.schema import migrate

# Compaction merges a finished run's small live chunks into chunks of about this many
# raw bytes: big enough to compress well, small enough to read one page quickly.
COMPACT_CHUNK_BYTES = 256 * 1024

RUN_COLUMNS = ("id, job_id, job_name, status, trigger, actor, queued_at, started_at, "
               "finished_at, git_sha, git_branch, error, run_dir, progress")


class Store:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across a crash of the process; only a power loss can undo
            # the last commits. One fsync per commit would cap log batches needlessly.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{self.path}: cannot open the store: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes when another connection commits: a cheap 'anything new?' check."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    # --- jobs ---------------------------------------------------------------------

    def _job(self, row: Sequence[Any]) -> Job:
        job_id, spec, version = row
        return job_from_spec(json.loads(spec)).with_store_ids(job_id, version)

    def list_jobs(self) -> list[Job]:
        rows = self.conn.execute("SELECT id, spec, version FROM jobs ORDER BY name")
        return [self._job(r) for r in rows]

    def find_job(self, name: str) -> Job | None:
        row = self.conn.execute(
            "SELECT id, spec, version FROM jobs WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._job(row)

    def get_job(self, name: str) -> Job:
        job = self.find_job(name)
        if job is None:
            known = ", ".join(j.name for j in self.list_jobs()) or "none yet"
            raise NotFound(f"no job named {name!r} (jobs: {known})")
        return job

    def _write_job(self, conn: sqlite3.Connection, job: Job) -> None:
        now = time.time()
        spec = json.dumps(job_to_dict(job), sort_keys=True)
        conn.execute(
            """INSERT INTO jobs (name, spec, enabled, version, created_at, updated_at)
               VALUES (?, ?, ?, 1, ?, ?)
               ON CONFLICT(name) DO UPDATE SET spec = excluded.spec,
                   enabled = excluded.enabled, version = version + 1,
                   updated_at = excluded.updated_at""",
            (job.name, spec, int(job.enabled), now, now))

    def save_jobs(self, jobs: Iterable[Job]) -> None:
        """Create or replace jobs by name, all or none."""
        jobs = list(jobs)
        names = [j.name for j in jobs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise UserError(f"job names must be unique; given more than once: {', '.join(dupes)}")
        with self._tx() as conn:
            for job in jobs:
                self._write_job(conn, job)

    def create_job(self, job: Job) -> Job:
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE name = ?", (job.name,)).fetchone():
                raise UserError(f"job {job.name!r}: name: a job with this name already exists")
            self._write_job(conn, job)
        return self.get_job(job.name)

    def update_job(self, job: Job, previous_name: str, expected_version: int) -> Job:
        """Save an edited job, refusing when someone else saved it since it was read."""
        with self._tx() as conn:
            row = conn.execute("SELECT id, version FROM jobs WHERE name = ?",
                               (previous_name,)).fetchone()
            if row is None:
                raise ConflictError(f"job {previous_name!r} was deleted by someone else")
            if row[1] != expected_version:
                raise ConflictError(
                    f"job {previous_name!r} was changed by someone else since you opened it; "
                    "reopen it to see their change")
            if job.name != previous_name and conn.execute(
                    "SELECT 1 FROM jobs WHERE name = ?", (job.name,)).fetchone():
                raise UserError(f"job {job.name!r}: name: a job with this name already exists")
            spec = json.dumps(job_to_dict(job), sort_keys=True)
            conn.execute(
                "UPDATE jobs SET name = ?, spec = ?, enabled = ?, version = version + 1, "
                "updated_at = ? WHERE id = ?",
                (job.name, spec, int(job.enabled), time.time(), row[0]))
        return self.get_job(job.name)

    def delete_job(self, name: str) -> None:
        """Delete a job; its past runs stay, under the job's name."""
        with self._tx() as conn:
            if conn.execute("DELETE FROM jobs WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no job named {name!r}")

    # --- runs ---------------------------------------------------------------------

    def _run(self, row: Sequence[Any]) -> Run:
        (run_id, job_id, job_name, status, trigger, actor, queued_at, started_at,
         finished_at, git_sha, git_branch, error, run_dir, progress) = row
        return Run(run_id, job_id, job_name, RunStatus(status), trigger, actor, queued_at,
                   started_at, finished_at, git_sha, git_branch, error, run_dir,
                   json.loads(progress) if progress else {})

    def enqueue_run(self, job: Job, trigger: str, actor: str) -> Run:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO runs (job_id, job_name, spec, status, trigger, actor, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job.id, job.name, json.dumps(job_to_dict(job)), RunStatus.QUEUED.value,
                 trigger, actor, time.time()))
            run_id = cur.lastrowid
        return self.get_run(run_id)

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
                  before_id: int | None = None) -> list[Run]:
        """Newest first, a page at a time: pass the last id seen as before_id."""
        where, args = [], []
        if job_name is not None:
            where.append("job_name = ?")
            args.append(job_name)
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs {clause} ORDER BY id DESC LIMIT ?",
            (*args, limit))
        return [self._run(r) for r in rows]

    def latest_runs(self) -> dict[str, Run]:
        """The newest run of each job name."""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id IN "
            "(SELECT MAX(id) FROM runs GROUP BY job_name)")
        return {run.job_name: run for run in map(self._run, rows)}

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

    def last_run_dir(self, job_name: str, before_id: int) -> str | None:
        """The newest earlier run of a job that got as far as having a run directory."""
        row = self.conn.execute(
            "SELECT run_dir FROM runs WHERE job_name = ? AND id < ? AND run_dir IS NOT NULL "
            "ORDER BY id DESC LIMIT 1", (job_name, before_id)).fetchone()
        return row[0] if row else None

    # --- steps and node results ----------------------------------------------------

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

    # --- logs ---------------------------------------------------------------------

    def append_log(self, run_id: int, first_seq: int, rows: list[logcodec.Row],
                   progress: dict[str, Any] | None = None) -> None:
        """One batch of lines (and the live progress they imply) in one transaction."""
        blob = logcodec.encode(rows)
        with self._tx() as conn:
            conn.execute("INSERT INTO log_chunks VALUES (?, ?, ?, ?)",
                         (run_id, first_seq, len(rows), blob))
            if progress is None:
                conn.execute("UPDATE runs SET log_lines = ? WHERE id = ?",
                             (first_seq + len(rows), run_id))
            else:
                conn.execute("UPDATE runs SET log_lines = ?, progress = ? WHERE id = ?",
                             (first_seq + len(rows), json.dumps(progress), run_id))

    def log_line_count(self, run_id: int) -> int:
        row = self.conn.execute("SELECT log_lines FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row[0] if row else 0

    def read_log(self, run_id: int, start: int = 0, limit: int | None = None) -> list[LogLine]:
        """Lines start..start+limit (all from start when limit is None), in order."""
        end = None if limit is None else start + limit
        rows = self.conn.execute(
            "SELECT first_seq, data FROM log_chunks WHERE run_id = ? AND first_seq + n > ? "
            + ("AND first_seq < ? " if end is not None else "") + "ORDER BY first_seq",
            (run_id, start) if end is None else (run_id, start, end))
        out: list[LogLine] = []
        for first_seq, blob in rows:
            for line in logcodec.decode(first_seq, blob):
                if line.seq >= start and (end is None or line.seq < end):
                    out.append(line)
        return out

    def iter_log(self, run_id: int, batch: int = 20_000) -> Iterator[LogLine]:
        start = 0
        while True:
            lines = self.read_log(run_id, start, batch)
            if not lines:
                return
            yield from lines
            start = lines[-1].seq + 1

    def search_log(self, run_id: int, text: str, limit: int = 1000) -> list[LogLine]:
        needle = text.lower()
        found = []
        for line in self.iter_log(run_id):
            if needle in line.msg.lower():
                found.append(line)
                if len(found) >= limit:
                    break
        return found

    def compact_log(self, run_id: int) -> None:
        """Merge a finished run's live chunks into few large ones, compressed harder."""
        chunks = self.conn.execute(
            "SELECT first_seq, data FROM log_chunks WHERE run_id = ? ORDER BY first_seq",
            (run_id,)).fetchall()
        if len(chunks) < 2:
            return
        # Sequence numbers are contiguous within a run, so only the first one is needed.
        merged: list[tuple[int, bytes, int]] = []
        rows: list = []
        first, size = chunks[0][0], 0
        for _, blob in chunks:
            for row in logcodec.decode_rows(blob):
                rows.append(row)
                size += len(row[6]) + 64
                if size >= COMPACT_CHUNK_BYTES:
                    merged.append((first, logcodec.encode(rows, logcodec.SMALL), len(rows)))
                    first, rows, size = first + len(rows), [], 0
        if rows:
            merged.append((first, logcodec.encode(rows, logcodec.SMALL), len(rows)))
        with self._tx() as conn:
            conn.execute("DELETE FROM log_chunks WHERE run_id = ?", (run_id,))
            conn.executemany("INSERT INTO log_chunks VALUES (?, ?, ?, ?)",
                             [(run_id, f, n, blob) for f, blob, n in merged])
