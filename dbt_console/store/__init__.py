"""The SQLite run store: the single source of truth and the only channel between processes.

The only module that speaks SQL. A Store wraps one connection and is used by one thread;
a thread that needs the store opens its own (opening is cheap). Every state change is
one transaction, so a reader never sees a half-written run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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

IN_FLIGHT = (RunStatus.STARTING.value, RunStatus.RUNNING.value)


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


@dataclass(frozen=True)
class CiBranch:
    branch: str
    sha: str
    seen_at: float
    gone_at: float | None
    dropped_at: float | None


@dataclass(frozen=True)
class EngineEvent:
    at: float
    kind: str
    job_name: str | None
    detail: str


@dataclass(frozen=True)
class Delivery:
    id: int
    run_id: int
    job_name: str
    hook_index: int
    hook_type: str
    target: str
    event: str
    status: str
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    request_body: str
    response_body: str | None
    created_at: float
    finished_at: float | None


DELIVERY_COLUMNS = ("id, run_id, job_name, hook_index, hook_type, target, event, status, "
                    "attempts, next_attempt_at, last_status_code, last_error, request_body, "
                    "response_body, created_at, finished_at")

RUN_COLUMNS = ("id, job_id, job_name, status, trigger, actor, queued_at, started_at, "
               "finished_at, git_sha, git_branch, error, run_dir, progress")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"


class Store:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        try:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            if new:
                # Job specs can hold secret values: the store is for its owner and their
                # group (teammates), never for everyone on the machine. SQLite gives its
                # -wal and -shm files the same mode.
                self.path.chmod(0o660)
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
            if job.name != previous_name:  # a job's runs follow it when it is renamed
                conn.execute("UPDATE runs SET job_name = ? WHERE job_id = ?",
                             (job.name, row[0]))
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

    def enqueue_run(self, job: Job, trigger: str, actor: str, git_branch: str | None = None,
                    git_sha: str | None = None, cause: str | None = None) -> Run:
        """Queue a run. A branch (and sha) given here is what the run checks out instead of
        the job's own branch head: CI runs, and runs asked for a branch."""
        with self._tx() as conn:
            run_id = self._insert_run(conn, job.id, job.name, json.dumps(job_to_dict(job)),
                                      trigger, actor, git_branch, git_sha)
            if cause is not None:
                conn.execute("UPDATE runs SET cause = ? WHERE id = ?", (cause, run_id))
            if job.ci is not None and git_branch is not None:
                self._note_ci_branch(conn, job.name, git_branch, git_sha)
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
            args.append(_like_prefix(trigger))
        if text:
            where.append("(job_name || ' ' || trigger || ' ' || actor || ' ' || "
                         "COALESCE(git_branch, '') || ' ' || COALESCE(git_sha, '') || ' ' || "
                         "COALESCE(error, '')) LIKE ? ESCAPE '\\'")
            args.append("%" + _like_escape(text) + "%")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs {clause} ORDER BY id DESC LIMIT ?",
            (*args, limit))
        return [self._run(r) for r in rows]

    RUN_ORDERS = {"id": "id", "created_at": "queued_at", "finished_at": "finished_at"}

    def query_runs(self, job_id: int | None = None, statuses: Sequence[str] = (),
                   order_by: str = "id", descending: bool = False, limit: int = 100,
                   offset: int = 0, finished_between: tuple[float, float] | None = None
                   ) -> tuple[list[Run], int]:
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

    # --- the engine: lease, queue, cancel, schedules ---------------------------------

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
            conn.execute("INSERT OR REPLACE INTO engine_lease VALUES (1, ?, ?, ?, ?, ?, ?)",
                         (lease.host, lease.pid, lease.token, lease.kind, lease.started_at,
                          time.time()))
        return None

    def heartbeat(self, token: str) -> bool:
        """Renew the lease; False when it is no longer ours."""
        with self._tx() as conn:
            return conn.execute("UPDATE engine_lease SET heartbeat_at = ? WHERE token = ?",
                                (time.time(), token)).rowcount == 1

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

    def queued_runs(self) -> list[tuple[int, str]]:
        """(run id, job name) of every queued run, oldest first."""
        return self.conn.execute(
            "SELECT id, job_name FROM runs WHERE status = ? ORDER BY id",
            (RunStatus.QUEUED.value,)).fetchall()

    def runs_in_flight(self) -> list[Run]:
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE status IN (?, ?) ORDER BY id", IN_FLIGHT)
        return [self._run(r) for r in rows]

    def request_cancel(self, run_id: int) -> Run:
        """A queued run is cancelled at once; a run in flight is asked to stop (whoever
        executes it sees the request within a second)."""
        with self._tx() as conn:
            now = time.time()
            if conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = ?",
                    (RunStatus.CANCELLED.value, now, run_id, RunStatus.QUEUED.value)).rowcount:
                self._append_system_line(conn, run_id, "cancelled before it started", "warn")
            else:
                conn.execute(
                    "UPDATE runs SET cancel_requested = 1 WHERE id = ? AND status IN (?, ?)",
                    (run_id, *IN_FLIGHT))
        return self.get_run(run_id)

    def cancel_requested(self, run_id: int) -> bool:
        row = self.conn.execute("SELECT cancel_requested FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        return bool(row and row[0])

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

    def _append_system_line(self, conn: sqlite3.Connection, run_id: int, msg: str,
                            level: str) -> None:
        from dbt_console.model import SYSTEM_EVENT

        seq = conn.execute("SELECT log_lines FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"
        conn.execute("INSERT INTO log_chunks VALUES (?, ?, 1, ?)",
                     (run_id, seq, logcodec.encode([(stamp, level, 0, SYSTEM_EVENT, None,
                                                     None, msg)])))
        conn.execute("UPDATE runs SET log_lines = ? WHERE id = ?", (seq + 1, run_id))

    def enqueue_fires(self, fires: Sequence[tuple[str, float]], trigger: str,
                      actor: str) -> list[int]:
        """Queue scheduled runs, one transaction for a whole batch of fires. A job that
        already has a run of this trigger waiting gets no second one (an over-scheduled
        job keeps one waiting run); a job paused or deleted since is skipped."""
        queued: list[int] = []
        with self._tx() as conn:
            for job_name, fire_at in fires:
                conn.execute(
                    "INSERT INTO schedule_marks VALUES (?, ?) ON CONFLICT(job_name) DO UPDATE "
                    "SET last_fire_at = MAX(last_fire_at, excluded.last_fire_at)",
                    (job_name, fire_at))
                row = conn.execute("SELECT id, spec FROM jobs WHERE name = ? AND enabled = 1",
                                   (job_name,)).fetchone()
                if row is None or conn.execute(
                        "SELECT 1 FROM runs WHERE job_name = ? AND status = ? AND trigger = ?",
                        (job_name, RunStatus.QUEUED.value, trigger)).fetchone():
                    continue
                queued.append(self._insert_run(conn, row[0], job_name, row[1], trigger, actor))
        return queued

    @staticmethod
    def _insert_run(conn: sqlite3.Connection, job_id: int | None, job_name: str, spec: str,
                    trigger: str, actor: str, git_branch: str | None = None,
                    git_sha: str | None = None) -> int:
        return conn.execute(
            "INSERT INTO runs (job_id, job_name, spec, status, trigger, actor, queued_at, "
            "git_branch, git_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, job_name, spec, RunStatus.QUEUED.value, trigger, actor,
             time.time(), git_branch, git_sha)).lastrowid

    # --- continuous integration ------------------------------------------------------

    @staticmethod
    def _note_ci_branch(conn: sqlite3.Connection, job_name: str, branch: str,
                        sha: str | None) -> None:
        conn.execute(
            "INSERT INTO ci_branches (job_name, branch, sha, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(job_name, branch) DO UPDATE SET sha = CASE excluded.sha WHEN '' "
            "THEN sha ELSE excluded.sha END, seen_at = excluded.seen_at, gone_at = NULL, "
            "dropped_at = NULL", (job_name, branch, sha or "", time.time()))

    def record_ci_heads(self, job_name: str, heads: dict[str, str], actor: str) -> list[int]:
        """A CI job's matching branches and their heads, as the remote has them now. A new
        branch or a moved head queues a run (trigger ci:<branch>@<sha>), or makes a run of
        that branch still waiting the newest head's; branches gone from the remote are
        marked gone. The job's first poll only marks: old branches run when they next
        move, or when asked for. Returns the ids of runs queued or updated."""
        from dbt_console import ci

        now = time.time()
        queued: list[int] = []
        with self._tx() as conn:
            first = conn.execute("INSERT OR IGNORE INTO ci_watch VALUES (?, ?)",
                                 (job_name, now)).rowcount == 1
            known = {b: (sha, gone) for b, sha, gone in conn.execute(
                "SELECT branch, sha, gone_at FROM ci_branches WHERE job_name = ?", (job_name,))}
            job = conn.execute("SELECT id, spec FROM jobs WHERE name = ? AND enabled = 1",
                               (job_name,)).fetchone()
            for branch, sha in sorted(heads.items()):
                before = known.get(branch)
                self._note_ci_branch(conn, job_name, branch, sha)
                if first or job is None or before == (sha, None):
                    continue
                waiting = conn.execute(
                    "SELECT id FROM runs WHERE job_name = ? AND status = ? AND trigger "
                    "LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT 1",
                    (job_name, RunStatus.QUEUED.value,
                     _like_prefix(f"ci:{branch}@"))).fetchone()
                if waiting is not None:
                    conn.execute("UPDATE runs SET trigger = ?, git_sha = ?, spec = ? "
                                 "WHERE id = ?", (ci.trigger(branch, sha), sha, job[1],
                                                  waiting[0]))
                    queued.append(waiting[0])
                else:
                    queued.append(self._insert_run(conn, job[0], job_name, job[1],
                                                   ci.trigger(branch, sha), actor, branch, sha))
            for branch, (_, gone) in known.items():
                if branch not in heads and gone is None:
                    conn.execute("UPDATE ci_branches SET gone_at = ? WHERE job_name = ? AND "
                                 "branch = ?", (now, job_name, branch))
        return queued

    def ci_branches(self, job_name: str) -> list[CiBranch]:
        return [CiBranch(*row) for row in self.conn.execute(
            "SELECT branch, sha, seen_at, gone_at, dropped_at FROM ci_branches "
            "WHERE job_name = ? ORDER BY branch", (job_name,))]

    # --- API tokens ---------------------------------------------------------------------

    def create_token(self, name: str, token_hash: str, created_by: str) -> None:
        with self._tx() as conn:
            row = conn.execute("SELECT revoked_at FROM api_tokens WHERE name = ?",
                               (name,)).fetchone()
            if row is not None and row[0] is None:
                raise UserError(f"a token named {name!r} exists; revoke it first "
                                f"(dbt-console tokens revoke {name})")
            conn.execute("INSERT OR REPLACE INTO api_tokens (name, hash, created_at, "
                         "created_by) VALUES (?, ?, ?, ?)",
                         (name, token_hash, time.time(), created_by))

    def token_name(self, token_hash: str) -> str | None:
        """The name of the live token with this hash, or None."""
        row = self.conn.execute("SELECT name FROM api_tokens WHERE hash = ? AND revoked_at "
                                "IS NULL", (token_hash,)).fetchone()
        return None if row is None else row[0]

    def list_tokens(self) -> list[tuple[str, float, str, float | None, float | None]]:
        """(name, created_at, created_by, last_used_at, revoked_at), by name."""
        return self.conn.execute("SELECT name, created_at, created_by, last_used_at, "
                                 "revoked_at FROM api_tokens ORDER BY name").fetchall()

    def revoke_token(self, name: str) -> None:
        with self._tx() as conn:
            if not conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND "
                                "revoked_at IS NULL", (time.time(), name)).rowcount:
                raise NotFound(f"no live token named {name!r} (see dbt-console tokens list)")

    def run_cause(self, run_id: int) -> str | None:
        row = self.conn.execute("SELECT cause FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else row[0]

    def mark_ci_gone(self, job_name: str, branches: Iterable[str]) -> None:
        with self._tx() as conn:
            conn.executemany("UPDATE ci_branches SET gone_at = COALESCE(gone_at, ?) "
                             "WHERE job_name = ? AND branch = ?",
                             [(time.time(), job_name, b) for b in branches])

    def mark_ci_dropped(self, job_name: str, branch: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE ci_branches SET dropped_at = ? WHERE job_name = ? AND "
                         "branch = ?", (time.time(), job_name, branch))

    def latest_branch_runs(self, job_name: str) -> dict[str, Run]:
        """The newest run of each branch a job ran."""
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE id IN (SELECT MAX(id) FROM runs "
            "WHERE job_name = ? AND git_branch IS NOT NULL GROUP BY git_branch)", (job_name,))
        return {run.git_branch: run for run in map(self._run, rows)}

    def record_push(self, job_name: str, sha: str, actor: str) -> int | None:
        """The job's branch head is now `sha`. The first sight only marks it; a move
        queues a run with trigger push:<sha>, or, when one is already waiting, makes that
        one the newest head's (pushes during a run coalesce into one run). Returns the
        queued run's id, or None when nothing was queued."""
        with self._tx() as conn:
            row = conn.execute("SELECT sha FROM push_marks WHERE job_name = ?",
                               (job_name,)).fetchone()
            conn.execute("INSERT OR REPLACE INTO push_marks VALUES (?, ?, ?)",
                         (job_name, sha, time.time()))
            if row is None or row[0] == sha:
                return None
            job = conn.execute("SELECT id, spec FROM jobs WHERE name = ? AND enabled = 1",
                               (job_name,)).fetchone()
            if job is None:
                return None
            waiting = conn.execute(
                "SELECT id FROM runs WHERE job_name = ? AND status = ? AND trigger LIKE "
                "'push:%' ORDER BY id DESC LIMIT 1",
                (job_name, RunStatus.QUEUED.value)).fetchone()
            if waiting is not None:
                conn.execute("UPDATE runs SET trigger = ?, spec = ? WHERE id = ?",
                             (f"push:{sha}", job[1], waiting[0]))
                return waiting[0]
            return self._insert_run(conn, job[0], job_name, job[1], f"push:{sha}", actor)

    def schedule_marks(self) -> dict[str, float]:
        """Per job, the time up to which its schedule has been dealt with: its newest fire,
        else when the job was last saved (nothing before that was ever due)."""
        return dict(self.conn.execute(
            "SELECT j.name, COALESCE(m.last_fire_at, j.updated_at) FROM jobs j "
            "LEFT JOIN schedule_marks m ON m.job_name = j.name"))

    def mark_schedules(self, marks: dict[str, float]) -> None:
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO schedule_marks VALUES (?, ?) ON CONFLICT(job_name) DO UPDATE "
                "SET last_fire_at = MAX(last_fire_at, excluded.last_fire_at)",
                list(marks.items()))

    def enqueue_downstream(self, run: Run) -> list[Run]:
        """Queue the jobs that run after this run's job, when its status is one they wait
        for. The trigger names the upstream run: job:NAME#ID."""
        rows = self.conn.execute(  # only the jobs chained to this one, not every spec
            "SELECT id, spec, version FROM jobs WHERE enabled = 1 AND "
            "json_extract(spec, '$.after') = ?", (run.job_name,))
        return [self.enqueue_run(job, f"job:{run.job_name}#{run.id}", "engine")
                for job in map(self._job, rows.fetchall())
                if run.status.value in job.after_statuses]

    def set_job_enabled(self, name: str, enabled: bool) -> Job:
        from dataclasses import replace

        job = self.get_job(name)
        return self.update_job(replace(job, enabled=enabled), name, job.version)

    def record_event(self, kind: str, job_name: str | None, detail: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO engine_events (at, kind, job_name, detail) "
                         "VALUES (?, ?, ?, ?)", (time.time(), kind, job_name, detail))

    def recent_events(self, limit: int = 10) -> list[EngineEvent]:
        rows = self.conn.execute(
            "SELECT at, kind, job_name, detail FROM engine_events ORDER BY id DESC LIMIT ?",
            (limit,))
        return [EngineEvent(*r) for r in rows]

    def jobs_fingerprint(self) -> tuple:
        """Changes whenever a job is created, edited, paused or deleted."""
        return self.conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(updated_at), 0), COALESCE(SUM(version), 0) "
            "FROM jobs").fetchone()

    # --- notification deliveries ---------------------------------------------------

    def add_deliveries(self, rows: Sequence[tuple[int, str, int, str, str, str, str]]) -> None:
        """(run_id, job_name, hook_index, hook_type, target, event, body): due at once."""
        now = time.time()
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO deliveries (run_id, job_name, hook_index, hook_type, target, "
                "event, status, next_attempt_at, request_body, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                [(*r[:6], now, r[6], now) for r in rows])

    def due_deliveries(self, run_id: int | None = None, limit: int = 20) -> list[Delivery]:
        where = "status = 'pending' AND next_attempt_at <= ?"
        args: list[Any] = [time.time()]
        if run_id is not None:
            where += " AND run_id = ?"
            args.append(run_id)
        rows = self.conn.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {where} "
            "ORDER BY next_attempt_at, id LIMIT ?", (*args, limit))
        return [Delivery(*r) for r in rows]

    def record_attempt(self, delivery_id: int, delivered: bool, status_code: int | None,
                       error: str | None, response: str | None,
                       retry_at: float | None) -> None:
        """One attempt's outcome: delivered, retried at retry_at, or failed for good."""
        status = "delivered" if delivered else "pending" if retry_at is not None else "failed"
        with self._tx() as conn:
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, "
                "next_attempt_at = ?, last_status_code = ?, last_error = ?, "
                "response_body = ?, finished_at = ? WHERE id = ?",
                (status, retry_at, status_code, error, response,
                 None if status == "pending" else time.time(), delivery_id))

    def list_deliveries(self, run_id: int | None = None, failed_only: bool = False,
                        limit: int = 50) -> list[Delivery]:
        where, args = [], []
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if failed_only:
            where.append("status = 'failed'")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries {clause} ORDER BY id DESC LIMIT ?",
            (*args, limit))
        return [Delivery(*r) for r in rows]

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
