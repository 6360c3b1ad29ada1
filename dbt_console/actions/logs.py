"""Logs: a run's lines, a page at a time, all of them, or followed as they come."""

from __future__ import annotations

from collections.abc import Iterator

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


class Tail:
    """Following a run as it happens, from any process (the store, or the engine's socket,
    is the only channel). Each poll costs one cheap change check when nothing changed;
    only then does it read the run and the lines it has not seen."""

    def __init__(self, ctx: Context, run_id: int, start: int = 0):
        self.ctx = ctx
        self.run_id = run_id
        self.next_seq = start
        self.run: Run = runs.get(ctx, run_id)
        self._version: int | None = None

    def poll(self) -> list[LogLine]:
        """New lines since the last poll (empty when nothing changed)."""
        version = status.data_version(self.ctx)
        if version == self._version:
            return []
        self._version = version
        # Read the status before the lines: a run seen finished then has all its lines in.
        self.run = runs.get(self.ctx, self.run_id)
        got = page(self.ctx, self.run_id, self.next_seq)
        if got:
            self.next_seq = got[-1].seq + 1
        return got

    @property
    def finished(self) -> bool:
        return self.run.status.finished


def follow(ctx: Context, run_id: int, start: int = 0) -> Tail:
    return Tail(ctx, run_id, start)
