"""The connection every part of the store shares: WAL, one transaction per change."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dbt_console.errors import UserError
from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.store import logcodec, schema

IN_FLIGHT = (RunStatus.STARTING.value, RunStatus.RUNNING.value)

RUN_COLUMNS = ("id, job_id, job_name, status, trigger, actor, queued_at, started_at, "
               "finished_at, git_sha, git_branch, error, run_dir, progress")


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_prefix(text: str) -> str:
    return like_escape(text) + "%"


class StoreBase:
    def __init__(self, path: Path | str, must_exist: bool = False, upgrade: bool = False):
        """`must_exist`: an engine's own threads open a store that is already there and
        never make one (a removed data directory stays removed). `upgrade`: an older
        store is opened as it is, for its opener to migrate (upgrade()) once it holds the
        lease; anyone else is refused one (schema.check)."""
        self.path = Path(path)
        self._in_unit = False
        self._after_commit: list[Callable[[], None]] = []
        if must_exist:
            new = False
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
        try:
            self.conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=rw" if must_exist
                                        else str(self.path), uri=must_exist,
                                        isolation_level=None, timeout=30)
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
            schema.check(self.conn, self.path, upgrade)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{self.path}: cannot open the store: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def upgrade(self, by: str) -> tuple[int, int]:
        """Migrate to this code's schema (the lease held: schema.check), and say so in the
        engine's events, naming `by` (the engine, or whoever ran store migrate). The
        versions before and after."""
        from dbt_console.store.events import insert_event

        before = schema.version(self.conn)
        schema.migrate(self.conn)
        after = schema.version(self.conn)
        if after != before:
            with self._tx() as conn:
                insert_event(conn, "migrate", None, f"store migrated from schema {before} "
                             f"to {after} by {by}", time.time())
        return before, after

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction. Inside one already open (atomic(), or a unit of work's, which
        its first change begins), a part of it: a failure undoes that part only, and the
        outer block commits or rolls back the rest."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            if not self._in_unit:
                try:
                    yield self.conn
                except BaseException:
                    self._end("ROLLBACK")
                    raise
                self._end("COMMIT")
                return
        self.conn.execute("SAVEPOINT part")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO part")
            self.conn.execute("RELEASE part")
            raise
        self.conn.execute("RELEASE part")

    @contextmanager
    def unit(self) -> Iterator[None]:
        """An action's unit of work: every change made in the block, and the audit row
        written at its end, commit together when it ends, or none does. Its transaction
        begins with its first change, not with the block: the reads and slow checks before
        it (a dbt_path's --version, a git ls-remote) hold no lock the engine waits on.
        Inside another unit, part of that one."""
        if self._in_unit:
            yield
            return
        self._in_unit = True
        try:
            yield
        except BaseException:
            self._in_unit = False
            if self.conn.in_transaction:
                self._end("ROLLBACK")
            raise
        self._in_unit = False
        if self.conn.in_transaction:
            self._end("COMMIT")

    def on_commit(self, fn: Callable[[], None]) -> None:
        """Call fn once the open transaction commits (never, if it rolls back); at once
        when none is open. For what the database cannot take back, such as removing a
        pruned run's files: never before the rows that point at them are gone."""
        if self.conn.in_transaction:
            self._after_commit.append(fn)
        else:
            fn()

    def _end(self, how: str) -> None:
        after, self._after_commit = self._after_commit, []
        self.conn.execute(how)
        if how == "COMMIT":
            for fn in after:
                fn()

    def atomic(self):
        """Every change made in the block commits together, or none does: a run's end
        with the deliveries and chained runs it sets off (engine/outbox.py)."""
        return self._tx()

    def data_version(self) -> int:
        """Changes when another connection commits: a cheap 'anything new?' check."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def _run(self, row: Sequence[Any]) -> Run:
        (run_id, job_id, job_name, status, trigger, actor, queued_at, started_at,
         finished_at, git_sha, git_branch, error, run_dir, progress) = row
        return Run(run_id, job_id, job_name, RunStatus(status), Trigger.parse(trigger), actor,
                   queued_at, started_at, finished_at, git_sha, git_branch, error, run_dir,
                   json.loads(progress) if progress else {})

    def _append_system_line(self, conn: sqlite3.Connection, run_id: int, msg: str,
                            level: str) -> None:
        from dbt_console.model import SYSTEM_EVENT

        seq = conn.execute("SELECT log_lines FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"
        conn.execute("INSERT INTO log_chunks VALUES (?, ?, 1, ?)",
                     (run_id, seq, logcodec.encode([(stamp, level, 0, SYSTEM_EVENT, None,
                                                     None, msg)])))
        conn.execute("UPDATE runs SET log_lines = ? WHERE id = ?", (seq + 1, run_id))
