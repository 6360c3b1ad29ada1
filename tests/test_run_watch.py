"""When the run screen's watcher hands a frame over: the link budget (for SSH over a slow
link) may hold frames back, but never the one that says the run ended."""

from __future__ import annotations

from types import SimpleNamespace

from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.tui.screens.run_watch import LinkBudget, Snapshot, due


def snapshot(status: RunStatus) -> Snapshot:
    return Snapshot(Run(1, 1, "nightly", status, Trigger.manual(), "ada", 0.0), 0, None)


def spent_budget() -> LinkBudget:
    """A budget whose frames so far cost far more than the log they showed. The meter is
    the app's count of bytes written to the terminal: here a plain counter."""
    meter = SimpleNamespace(bytes=0)
    budget = LinkBudget(meter)
    budget.spent = 10 * LinkBudget.BURST
    return budget


def test_a_spent_budget_holds_a_frame_of_the_same_status_back():
    assert not due(snapshot(RunStatus.RUNNING), RunStatus.RUNNING, spent_budget())


def test_the_frame_that_says_the_run_ended_goes_out_whatever_the_budget():
    for end in (RunStatus.SUCCESS, RunStatus.ERROR, RunStatus.CANCELLED):
        assert due(snapshot(end), RunStatus.RUNNING, spent_budget())


def test_without_a_budget_every_frame_goes():
    assert due(snapshot(RunStatus.RUNNING), RunStatus.RUNNING, None)
