"""The store's schema, as forward migrations. `PRAGMA user_version` is the applied count.

What they add up to is checked in as store/schema.sql (`dbt-console store schema`
prints it; tests/test_schema.py compares), so a migration shows as a diff there. Only an
engine, as it starts and holds the lease, or `dbt-console store migrate` migrates: any
other process refuses an older store in one line and writes nothing.
"""

from __future__ import annotations

import sqlite3

from dbt_console.errors import UserError


def _place_existing_jobs(conn: sqlite3.Connection) -> None:
    from dbt_console.store.projects import place_existing_jobs  # it needs this module

    place_existing_jobs(conn)


MIGRATIONS: list = [
    # 1: jobs, runs, steps, node results, compressed log chunks.
    """
    CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        spec        TEXT NOT NULL,            -- the job as JSON (jobfields.job_to_dict)
        enabled     INTEGER NOT NULL,
        version     INTEGER NOT NULL,         -- bumped on every save: edit conflicts
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        job_id      INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
        job_name    TEXT NOT NULL,
        spec        TEXT NOT NULL,            -- the job as it was when the run was queued
        status      TEXT NOT NULL,
        trigger     TEXT NOT NULL,
        actor       TEXT NOT NULL,
        queued_at   REAL NOT NULL,
        started_at  REAL,
        finished_at REAL,
        git_sha     TEXT,
        git_branch  TEXT,
        error       TEXT,
        run_dir     TEXT,
        progress    TEXT,                     -- live node progress as JSON
        log_lines   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_job ON runs(job_id, id);
    CREATE INDEX runs_by_status ON runs(status, id);
    CREATE TABLE steps (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        command     TEXT NOT NULL,
        status      TEXT NOT NULL,
        exit_code   INTEGER,
        started_at  REAL,
        finished_at REAL,
        PRIMARY KEY (run_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE node_results (
        run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step           INTEGER NOT NULL,
        unique_id      TEXT NOT NULL,
        resource_type  TEXT NOT NULL,
        status         TEXT NOT NULL,
        message        TEXT,
        failures       INTEGER,
        execution_time REAL,
        started_at     TEXT,
        finished_at    TEXT,
        thread         TEXT,
        compiled_path  TEXT,
        PRIMARY KEY (run_id, step, unique_id)
    ) WITHOUT ROWID;
    CREATE TABLE log_chunks (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        first_seq   INTEGER NOT NULL,
        n           INTEGER NOT NULL,
        data        BLOB NOT NULL,           -- logcodec.encode(lines)
        PRIMARY KEY (run_id, first_seq)
    ) WITHOUT ROWID;
    """,
    # 2: the engine: its lease, cancel requests, schedule bookkeeping, what it did.
    """
    CREATE TABLE engine_lease (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        token        TEXT NOT NULL,
        kind         TEXT NOT NULL,           -- serve | run --wait | tui
        started_at   REAL NOT NULL,
        heartbeat_at REAL NOT NULL
    );
    ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE steps ADD COLUMN pid INTEGER;  -- the step's process group, while it runs
    CREATE TABLE schedule_marks (
        job_name     TEXT PRIMARY KEY,
        last_fire_at REAL NOT NULL            -- the newest fire time dealt with
    );
    CREATE TABLE engine_events (
        id       INTEGER PRIMARY KEY,
        at       REAL NOT NULL,
        kind     TEXT NOT NULL,
        job_name TEXT,
        detail   TEXT NOT NULL
    );
    """,
    # 3: notification deliveries: each is a row until delivered or given up on.
    """
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        job_name        TEXT NOT NULL,
        hook_index      INTEGER NOT NULL,
        hook_type       TEXT NOT NULL,
        target          TEXT NOT NULL,       -- where it goes, secrets masked
        event           TEXT NOT NULL,
        status          TEXT NOT NULL,       -- pending | delivered | failed
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        last_status_code INTEGER,
        last_error      TEXT,
        request_body    TEXT NOT NULL,       -- the exact bytes signed and sent
        response_body   TEXT,
        created_at      REAL NOT NULL,
        finished_at     REAL
    );
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
    CREATE INDEX deliveries_by_run ON deliveries(run_id);
    """,
    # 4: the engine's warm dbt helpers, for `status` (rows of the lease holder only).
    """
    CREATE TABLE warm_helpers (
        python       TEXT PRIMARY KEY,        -- the interpreter that owns the jobs' dbt
        engine_token TEXT NOT NULL,           -- the lease of the engine that started it
        pid          INTEGER NOT NULL,
        state        TEXT NOT NULL,           -- warming | ready | failed
        dbt_version  TEXT NOT NULL,
        detail       TEXT NOT NULL,           -- why it failed
        changed_at   REAL NOT NULL
    );
    """,
    # 5: continuous deployment: the branch head each on_push job was last seen at.
    """
    CREATE TABLE push_marks (
        job_name TEXT PRIMARY KEY,
        sha      TEXT NOT NULL,
        seen_at  REAL NOT NULL
    );
    """,
    # 6: continuous integration: which CI jobs have been polled, and each branch's head.
    """
    CREATE TABLE ci_watch (
        job_name TEXT PRIMARY KEY,
        since    REAL NOT NULL               -- the first poll: heads seen then only mark
    );
    CREATE TABLE ci_branches (
        job_name   TEXT NOT NULL,
        branch     TEXT NOT NULL,
        sha        TEXT NOT NULL,            -- the newest head seen or asked for
        seen_at    REAL NOT NULL,
        gone_at    REAL,                     -- deleted from the remote
        dropped_at REAL,                     -- its schema dropped by ci cleanup
        PRIMARY KEY (job_name, branch)
    ) WITHOUT ROWID;
    CREATE INDEX runs_by_branch ON runs(git_branch, id);
    """,
    # 7: the HTTP API: its tokens (only their hashes), and why an API caller ran a job.
    """
    CREATE TABLE api_tokens (
        name       TEXT PRIMARY KEY,
        hash       TEXT NOT NULL UNIQUE,       -- sha256 of the token (the token itself is not kept)
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at REAL,
        revoked_at REAL
    );
    ALTER TABLE runs ADD COLUMN cause TEXT;    -- the caller's words (dbt Cloud's cause)
    """,
    # 8: team access: roles granted to unix users and groups, a role per token, and the
    # audit log, which no statement may change or delete once written.
    """
    CREATE TABLE grants (
        principal  TEXT NOT NULL,              -- a unix user, or @group
        jobs       TEXT NOT NULL DEFAULT '*',  -- the jobs it holds for (a name pattern)
        role       TEXT NOT NULL,
        granted_at REAL NOT NULL,
        granted_by TEXT NOT NULL,
        PRIMARY KEY (principal, jobs)
    );
    ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'runner';
    CREATE TABLE audit (
        id      INTEGER PRIMARY KEY,
        at      REAL NOT NULL,
        actor   TEXT NOT NULL,                 -- a unix user or a token's name
        kind    TEXT NOT NULL,                 -- user, token or engine
        via     TEXT NOT NULL,                 -- cli, dashboard, api, engine
        action  TEXT NOT NULL,                 -- e.g. runs.run_now
        job     TEXT,
        target  TEXT NOT NULL,                 -- what was acted on, in words
        detail  TEXT NOT NULL DEFAULT '',      -- e.g. a job edit's before -> after
        outcome TEXT NOT NULL                  -- done, or refused: why
    );
    CREATE INDEX audit_by_actor ON audit(actor, id);
    CREATE INDEX audit_by_job ON audit(job, id);
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
    CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END
    """,
    # 9: ids are never reused: the highest job id ever given (a deleted job's included).
    """
    CREATE TABLE id_marks (
        tbl     TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL
    );
    INSERT INTO id_marks SELECT 'jobs', COALESCE(MAX(id), 0) FROM jobs;
    CREATE TRIGGER jobs_ids_only_grow AFTER INSERT ON jobs
        BEGIN UPDATE id_marks SET last_id = MAX(last_id, NEW.id) WHERE tbl = 'jobs'; END
    """,
    # 10: dbt Cloud's projects and environments, for API clients that look jobs up by
    # them. AUTOINCREMENT: an id, once given, is never given again.
    """
    CREATE TABLE projects (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT NOT NULL UNIQUE,
        source     TEXT NOT NULL UNIQUE,    -- git:<url>#<subdirectory> or dir:<path>
        created_at REAL NOT NULL
    );
    CREATE TABLE environments (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name       TEXT NOT NULL,
        target     TEXT NOT NULL,           -- '' for the profile's default target
        created_at REAL NOT NULL,
        UNIQUE (project_id, target)
    );
    ALTER TABLE jobs ADD COLUMN project_id INTEGER REFERENCES projects(id);
    ALTER TABLE jobs ADD COLUMN environment_id INTEGER REFERENCES environments(id)
    """,
    # 11: the jobs already saved get theirs.
    _place_existing_jobs,
    # 12: what pruned runs counted in /metrics' counters and histograms (store/metrics.py)
    """
    CREATE TABLE metric_totals (
        name  TEXT NOT NULL,                 -- runs, run_seconds, step_seconds, ...
        key   TEXT NOT NULL,                 -- its labels, as JSON
        value TEXT NOT NULL,                 -- a count, or [buckets, count, sum]
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID
    """,
    # 13: run alerts (a job's sla:), each raised once; a delivery of an alert may have no
    # run (a job late with no run that day), so deliveries.run_id may now be NULL.
    """
    CREATE TABLE alerts (
        job_name TEXT NOT NULL,
        kind     TEXT NOT NULL,              -- late | slow | missed
        key      TEXT NOT NULL,              -- what it is once per: day:D, run:N, fire:T
        detail   TEXT NOT NULL,
        at       REAL NOT NULL,
        PRIMARY KEY (job_name, kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX alerts_by_time ON alerts(job_name, at);
    CREATE TABLE deliveries_new (
        id              INTEGER PRIMARY KEY,
        run_id          INTEGER REFERENCES runs(id) ON DELETE CASCADE,
        job_name        TEXT NOT NULL,
        hook_index      INTEGER NOT NULL,
        hook_type       TEXT NOT NULL,
        target          TEXT NOT NULL,
        event           TEXT NOT NULL,
        status          TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        last_status_code INTEGER,
        last_error      TEXT,
        request_body    TEXT NOT NULL,
        response_body   TEXT,
        created_at      REAL NOT NULL,
        finished_at     REAL
    );
    INSERT INTO deliveries_new SELECT * FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_new RENAME TO deliveries;
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
    CREATE INDEX deliveries_by_run ON deliveries(run_id)
    """,
    # 14: who asked a run in flight to stop, for the line its log ends with.
    "ALTER TABLE runs ADD COLUMN cancel_by TEXT",
    # 15: who asked the engine to stop (`dbt-console engine stop`); it sees it as it beats.
    "ALTER TABLE engine_lease ADD COLUMN stop_asked_by TEXT",
    # 16: a CI run's compare changes: each modified model against production's (JSON).
    """
    CREATE TABLE run_compares (
        run_id          INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        compared_with   INTEGER,             -- the production run whose relations it read
        diffs           TEXT NOT NULL,       -- ci.compare.dumps
        differing       INTEGER NOT NULL,    -- how many models differ, for the jobs table
        created_at      REAL NOT NULL
    )
    """,
    # 17: the pending commit statuses of the last day, which the engine looks over each
    # second for a CI run that ended without its outcome (REPORT_INDEX is -1).
    """
    CREATE INDEX reports_pending ON deliveries(created_at)
        WHERE hook_index = -1 AND event = 'pending'
    """,
    # 18: what an API call changed of the job for this run (model.Overrides.echo, JSON):
    # dbt Cloud's trigger echoes it, and clients read the steps run from there.
    "ALTER TABLE runs ADD COLUMN overrides TEXT",
]


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this store has not seen yet, each in its own transaction."""
    current = version(conn)
    for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if callable(script):  # a data migration, in Python
                script(conn)
            else:  # executescript would commit on its own: statements one by one
                for statement in _statements(script):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check(conn: sqlite3.Connection, path, upgrade: bool) -> None:
    """Open a store as this code may: a new one is made at the current schema and a
    newer one refused. An older one is refused too, unless `upgrade`: its opener (an
    engine, `store migrate`) migrates once it holds the lease, so no engine that runs is
    migrated under."""
    found, wanted = version(conn), len(MIGRATIONS)
    if found > wanted:
        raise UserError(f"the store {path} has schema {found}, newer than this dbt-console "
                        f"knows ({wanted}): upgrade dbt-console")
    if found == wanted:
        return
    if found == 0 and conn.execute("SELECT 1 FROM sqlite_master").fetchone() is None:
        migrate(conn)  # a new store
        return
    if not upgrade:
        raise UserError(f"the store {path} has schema {found}, older than this "
                        f"dbt-console's ({wanted}): run dbt-console store migrate with no "
                        "engine running, or start the engine with this dbt-console (it "
                        "migrates as it starts)")


def current() -> str:
    """The schema this code makes, as SQL: each table, then index, then trigger."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY "
                            "CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, "
                            "name").fetchall()
    finally:
        conn.close()
    return (f"-- dbt-console's store at schema version {len(MIGRATIONS)}: what its "
            "migrations add up to\n-- (dbt-console store schema prints it; a migration "
            "changes it)\n\n" + "\n\n".join(f"{sql.strip()};" for (sql,) in rows) + "\n")


def _statements(script: str):
    """The script's statements; a trigger's body holds semicolons of its own."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""
