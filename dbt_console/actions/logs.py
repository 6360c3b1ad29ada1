"""Logs: a run's lines, a page at a time, all of them, or followed as they come."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dbt_console.actions import runs, status
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.model import LogLine, Run

PAGE = 20_000


@action("viewer")
def page(ctx: Context, run_id: int, start: int = 0, limit: int | None = None) -> list[LogLine]:
    return ctx.store.read_log(run_id, start, limit)


@action("viewer")
def count(ctx: Context, run_id: int) -> int:
    return ctx.store.log_line_count(run_id)


def lines(ctx: Context, run_id: int) -> Iterator[LogLine]:
    """Every line of a run, read a page at a time."""
    runs.get(ctx, run_id)  # a run that does not exist is an error, not an empty log
    start = 0
    while True:
        got = page(ctx, run_id, start, PAGE)
        if not got:
            return
        yield from got
        start = got[-1].seq + 1


# How often a feed whose run has not changed asks whether its engine died: an orphaned
# run never changes again, so no change signal would ever say so.
ORPHAN_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Update:
    """What a feed's poll found: the run as it is, the lines since the last poll (the
    first of them at `start`), and whether the run was orphaned (runs.ORPHANED)."""

    run: Run
    start: int
    lines: list[LogLine]
    orphaned: bool = False


class Feed:
    """Following a run as it happens, from any process (the store, or the engine's socket,
    is the only channel): the CLI's `logs --follow` and `run --wait`, the dashboard's run
    screen. Each poll costs one cheap change check when nothing changed; only then does
    it read the run and the lines it has not seen. Every ORPHAN_CHECK_SECONDS it also
    asks whether the run was orphaned, since an orphaned run never changes."""

    def __init__(self, ctx: Context, run_id: int, start: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        self.ctx = ctx
        self.run_id = run_id
        self.next_seq = start
        self.run: Run = runs.get(ctx, run_id)
        self.orphaned = False
        self._version: int | None = None
        self._clock = clock
        self._next_check = clock() + ORPHAN_CHECK_SECONDS

    @classmethod
    def from_last_page(cls, ctx: Context, run_id: int, page_lines: int) -> Feed:
        """From the start of the log's last page of `page_lines`: what a screen that
        opens at the end of the log shows first."""
        total = count(ctx, run_id)
        return cls(ctx, run_id, total - total % page_lines)

    def poll(self) -> Update | None:
        """What changed since the last poll, or None."""
        version = status.data_version(self.ctx)
        orphaned = self._orphan_check()
        if version == self._version and not orphaned:
            return None
        self._version = version
        # Read the status before the lines: a run seen finished then has all its lines in.
        self.run = runs.get(self.ctx, self.run_id)
        start = self.next_seq
        got = page(self.ctx, self.run_id, start)
        if got:
            self.next_seq = got[-1].seq + 1
        self.orphaned = orphaned and not self.run.status.finished
        return Update(self.run, start, got, self.orphaned)

    def _orphan_check(self) -> bool:
        if self.run.status.finished or self.orphaned or self._clock() < self._next_check:
            return False
        self._next_check = self._clock() + ORPHAN_CHECK_SECONDS
        return self.run_id in runs.orphans(self.ctx)

    @property
    def ended(self) -> bool:
        """Finished, or orphaned: nothing more will come until another engine starts."""
        return self.run.status.finished or self.orphaned
