-- dbt-console's store at schema version 18: what its migrations add up to
-- (dbt-console store schema prints it; a migration changes it)

CREATE TABLE alerts (
        job_name TEXT NOT NULL,
        kind     TEXT NOT NULL,              -- late | slow | missed
        key      TEXT NOT NULL,              -- what it is once per: day:D, run:N, fire:T
        detail   TEXT NOT NULL,
        at       REAL NOT NULL,
        PRIMARY KEY (job_name, kind, key)
    ) WITHOUT ROWID;

CREATE TABLE api_tokens (
        name       TEXT PRIMARY KEY,
        hash       TEXT NOT NULL UNIQUE,       -- sha256 of the token (the token itself is not kept)
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at REAL,
        revoked_at REAL
    , role TEXT NOT NULL DEFAULT 'runner');

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

CREATE TABLE ci_branches (
        job_name   TEXT NOT NULL,
        branch     TEXT NOT NULL,
        sha        TEXT NOT NULL,            -- the newest head seen or asked for
        seen_at    REAL NOT NULL,
        gone_at    REAL,                     -- deleted from the remote
        dropped_at REAL,                     -- its schema dropped by ci cleanup
        PRIMARY KEY (job_name, branch)
    ) WITHOUT ROWID;

CREATE TABLE ci_watch (
        job_name TEXT PRIMARY KEY,
        since    REAL NOT NULL               -- the first poll: heads seen then only mark
    );

CREATE TABLE "deliveries" (
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

CREATE TABLE engine_events (
        id       INTEGER PRIMARY KEY,
        at       REAL NOT NULL,
        kind     TEXT NOT NULL,
        job_name TEXT,
        detail   TEXT NOT NULL
    );

CREATE TABLE engine_lease (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        token        TEXT NOT NULL,
        kind         TEXT NOT NULL,           -- serve | run --wait | tui
        started_at   REAL NOT NULL,
        heartbeat_at REAL NOT NULL
    , stop_asked_by TEXT);

CREATE TABLE environments (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name       TEXT NOT NULL,
        target     TEXT NOT NULL,           -- '' for the profile's default target
        created_at REAL NOT NULL,
        UNIQUE (project_id, target)
    );

CREATE TABLE grants (
        principal  TEXT NOT NULL,              -- a unix user, or @group
        jobs       TEXT NOT NULL DEFAULT '*',  -- the jobs it holds for (a name pattern)
        role       TEXT NOT NULL,
        granted_at REAL NOT NULL,
        granted_by TEXT NOT NULL,
        PRIMARY KEY (principal, jobs)
    );

CREATE TABLE id_marks (
        tbl     TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL
    );

CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        spec        TEXT NOT NULL,            -- the job as JSON (jobfields.job_to_dict)
        enabled     INTEGER NOT NULL,
        version     INTEGER NOT NULL,         -- bumped on every save: edit conflicts
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    , project_id INTEGER REFERENCES projects(id), environment_id INTEGER REFERENCES environments(id));

CREATE TABLE log_chunks (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        first_seq   INTEGER NOT NULL,
        n           INTEGER NOT NULL,
        data        BLOB NOT NULL,           -- logcodec.encode(lines)
        PRIMARY KEY (run_id, first_seq)
    ) WITHOUT ROWID;

CREATE TABLE metric_totals (
        name  TEXT NOT NULL,                 -- runs, run_seconds, step_seconds, ...
        key   TEXT NOT NULL,                 -- its labels, as JSON
        value TEXT NOT NULL,                 -- a count, or [buckets, count, sum]
        PRIMARY KEY (name, key)
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

CREATE TABLE projects (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT NOT NULL UNIQUE,
        source     TEXT NOT NULL UNIQUE,    -- git:<url>#<subdirectory> or dir:<path>
        created_at REAL NOT NULL
    );

CREATE TABLE push_marks (
        job_name TEXT PRIMARY KEY,
        sha      TEXT NOT NULL,
        seen_at  REAL NOT NULL
    );

CREATE TABLE run_compares (
        run_id          INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        compared_with   INTEGER,             -- the production run whose relations it read
        diffs           TEXT NOT NULL,       -- ci.compare.dumps
        differing       INTEGER NOT NULL,    -- how many models differ, for the jobs table
        created_at      REAL NOT NULL
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
    , cancel_requested INTEGER NOT NULL DEFAULT 0, cause TEXT, cancel_by TEXT, overrides TEXT);

CREATE TABLE schedule_marks (
        job_name     TEXT PRIMARY KEY,
        last_fire_at REAL NOT NULL            -- the newest fire time dealt with
    );

CREATE TABLE sqlite_sequence(name,seq);

CREATE TABLE steps (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        command     TEXT NOT NULL,
        status      TEXT NOT NULL,
        exit_code   INTEGER,
        started_at  REAL,
        finished_at REAL, pid INTEGER,
        PRIMARY KEY (run_id, idx)
    ) WITHOUT ROWID;

CREATE TABLE warm_helpers (
        python       TEXT PRIMARY KEY,        -- the interpreter that owns the jobs' dbt
        engine_token TEXT NOT NULL,           -- the lease of the engine that started it
        pid          INTEGER NOT NULL,
        state        TEXT NOT NULL,           -- warming | ready | failed
        dbt_version  TEXT NOT NULL,
        detail       TEXT NOT NULL,           -- why it failed
        changed_at   REAL NOT NULL
    );

CREATE INDEX alerts_by_time ON alerts(job_name, at);

CREATE INDEX audit_by_actor ON audit(actor, id);

CREATE INDEX audit_by_job ON audit(job, id);

CREATE INDEX deliveries_by_run ON deliveries(run_id);

CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);

CREATE INDEX reports_pending ON deliveries(created_at)
        WHERE hook_index = -1 AND event = 'pending';

CREATE INDEX runs_by_branch ON runs(git_branch, id);

CREATE INDEX runs_by_job ON runs(job_id, id);

CREATE INDEX runs_by_status ON runs(status, id);

CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;

CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;

CREATE TRIGGER jobs_ids_only_grow AFTER INSERT ON jobs
        BEGIN UPDATE id_marks SET last_id = MAX(last_id, NEW.id) WHERE tbl = 'jobs'; END;
