"""The store's schema as a file: `store schema` prints what this code makes and matches
the checked-in store/schema.sql (a migration shows as a diff there); only an engine or
`store migrate` migrates; an older or newer store is refused in one line, nothing written."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from dbt_console.store import Store
from dbt_console.store.schema import MIGRATIONS

CHECKED_IN = Path(__file__).parent.parent / "dbt_console" / "store" / "schema.sql"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def set_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


def older_store(paths) -> None:
    """A store one migration behind: made by the dbt-console before this one."""
    with Store(paths.store) as store:
        store.conn.execute("ALTER TABLE runs DROP COLUMN overrides")  # what the last adds
    set_version(paths.store, len(MIGRATIONS) - 1)


@pytest.mark.unit
def test_store_schema_prints_the_checked_in_file(cli):
    shown = cli("store", "schema")
    assert shown.code == 0, shown.err
    assert shown.out == CHECKED_IN.read_text(), (
        "the schema changed: run `dbt-console store schema > dbt_console/store/schema.sql` "
        "and commit the diff with its migration")
    assert f"schema version {len(MIGRATIONS)}" in shown.out
    assert "CREATE TABLE runs" in shown.out and "overrides TEXT" in shown.out


@pytest.mark.unit
def test_an_older_store_is_refused_in_one_line_and_nothing_is_written(cli, paths):
    older_store(paths)
    before = digest(paths.store)
    for args in (("runs",), ("jobs", "list"), ("status",)):
        refused = cli(*args)
        assert refused.code == 2, (args, refused.out, refused.err)
        assert refused.err.count("\n") == 1, refused.err
        assert f"has schema {len(MIGRATIONS) - 1}, older than this dbt-console's" in refused.err
        assert "dbt-console store migrate" in refused.err
    assert digest(paths.store) == before


@pytest.mark.unit
def test_store_migrate_brings_it_up_and_says_so_once(cli, paths):
    older_store(paths)
    done = cli("store", "migrate")
    assert done.code == 0, done.err
    assert done.out.strip() == (f"migrated the store from schema {len(MIGRATIONS) - 1} "
                                f"to {len(MIGRATIONS)}")
    assert cli("runs").code == 0
    again = cli("store", "migrate")
    assert again.out.strip() == f"the store is at schema {len(MIGRATIONS)}: nothing to migrate"
    from dbt_console.access import unix_name

    with Store(paths.store) as store:
        assert [e.detail for e in store.recent_events() if e.kind == "migrate"] == [
            f"store migrated from schema {len(MIGRATIONS) - 1} to {len(MIGRATIONS)} by "
            f"{unix_name(os.getuid())}"]


@pytest.mark.unit
def test_a_store_held_by_a_running_engine_is_not_migrated_under_it(cli, paths):
    older_store(paths)
    conn = sqlite3.connect(paths.store)  # an engine of the older version holds it: us
    conn.execute("INSERT INTO engine_lease (id, host, pid, token, kind, started_at, "
                 "heartbeat_at) VALUES (1, ?, ?, 't', 'serve', ?, ?)",
                 (socket.gethostname(), os.getpid(), time.time(), time.time()))
    conn.commit()
    conn.close()
    before = digest(paths.store)
    refused = cli("store", "migrate")
    assert refused.code == 2
    assert "an engine already runs this store" in refused.err
    assert "stop it first" in refused.err and refused.err.count("\n") == 1
    assert digest(paths.store) == before


@pytest.mark.unit
def test_a_newer_store_is_refused_by_every_command_and_by_migrate(cli, paths):
    with Store(paths.store):
        pass
    set_version(paths.store, len(MIGRATIONS) + 1)
    before = digest(paths.store)
    for args in (("runs",), ("store", "migrate")):
        refused = cli(*args)
        assert refused.code == 2 and refused.err.count("\n") == 1, refused.err
        assert "newer than this dbt-console knows" in refused.err
        assert "upgrade dbt-console" in refused.err
    assert digest(paths.store) == before


@pytest.mark.unit
def test_a_new_store_is_made_at_the_current_schema_by_any_command(cli, paths):
    assert cli("runs").code == 0
    with Store(paths.store) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


@pytest.mark.real
def test_an_engine_migrates_an_older_store_once_it_holds_it(paths):
    from dbt_console.config import Settings
    from dbt_console.engine.engine import Engine

    older_store(paths)
    engine = Engine(paths, Settings(warm_starts=False))
    engine.start()
    try:
        with Store(paths.store) as store:  # the current schema: opened as any command does
            assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            assert "overrides" in {c[1] for c in store.conn.execute("PRAGMA table_info(runs)")}
            said = [e.detail for e in store.recent_events() if e.kind == "migrate"]
            assert said == [f"store migrated from schema {len(MIGRATIONS) - 1} to "
                            f"{len(MIGRATIONS)} by the engine (serve, pid {os.getpid()})"]
    finally:
        engine.stop(grace_seconds=0)
