"""Logs: a run's lines, a page at a time, all of them, or followed as they come."""

from __future__ import annotations

from collections.abc import Iterator

from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.model import LogLine
from dbt_console.store.tail import RunTail


@action("viewer")
def page(ctx: Context, run_id: int, start: int = 0, limit: int | None = None) -> list[LogLine]:
    return ctx.store.read_log(run_id, start, limit)


@action("viewer")
def count(ctx: Context, run_id: int) -> int:
    return ctx.store.log_line_count(run_id)


@action("viewer")
def lines(ctx: Context, run_id: int) -> Iterator[LogLine]:
    ctx.store.get_run(run_id)  # a run that does not exist is an error, not an empty log
    return ctx.store.iter_log(run_id)


@action("viewer")
def search(ctx: Context, run_id: int, text: str, limit: int = 1000) -> list[LogLine]:
    return ctx.store.search_log(run_id, text, limit)


@action("viewer")
def follow(ctx: Context, run_id: int, start: int = 0) -> RunTail:
    """A tail of the run: poll() returns the lines new since the last poll (one cheap check
    when nothing changed); .run and .finished say where the run is."""
    return RunTail(ctx.store, run_id, start)
