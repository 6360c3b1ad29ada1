"""Moves a step's output into the store: read, parse, batch, commit at most ~100 ms apart.

One pump per run, on the run's own thread. Committing each line would be 10-40x slower;
a batch per flush keeps up with dbt at any speed while a watcher sees lines within 100 ms.
"""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from dbt_console.engine.dbtlog import Progress, cut_line, parse_line, system_row
from dbt_console.engine.launcher import Process
from dbt_console.engine.stopping import stop_now
from dbt_console.engine.tracefold import TracebackFold
from dbt_console.store import LogsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (LogsStore,)


FLUSH_SECONDS = 0.1
MAX_BATCH = 50_000
# The longest line kept as one; a longer one (a runaway print without newlines) is split.
MAX_LINE_BYTES = 16 * 1024 * 1024
# How often the loop wakes when dbt is quiet, to notice a cancel or a timeout.
IDLE_TICK = 0.1


class RunLog:
    """The lines of one run, written to the store in batches."""

    def __init__(self, store: Repos, run_id: int):
        self.store = store
        self.run_id = run_id
        self.next_seq = store.log_line_count(run_id)
        self.rows: list[tuple] = []
        self.progress = Progress()
        self._progress_dirty = False
        self.last_flush = time.monotonic()

    def add(self, row: tuple, total: object = None) -> None:
        self.rows.append(row)
        self.progress.observe(row, total)
        self._progress_dirty = True

    def system(self, step: int, msg: str, level: str = "info") -> None:
        """A line of dbt-console's own, flushed at once: these mark what happens between
        dbt's lines (workspace, step boundaries, why a run failed)."""
        self.rows.append(system_row(step, msg, level))
        self.flush()

    def due(self) -> bool:
        return bool(self.rows) and (time.monotonic() - self.last_flush >= FLUSH_SECONDS
                                    or len(self.rows) >= MAX_BATCH)

    def seconds_to_flush(self) -> float:
        if not self.rows:
            return IDLE_TICK
        return max(0.0, FLUSH_SECONDS - (time.monotonic() - self.last_flush))

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.rows:
            return
        progress = self.progress.as_dict() if self._progress_dirty else None
        self.store.append_log(self.run_id, self.next_seq, self.rows, progress)
        self.next_seq += len(self.rows)
        self.rows = []
        self._progress_dirty = False


class _Lines:
    """A stream cut into lines. A line over MAX_LINE_BYTES stays one line: its start is
    kept (up to that size) with the size it had, and the rest is read past."""

    def __init__(self):
        self.buf = bytearray()
        self.size = 0

    def feed(self, chunk: bytes) -> list[tuple[bytes, int | None]]:
        parts = chunk.split(b"\n")  # in C: most lines never pass through Python's hands
        last = parts.pop()
        out = []
        if parts:
            self._add(parts[0])
            out.append(self._take())
            out.extend((p, None) if len(p) <= MAX_LINE_BYTES else (p[:MAX_LINE_BYTES], len(p))
                       for p in parts[1:])
        self._add(last)
        return out

    def _add(self, piece: bytes) -> None:
        self.buf += piece[:max(MAX_LINE_BYTES - len(self.buf), 0)]
        self.size += len(piece)

    def end(self) -> list[tuple[bytes, int | None]]:
        return [self._take()] if self.size else []

    def _take(self) -> tuple[bytes, int | None]:
        line, size = bytes(self.buf), self.size
        self.buf.clear()
        self.size = 0
        return line, (size if size > len(line) else None)


def pump(proc: Process, log: RunLog, step: int, tick: Callable[[], None],
         stopped_why: Callable[[], str] = lambda: "dbt was interrupted",
         on_event: Mapping[str, Callable[[], None]] = MappingProxyType({})) -> int:
    """Read the process's stdout and stderr to the end, then return its exit code.
    `tick` is called between reads, so the caller can cancel or time the step out;
    `stopped_why` heads the line a KeyboardInterrupt traceback is folded into;
    `on_event` is told of the dbt events it names as they come."""
    sel = selectors.DefaultSelector()
    out_fd, err_fd = proc.stdout_fd(), proc.stderr_fd()
    sel.register(out_fd, selectors.EVENT_READ, False)
    sel.register(err_fd, selectors.EVENT_READ, True)
    lines = {out_fd: _Lines(), err_fd: _Lines()}
    fold = TracebackFold(log.add, stopped_why)
    add = fold.add
    try:
        while sel.get_map():
            for key, _ in sel.select(log.seconds_to_flush()):
                fd, from_stderr = key.fd, key.data
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    sel.unregister(fd)
                got = lines[fd].feed(chunk) if chunk else lines[fd].end()
                for raw, size in got:
                    row, total = (parse_line(raw, step, from_stderr) if size is None
                                  else cut_line(raw, size, step))
                    if row[3] in on_event:
                        on_event[row[3]]()
                    add(row, total)
            if log.due():
                log.flush()
            tick()
    except BaseException:
        stop_now(proc)  # the run cannot be followed (a full disk): its dbt must not go on
        raise
    finally:
        sel.close()
        fold.end()
    code = proc.wait()
    log.flush()
    return code

