"""Jobs: their specs (as JSON of jobfields.job_to_dict), versions for safe edits."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from dbt_console.errors import ConflictError, NotFound, UserError
from dbt_console.jobfields import job_from_spec, job_to_dict
from dbt_console.model import Job
from dbt_console.store.base import StoreBase
from dbt_console.store.projects import place_job

_PARSED: dict[tuple[int, int, str], Job] = {}
_PARSED_MAX = 10_000


class JobsStore(StoreBase):
    def _job(self, row: Sequence[Any]) -> Job:
        job_id, spec, version = row
        # Jobs are immutable and rarely change: a long-lived reader (the engine's socket,
        # a dashboard) lists the same ones many times a second.
        key = (job_id, version, spec)
        job = _PARSED.get(key)
        if job is None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            job = _PARSED[key] = job_from_spec(json.loads(spec)).with_store_ids(job_id, version)
        return job

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
        # A new job's id is past every id a job ever had (id_marks), never a deleted
        # job's: an API client holding that id must not trigger another job.
        conn.execute(
            """INSERT INTO jobs (id, name, spec, enabled, version, created_at, updated_at)
               VALUES ((SELECT MAX(last_id, COALESCE((SELECT MAX(id) FROM jobs), 0)) + 1
                        FROM id_marks WHERE tbl = 'jobs'), ?, ?, ?, 1, ?, ?)
               ON CONFLICT(name) DO UPDATE SET spec = excluded.spec,
                   enabled = excluded.enabled, version = version + 1,
                   updated_at = excluded.updated_at""",
            (job.name, spec, int(job.enabled), now, now))
        place_job(conn, job)

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
            place_job(conn, job)
            if job.name != previous_name:  # a job's runs follow it when it is renamed
                conn.execute("UPDATE runs SET job_name = ? WHERE job_id = ?",
                             (job.name, row[0]))
        return self.get_job(job.name)

    def delete_job(self, name: str) -> None:
        """Delete a job; its past runs stay, under the job's name."""
        with self._tx() as conn:
            if conn.execute("DELETE FROM jobs WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no job named {name!r}")

    def set_job_enabled(self, name: str, enabled: bool) -> Job:

        job = self.get_job(name)
        return self.update_job(replace(job, enabled=enabled), name, job.version)

    def jobs_fingerprint(self) -> tuple:
        """Changes whenever a job is created, edited, paused or deleted."""
        return self.conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(updated_at), 0), COALESCE(SUM(version), 0) "
            "FROM jobs").fetchone()
