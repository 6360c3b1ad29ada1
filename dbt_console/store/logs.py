"""Run logs: compressed chunks of lines, appended in batches, read a page at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dbt_console.model import LogLine
from dbt_console.store import logcodec
from dbt_console.store.base import StoreBase

COMPACT_CHUNK_BYTES = 256 * 1024


class LogsStore(StoreBase):
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

    def note(self, run_id: int, msg: str, level: str = "info") -> None:
        """A line of dbt-console's own in a run's log (one that is not running yet)."""
        with self._tx() as conn:
            self._append_system_line(conn, run_id, msg, level)

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
