"""When the run screen's watcher hands a frame over: the link budget (for SSH over a slow
link) may hold frames back, but never the one that says the run ended."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.tui.screens.run_watch import LinkBudget, Snapshot, due

pytestmark = pytest.mark.unit


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


def test_a_cancelled_runs_header_counts_no_failure_for_the_node_it_interrupted(paths, store):
    """dbt's live log called the interrupted node an error; its results (ERROR=0) do not."""
    import asyncio

    from dbt_console.model import Job, NodeResult
    from dbt_console.tui.app import DbtConsoleApp

    store.save_jobs([Job(name="nightly", commands=("dbt build",), project_dir="/srv/a")])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "ada")
    store.claim_run(run.id)
    store.append_log(run.id, 4, [("2026-12-07T06:00:01.000000Z", "error", 4, "LogModelResult",
                                  "model.p.slow", "error", "1 of 2 ERROR model slow")],
                     {"step": 4, "done": 1, "total": 2, "failed": 1, "running": []})
    store.start_step(run.id, 4, "dbt build")
    store.finish_step(run.id, 4, RunStatus.CANCELLED, 2, [
        NodeResult("model.p.fast", "success", 4, "model", None, None, 0.1,
                   "2026-12-07T06:00:00Z", "2026-12-07T06:00:00.1Z", "Thread-1")])
    store.finish_run(run.id, RunStatus.CANCELLED)

    async def scenario():
        app = DbtConsoleApp(paths, start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_run(run.id)
            for _ in range(200):
                await pilot.pause(0.02)
                shown = str(getattr(app.screen, "_shown", {}).get("#running-now", ""))
                if "cancelled at" in shown:
                    break
            assert "cancelled at 1/2 nodes" in shown and "failed" not in shown, shown

    asyncio.run(scenario())


def test_a_first_run_never_reads_all_done_while_a_command_has_not_started(paths, store):
    """A job's first run (nothing to expect from) after its `dbt seed` logged 3 of 3:
    its `dbt build` is still to come."""
    from dbt_console.actions import connect
    from dbt_console.model import Job
    from dbt_console.tui.screens.run_watch import RunWatch

    store.save_jobs([Job(name="nightly", commands=("dbt seed", "dbt build"),
                         project_dir="/srv/a")])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "ada")
    store.claim_run(run.id)
    store.update_run(run.id, status=RunStatus.RUNNING.value)
    store.start_step(run.id, 4, "dbt seed")
    store.append_log(run.id, 4, [("2026-12-07T06:00:01.000000Z", "info", 4, "LogSeedResult",
                                  "seed.p.stations", "success", "3 of 3 OK seed")],
                     {"step": 4, "done": 3, "total": 3, "run_done": 3, "run_total": 3,
                      "failed": 0, "running": []})
    store.finish_step(run.id, 4, RunStatus.SUCCESS, 0, [])
    with connect(paths, "dashboard") as ctx:
        snap = RunWatch(ctx, run.id, SimpleNamespace(node={})).changed()
    assert snap.done == 3 and snap.total > 3, (snap.done, snap.total)


def test_a_node_keeps_its_row_key_from_running_to_done(paths, store):
    """The node list's cursor follows a row's key: a node that ends must keep its key, or
    the cursor falls onto another node and Enter opens that one."""
    from dbt_console.actions import connect
    from dbt_console.model import Job, NodeResult
    from dbt_console.tui.screens.run_watch import RunWatch

    store.save_jobs([Job(name="nightly", commands=("dbt build",), project_dir="/srv/a")])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "ada")
    store.claim_run(run.id)
    store.update_run(run.id, status=RunStatus.RUNNING.value)
    store.start_step(run.id, 4, "dbt build")
    store.append_log(run.id, 4, [("2026-12-07T06:00:01.000000Z", "info", 4, "LogStartLine",
                                  "test.p.not_null", None, "1 of 2 START test not_null")],
                     {"step": 4, "done": 0, "total": 2, "failed": 0,
                      "running": ["test.p.not_null"]})
    with connect(paths, "dashboard") as ctx:
        watcher = RunWatch(ctx, run.id, SimpleNamespace(node={}))
        running = [key for key, _ in watcher.changed().rows]
        store.finish_step(run.id, 4, RunStatus.ERROR, 1, [
            NodeResult("test.p.not_null", "fail", 4, "test", "Got 3 results", 3, 0.1,
                       "2026-12-07T06:00:00Z", "2026-12-07T06:00:00.1Z", "Thread-1")])
        store.finish_run(run.id, RunStatus.ERROR)
        done = [key for key, _ in watcher.changed().rows]
    assert running == ["test.p.not_null"] == done, (running, done)
