"""Projects and environments (dbt Cloud's grouping of jobs): an id for each distinct dbt
project and for each of its targets, given when a job first names it and never reused
(AUTOINCREMENT) nor removed, so a client that stored an id keeps meaning the same one."""

from __future__ import annotations

import json
import sqlite3
import time

from dbt_console import projects
from dbt_console.errors import NotFound
from dbt_console.jobfields import job_from_spec
from dbt_console.model import Environment, Job, Project
from dbt_console.store.base import StoreBase

PROJECT_COLUMNS = "id, name, source, created_at"
ENVIRONMENT_COLUMNS = "id, project_id, name, target, created_at"


def place_job(conn: sqlite3.Connection, job: Job) -> None:
    """Set the saved job's project and environment, giving either an id if it has none
    yet (in the transaction that saves the job)."""
    source = projects.source_of(job)
    row = conn.execute("SELECT id FROM projects WHERE source = ?", (source,)).fetchone()
    now = time.time()
    if row is None:
        base = name = projects.name_for(job)
        n = 1
        while conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone():
            n += 1
            name = f"{base}-{n}"
        project_id = conn.execute(
            "INSERT INTO projects (name, source, created_at) VALUES (?, ?, ?)",
            (name, source, now)).lastrowid
    else:
        project_id = row[0]
    target = projects.environment_of(job)
    conn.execute("INSERT OR IGNORE INTO environments (project_id, name, target, created_at) "
                 "VALUES (?, ?, ?, ?)",
                 (project_id, projects.environment_name(target), target, now))
    conn.execute("UPDATE jobs SET project_id = ?, environment_id = (SELECT id FROM "
                 "environments WHERE project_id = ? AND target = ?) WHERE name = ?",
                 (project_id, project_id, target, job.name))


def place_existing_jobs(conn: sqlite3.Connection) -> None:
    """Migration: ids for the jobs saved before projects existed."""
    for (spec,) in conn.execute("SELECT spec FROM jobs ORDER BY id").fetchall():
        place_job(conn, job_from_spec(json.loads(spec)))


class ProjectsStore(StoreBase):
    def list_projects(self) -> list[Project]:
        rows = self.conn.execute(f"SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id")
        return [Project(*r) for r in rows]

    def get_project(self, project_id: int) -> Project:
        row = self.conn.execute(f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?",
                                (project_id,)).fetchone()
        if row is None:
            raise NotFound(f"no project with id {project_id}")
        return Project(*row)

    def list_environments(self, project_id: int | None = None) -> list[Environment]:
        rows = self.conn.execute(
            f"SELECT {ENVIRONMENT_COLUMNS} FROM environments "
            "WHERE ? IS NULL OR project_id = ? ORDER BY id", (project_id, project_id))
        return [Environment(*r) for r in rows]

    def get_environment(self, environment_id: int) -> Environment:
        row = self.conn.execute(
            f"SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE id = ?",
            (environment_id,)).fetchone()
        if row is None:
            raise NotFound(f"no environment with id {environment_id}")
        return Environment(*row)

    def job_places(self) -> dict[int, tuple[int, int]]:
        """job id -> (project id, environment id), for every job."""
        rows = self.conn.execute("SELECT id, project_id, environment_id FROM jobs")
        return {job_id: (pid, eid) for job_id, pid, eid in rows}
