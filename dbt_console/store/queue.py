"""Putting runs in the queue. Every way a run is asked for (a person, a schedule fire, a
push, a CI branch head, a finished upstream run) comes through _enqueue, which asks
queueing.merge_target whether it joins a run already waiting, in the same transaction."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence

from dbt_console import queueing
from dbt_console.jobfields import job_to_dict
from dbt_console.model import Job, Run, RunStatus, Trigger
from dbt_console.store.base import StoreBase

MARK_FIRE = ("INSERT INTO schedule_marks VALUES (?, ?) ON CONFLICT(job_name) DO UPDATE "
             "SET last_fire_at = MAX(last_fire_at, excluded.last_fire_at)")


class QueueStore(StoreBase):
    def _enqueue(self, conn: sqlite3.Connection, job_id: int | None, job_name: str, spec: str,
                 trigger: Trigger, actor: str, branch: str | None = None,
                 sha: str | None = None, cause: str | None = None,
                 overrides: str | None = None) -> int:
        waiting = [queueing.Waiting(run_id, Trigger.parse(text)) for run_id, text in
                   conn.execute("SELECT id, trigger FROM runs WHERE job_name = ? AND "
                                "status = ?", (job_name, RunStatus.QUEUED.value))]
        target = queueing.merge_target(trigger, waiting)
        if target is not None:  # the waiting run becomes this request's
            conn.execute("UPDATE runs SET trigger = ?, actor = ?, git_branch = ?, git_sha = ?, "
                         "spec = ?, cause = ?, overrides = ? WHERE id = ?",
                         (str(trigger), actor, branch, sha, spec, cause, overrides, target))
            return target
        run_id = conn.execute(
            "INSERT INTO runs (job_id, job_name, spec, status, trigger, actor, queued_at, "
            "git_branch, git_sha, cause, overrides) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, job_name, spec, RunStatus.QUEUED.value, str(trigger), actor,
             time.time(), branch, sha, cause, overrides)).lastrowid
        return run_id

    def enqueue_run(self, job: Job, trigger: Trigger, actor: str, git_branch: str | None = None,
                    git_sha: str | None = None, cause: str | None = None,
                    overrides: dict | None = None) -> Run:
        """Queue a run (or join the one waiting that queueing.merge_target names). A branch
        (and sha) given here is what the run checks out instead of the job's own branch
        head: CI runs, and runs asked for a branch."""
        with self._tx() as conn:
            run_id = self._enqueue(conn, job.id, job.name, json.dumps(job_to_dict(job)),
                                   trigger, actor, git_branch, git_sha, cause,
                                   json.dumps(overrides) if overrides else None)
            if job.ci is not None and git_branch is not None:
                self._note_ci_branch(conn, job.name, git_branch, git_sha)
        return self.get_run(run_id)

    def _enabled_job(self, conn: sqlite3.Connection, name: str) -> tuple[int, str] | None:
        return conn.execute("SELECT id, spec FROM jobs WHERE name = ? AND enabled = 1",
                            (name,)).fetchone()

    def enqueue_fires(self, fires: Sequence[tuple[str, float]], trigger: Trigger,
                      actor: str) -> list[int]:
        """Queue scheduled runs, one transaction for a whole batch of fires."""
        queued: list[int] = []
        with self._tx() as conn:
            conn.executemany(MARK_FIRE, fires)
            enabled = {name for (name,) in conn.execute("SELECT name FROM jobs WHERE enabled = 1")}
            for name in queueing.fires_to_queue(fires, enabled):
                job_id, spec = self._enabled_job(conn, name)
                queued.append(self._enqueue(conn, job_id, name, spec, trigger, actor))
            self._audit_queued(conn, queued, actor, "schedule")
        return queued

    def record_push(self, job_name: str, sha: str, actor: str) -> int | None:
        """The job's branch head is now `sha`: a run when it moved (queueing.push_is_due).
        Returns the queued (or joined) run's id, or None."""
        with self._tx() as conn:
            row = conn.execute("SELECT sha FROM push_marks WHERE job_name = ?",
                               (job_name,)).fetchone()
            conn.execute("INSERT OR REPLACE INTO push_marks VALUES (?, ?, ?)",
                         (job_name, sha, time.time()))
            job = self._enabled_job(conn, job_name)
            if job is None or not queueing.push_is_due(row and row[0], sha):
                return None
            run_id = self._enqueue(conn, job[0], job_name, job[1], Trigger.push(sha), actor)
            self._audit_queued(conn, [run_id], actor, "push")
            return run_id

    def record_ci_heads(self, job_name: str, heads: dict[str, str], actor: str) -> list[int]:
        """A CI job's matching branches and their heads, as the remote has them now: runs
        as queueing.ci_heads decides, branches gone marked. Returns the runs queued or
        joined."""
        now = time.time()
        with self._tx() as conn:
            first = conn.execute("INSERT OR IGNORE INTO ci_watch VALUES (?, ?)",
                                 (job_name, now)).rowcount == 1
            known = {b: (sha, gone) for b, sha, gone in conn.execute(
                "SELECT branch, sha, gone_at FROM ci_branches WHERE job_name = ?", (job_name,))}
            decision = queueing.ci_heads(known, heads, first)
            for branch, sha in sorted(heads.items()):
                self._note_ci_branch(conn, job_name, branch, sha)
            job = self._enabled_job(conn, job_name)
            queued = [] if job is None else [
                self._enqueue(conn, job[0], job_name, job[1], Trigger.ci(branch, sha), actor,
                              branch, sha) for branch, sha in decision.run]
            conn.executemany("UPDATE ci_branches SET gone_at = ? WHERE job_name = ? AND "
                             "branch = ?", [(now, job_name, b) for b in decision.gone])
            self._audit_queued(conn, queued, actor, "push")
        return queued

    def chained_after(self, job_name: str) -> list[Job]:
        """The enabled jobs whose `after` names job_name (queueing.downstream decides which
        of them a run sets off)."""
        rows = self.conn.execute(  # only the jobs chained to this one, not every spec
            "SELECT id, spec, version FROM jobs WHERE enabled = 1 AND "
            "json_extract(spec, '$.after') = ?", (job_name,))
        return [self._job(row) for row in rows.fetchall()]

    @staticmethod
    def _audit_queued(conn: sqlite3.Connection, run_ids: list[int], actor: str,
                      via: str) -> None:
        """The audit rows of runs the engine queued on its own (a fire, a push), in the
        transaction that queued them."""
        if run_ids:
            conn.execute(
                "INSERT INTO audit (at, actor, kind, via, action, job, target, detail, "
                "outcome) SELECT ?, ?, 'engine', ?, 'runs.run_now', job_name, 'run ' || id "
                f"|| ' (' || trigger || ')', '', 'done' FROM runs WHERE id IN "
                f"({', '.join('?' * len(run_ids))})", (time.time(), actor, via, *run_ids))

    def schedule_marks(self) -> dict[str, float]:
        """Per job, the time up to which its schedule has been dealt with: its newest fire,
        else when the job was last saved (nothing before that was ever due)."""
        return dict(self.conn.execute(
            "SELECT j.name, COALESCE(m.last_fire_at, j.updated_at) FROM jobs j "
            "LEFT JOIN schedule_marks m ON m.job_name = j.name"))

    def mark_schedules(self, marks: dict[str, float]) -> None:
        with self._tx() as conn:
            conn.executemany(MARK_FIRE, list(marks.items()))
