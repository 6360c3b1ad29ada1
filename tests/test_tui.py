"""The dashboard driven as a person would: the real app through Pilot on a demo store,
and the real binary in tmux."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from test_job_form import until
from textual.widgets import Static

from conftest import (
    binary,
    branch_remote,
    copy_home,
    runs_json,
    stop_engine,
    tmux_dashboard,
    workers_done,
)
from dbt_console.config import resolve_paths
from dbt_console.model import RunStatus, Trigger
from dbt_console.store import Store
from dbt_console.tui.app import DbtConsoleApp
from dbt_console.tui.screens.help import HelpScreen, screen_keys
from dbt_console.tui.screens.run import RunScreen
from dbt_console.tui.widgets.log_view import LogView

pytestmark = pytest.mark.real


def demo_copy(demo_runs: Path, tmp_path: Path, monkeypatch) -> Path:
    """The session's demo store (one good and one failed run), copied to change freely."""
    home = copy_home(demo_runs, tmp_path)
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    return home


async def open_latest_run(pilot, name: str) -> None:
    """The jobs screen's `enter` on the job: its latest run's screen, once drawn."""
    await select_job(pilot, name)
    await pilot.press("enter")
    await run_screen_drawn(pilot)


async def run_screen_drawn(pilot) -> None:
    """Until the run screen has drawn its first frame (read on its worker, which is
    also when the keys typed meanwhile reach it)."""
    await until(pilot, lambda: isinstance(pilot.app.screen, RunScreen)
                and pilot.app.screen.keys_ready, "the run screen's first frame")


async def select_job(pilot, name: str) -> None:
    table = pilot.app.screen.query_one("#jobs")
    await pilot.press("home")
    for _ in range(table.row_count):
        if pilot.app.screen.selected_job() == name:
            return
        await pilot.press("down")
    raise AssertionError(f"no row for {name}")


def cell_text(table, row: int, column: int) -> str:
    return str(table.get_row_at(row)[column])


def test_jobs_screen_shows_schedule_in_words_last_run_and_history(
        demo_runs, tmp_path, monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            table = app.screen.query_one("#jobs")
            rows = {cell_text(table, i, 0): i for i in range(table.row_count)}
            assert set(rows) == {"docs", "nightly", "ride_audit"}
            audit = rows["ride_audit"]
            await pilot.pause(0.2)  # schedules fill in right after the first frame
            assert cell_text(table, audit, 6) == "0 6 * * 1-5"
            # The zone is named by the next fire beside it ("06:00 UTC").
            assert cell_text(table, audit, 7) == "At 06:00, Monday through Friday"
            assert cell_text(table, audit, 5).endswith("06:00 UTC")
            assert cell_text(table, audit, 2).endswith("error")
            assert cell_text(table, audit, 4) == "✗"
            assert app.sub_title == "engine: none (dbt-console engine start)"

    asyncio.run(scenario())


def test_failed_run_opens_with_the_failing_test_first(demo_runs, tmp_path, monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)
    app = DbtConsoleApp(resolve_paths(), start_engine=False)
    ui_reads = ui_thread_reads_of_a_run(monkeypatch, lambda: isinstance(app.screen, RunScreen))

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await open_latest_run(pilot, "ride_audit")
            # Its reads were the worker's: for a teammate each is a socket round trip.
            assert ui_reads == [], "\n".join(ui_reads)
            nodes = app.screen.query_one("#nodes")
            assert cell_text(nodes, 0, 2) == "assert_rides_end_within_a_day"
            assert cell_text(nodes, 0, 0) == "✗ fail"
            assert cell_text(nodes, 1, 0) == "- skipped"
            review = str(app.screen.query_one("#review").render())
            assert ("✗ assert_rides_end_within_a_day: Got 3 results, configured to fail if "
                    "!= 0") in review
            assert "9 node(s) skipped because of these" in review
            log = app.screen.query_one(LogView)
            lines = await all_lines(pilot, log)
            assert "  Got 3 results, configured to fail if != 0" in lines
            await pilot.press("escape")
            assert not isinstance(app.screen, RunScreen)

    asyncio.run(scenario())


def ui_thread_reads_of_a_run(monkeypatch, during) -> list[str]:
    """The statements about a run's log, steps or nodes that run on the UI thread while
    `during()` holds, from every store connection opened from now on (SQLite's own trace
    hook: what the run screen asks of the store, however it asks)."""
    connect, reads = sqlite3.connect, []

    def trace(sql: str) -> None:
        if (threading.current_thread() is threading.main_thread() and during()
                and re.search(r"\b(log_chunks|steps|node_results|runs)\b", sql)):
            reads.append(sql)

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    return reads


async def all_lines(pilot, log: LogView) -> list[str]:
    """Every line of the log, once the view's reader thread has read their pages (the
    view never reads while drawing)."""
    await until(pilot, lambda: all(log.line(i) for i in range(log.line_count)),
                "the log's pages")
    return [log.line(i).msg for i in range(log.line_count)]


def test_run_now_streams_the_log_until_success(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    assert binary(home, "demo", "--no-tui").code == 0

    async def scenario():
        app = DbtConsoleApp(resolve_paths())
        async with app.run_test(size=(100, 30)) as pilot:
            # No engine alive: the app starts one in the background, and says so.
            await until(pilot, lambda: "in background" in app.sub_title, "a background engine",
                        rounds=1200)
            assert app.sub_title == f"engine: pid {app.background_pid} in background"
            await select_job(pilot, "nightly")
            await pilot.press("r")
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, RunScreen)
            log = screen.query_one(LogView)
            await until(pilot, lambda: screen.run is not None, "the run screen's first frame")
            counts_while_running: set[int] = set()
            # A deadline, not a wait: the loop ends when the screen says the run ended. A
            # cold seed and build of 23 nodes took past 120 s at load 8 (6 test workers).
            deadline = time.monotonic() + 300
            while not screen.run.status.finished:
                assert time.monotonic() < deadline, (
                    f"the run did not finish: {screen.run.status.value}, "
                    f"{log.line_count} lines shown")
                if screen.run.status is RunStatus.RUNNING:
                    counts_while_running.add(log.line_count)
                await pilot.pause(0.1)
            assert screen.run.status is RunStatus.SUCCESS
            # Streamed, not dumped at the end: the view grew while the run was going. (Not
            # "more lines after the end than before": on a fast day every line is shown
            # before the screen learns the run ended, and CI failed on exactly that.)
            growing = sorted(c for c in counts_while_running if c > 0)
            assert len(growing) >= 2, f"line counts seen while running: {growing}"
            assert log.line_count >= growing[-1]
            last = await all_lines(pilot, log)
            assert any(m.startswith("Done. PASS=23") for m in last)
            assert log.follow
            assert log.scroll_offset.y == log.max_scroll_y  # followed to the end

    try:
        asyncio.run(scenario())
    finally:
        stop_engine(home)


def test_help_lists_every_key_of_the_screen(demo_runs, tmp_path, monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            described = {d for _, d in app.screen.keys}
            assert {"Open the job's latest run", "Run the job now and open the run",
                    "Pause or resume the job", "Help", "Quit"} <= described
            keys = [k for k, _ in app.screen.keys]
            assert "tab, shift+tab" in keys and "← → ↑ ↓" in keys
            assert sum("⏎" in k for k in keys) == 1, keys  # enter is listed once
            await pilot.press("escape")
            await select_job(pilot, "ride_audit")
            await pilot.press("enter", "question_mark")
            await pilot.pause()
            described = {d for _, d in app.screen.keys}
            assert {"Back", "Cancel the run", "Follow", "Help", "Quit",
                    "The log across the whole width, or not"} <= described

    asyncio.run(scenario())


def test_help_is_built_once_per_screen_and_follows_the_focus(demo_runs, tmp_path,
                                                             monkeypatch):
    """`?` keeps one help screen per kind of screen (building it was most of what `?`
    cost); opened again, it lists the keys of what has the focus now."""
    demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_latest_run(pilot, "ride_audit")
            run = app.screen
            await pilot.press("question_mark")
            await pilot.pause()
            first, keys = app.screen, app.screen.keys
            await pilot.press("escape", "tab")
            await pilot.pause()
            assert app.screen is run and run.focused is not None
            await pilot.press("question_mark")
            await pilot.pause()
            assert app.screen is first  # the same help, not built again
            assert app.screen.keys == screen_keys(run) != keys, run.focused
            shown = str(app.screen.query_one("#keys", Static).render())
            assert all(description in shown for _, description in app.screen.keys[:3])

    asyncio.run(scenario())


def test_space_pauses_and_resumes_the_selected_job(demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await select_job(pilot, "nightly")
            await pilot.press("space")
            await pilot.pause()
            with Store(home / "dbt-console.db") as store:
                assert store.get_job("nightly").enabled is False
            table = app.screen.query_one("#jobs")
            row = [cell_text(table, i, 0) for i in range(table.row_count)].index("nightly")
            assert cell_text(table, row, 1) == "paused"
            assert cell_text(table, row, 5) == "-"  # no next fire while paused
            await pilot.press("space")
            await pilot.pause()
            with Store(home / "dbt-console.db") as store:
                assert store.get_job("nightly").enabled is True

    asyncio.run(scenario())


def test_a_runner_pressing_edit_new_or_delete_is_told_why_and_no_form_opens(
        demo_runs, tmp_path, monkeypatch):
    """The dashboard in this process runs as root (the store's owner, admin): a runner
    cannot exist in it, so the app's actor is swapped for a granted runner's name, the
    one stand-in here (team_access's tests drive real unix users through the CLI)."""
    from dbt_console.access import Grant
    from dbt_console.actions import Actor, Context

    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    with Store(home / "dbt-console.db") as store:
        store.grant(Grant("rae_runner", "runner"), "root")

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        app.ctx.close()
        app.ctx = Context(resolve_paths(), Actor("rae_runner", via="dashboard", uid=54321))
        async with app.run_test(size=(100, 30)) as pilot:
            await select_job(pilot, "nightly")
            for key in ("e", "n", "d"):
                await pilot.press(key)
                await pilot.pause()
                assert app.screen.__class__.__name__ == "JobsScreen", key
            said = [n.message for n in app._notifications]
            assert len(said) == 3 and all("not allowed" in m and "editor role" in m
                                          and "rae_runner is runner" in m for m in said), said

    asyncio.run(scenario())


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_binary_in_a_real_terminal(demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    try:
        with tmux_dashboard(home, "test", (100, 30)) as (session, screen):
            deadline = time.monotonic() + 20
            while "ride_audit" not in screen() or "in background" not in screen():
                assert time.monotonic() < deadline, screen()
                time.sleep(0.2)
            subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
            deadline = time.monotonic() + 20
            while subprocess.run(["tmux", "has-session", "-t", session],
                                 capture_output=True).returncode == 0:
                assert time.monotonic() < deadline, "q did not quit: " + screen()
                time.sleep(0.2)
    finally:
        stop_engine(home)


def test_history_filters_by_status_and_opens_a_past_run(demo_runs, tmp_path, monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)
    from dbt_console.tui.screens.history import HistoryScreen

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("H")  # every job's runs
            await pilot.pause()
            assert isinstance(app.screen, HistoryScreen)
            runs = app.screen.query_one("#runs")
            assert [cell_text(runs, i, 1) for i in range(runs.row_count)] == [
                "ride_audit", "nightly"]  # newest first
            await pilot.press("slash")
            await pilot.press(*"status:error", "enter")
            await pilot.pause()
            assert [cell_text(runs, i, 1) for i in range(runs.row_count)] == ["ride_audit"]
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RunScreen)
            # The first frame is read on the screen's worker, never on the UI thread.
            await until(pilot, lambda: app.screen.run is not None, "the run screen's first frame")
            assert app.screen.run.job_name == "ride_audit"

    asyncio.run(scenario())


def test_history_pages_through_many_runs(tmp_path, monkeypatch, paths, store):
    from dbt_console.model import Job
    from dbt_console.tui.screens.history import PAGE

    store.save_jobs([Job(name="busy", commands=("dbt run",), project_dir="/srv")])
    job = store.get_job("busy")
    for _ in range(PAGE * 2 + 5):
        store.enqueue_run(job, Trigger.manual(), "me")

    async def scenario():
        app = DbtConsoleApp(paths, start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("h")
            await pilot.pause()
            runs = app.screen.query_one("#runs")
            assert runs.row_count == PAGE  # one page, not everything
            await pilot.press("G")
            await pilot.pause()
            assert runs.row_count == PAGE * 2
            await pilot.press("G")
            await pilot.pause()
            assert runs.row_count == PAGE * 2 + 5

    asyncio.run(scenario())


def test_failed_node_opens_with_its_message_and_compiled_sql(demo_runs, tmp_path,
                                                             monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)
    from textual.widgets import Static

    from dbt_console.tui.screens.node import NodeScreen

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_latest_run(pilot, "ride_audit")
            app.screen.query_one("#nodes").focus()
            await pilot.press("enter")  # the first node: the failing test
            await pilot.pause()
            assert isinstance(app.screen, NodeScreen)
            shown = " ".join(str(s.render()) for s in app.screen.query(Static))
            assert "Got 3 results, configured to fail if != 0" in shown
            assert "assert_rides_end_within_a_day.sql" in shown  # where the compiled SQL is
            assert "duration_minutes > 24 * 60" in app.screen.sql  # and the SQL itself

    asyncio.run(scenario())


async def type_into(pilot, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.value = ""
    widget.focus()
    await pilot.press(*text)


def test_job_form_refuses_a_bad_cron_then_saves_a_good_one(demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    from dbt_console.tui.screens.job_form import JobFormScreen

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("n")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, JobFormScreen)
            await type_into(pilot, "#f-name", "weekly")
            await type_into(pilot, "#f-project_dir", str(home / "demo" / "pedalshare"))
            await type_into(pilot, "#f-schedule-cron", "0 25 * * 1")
            await pilot.pause(0.3)
            assert any("schedule: cron '0 25 * * 1' is not valid" in p for p in form.problems)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form, "an invalid job is not saved"
            await type_into(pilot, "#f-schedule-cron", "0 3 * * 1")
            await pilot.pause(0.3)
            assert form.problems == []
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is not form

    asyncio.run(scenario())
    listed = binary(home, "jobs", "list").out
    assert "weekly" in listed and "0 3 * * 1 (UTC)" in listed


def test_second_save_of_the_same_job_is_refused(demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 40)) as pilot:
            await select_job(pilot, "nightly")
            await pilot.press("e")
            await pilot.pause()
            form = app.screen
            # Meanwhile a teammate saves nightly from their own terminal.
            assert binary(home, "jobs", "pause", "nightly").code == 0
            await type_into(pilot, "#f-description", "mine")
            await pilot.pause(0.3)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form, "the conflicting save was refused"

    asyncio.run(scenario())
    job = binary(home, "jobs", "show", "nightly").out
    assert "enabled: false" in job and "mine" not in job  # the teammate's change stands


def test_command_palette_runs_a_job(demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Run nightly now" in titles and "History of ride_audit" in titles
            await pilot.press("ctrl+p")
            await pilot.press(*"Run nightly now")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause()

    asyncio.run(scenario())
    queued = [r for r in runs_json(home) if r["status"] == "queued"]
    assert [(r["job"], r["trigger"]) for r in queued] == [("nightly", "manual")]


def test_timing_shows_each_node_on_the_time_axis_and_the_trend(demo_runs, tmp_path,
                                                               monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)
    from textual.widgets import Static

    from dbt_console.tui.screens.timing import TimingScreen

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await select_job(pilot, "nightly")
            await pilot.press("enter", "t")
            await pilot.pause()
            assert isinstance(app.screen, TimingScreen)
            chart = str(app.screen.query_one("#gantt", Static).render())
            lines = [ln for ln in chart.splitlines() if ln.startswith("fct_rides")]
            assert lines and "█" in lines[0] and lines[0].split()[1].startswith("T")
            # The demo runs 4 threads: T1..T4, whatever numbers dbt's threads had.
            threads = {ln.split()[1] for ln in chart.splitlines()[1:] if ln.strip()}
            assert threads <= {"T1", "T2", "T3", "T4", "M"}, threads
            trend = str(app.screen.query_one("#trend", Static).render())
            assert trend.startswith("0 ") and "s  (oldest on the left" in trend

    asyncio.run(scenario())


def test_history_keeps_the_cursor_on_its_run_when_new_runs_arrive(tmp_path, monkeypatch,
                                                                   paths, store):
    from dbt_console.model import Job

    store.save_jobs([Job(name="busy", commands=("dbt run",), project_dir="/srv")])
    job = store.get_job("busy")
    for _ in range(5):
        store.enqueue_run(job, Trigger.manual(), "me")

    async def scenario():
        app = DbtConsoleApp(paths, start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("h", "down", "down")
            await pilot.pause()
            runs = app.screen.query_one("#runs")
            assert runs.cursor_key == "3"
            with Store(paths.store) as other:  # another process queues a run
                other.enqueue_run(job, Trigger.manual(), "teammate")
            await pilot.pause(0.8)
            assert runs.row_count == 6 and runs.key_at(0) == "6"
            assert runs.cursor_key == "3"

    asyncio.run(scenario())


@pytest.mark.parametrize("refreshed", [False, True])
def test_acting_on_a_job_a_teammate_just_deleted_shows_a_message(demo_runs, tmp_path,
                                                                  monkeypatch, refreshed):
    """Whether the table refreshed between the delete and the key or not, `space` acts on
    the job the user chose or says it is gone: never on the row that slid under the
    cursor."""
    home = demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await select_job(pilot, "nightly")
            assert binary(home, "jobs", "delete", "nightly").code == 0
            table = app.screen.query_one("#jobs")
            if refreshed:
                app.screen.refresh_jobs()
                assert "nightly" not in table.rows and table.cursor_key is not None
            await pilot.press("space")
            await pilot.pause()
            messages = [n.message for n in app._notifications]
            assert len(messages) == 1 and "'nightly'" in messages[0], messages
            assert app.is_running
            app.screen.refresh_jobs()
            assert "nightly" not in table.rows  # the table shows the store as it is now
            assert [j["enabled"] for j in json.loads(binary(home, "jobs", "list", "--json").out)] \
                == [True, True]  # the job that slid under the cursor was not paused

    asyncio.run(scenario())


def test_dashboard_without_a_terminal_says_so(tmp_path):
    result = binary(tmp_path / "home", stdin=subprocess.DEVNULL)
    assert result.code == 2
    assert "the dashboard needs a terminal" in result.err
    assert "Traceback" not in result.err


def test_editing_a_job_with_a_secret_hook_keeps_the_secret_and_never_shows_it(
        demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    secret_url = "https://hooks.slack.com/services/T0/B0/s3cretPath"
    from dbt_console.jobspec import parse_jobs
    from dbt_console.tui.screens.job_form import JobFormScreen

    with Store(home / "dbt-console.db") as store:
        job = store.get_job("nightly")
        edited = parse_jobs(f"""
jobs:
  - name: nightly
    project_dir: {job.project_dir}
    commands: ["dbt seed", "dbt build --exclude tag:audit"]
    hooks:
      - {{type: slack, url: "{secret_url}", events: [errored]}}
""", "t", tmp_path)[0]
        store.update_job(edited, "nightly", job.version)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 40)) as pilot:
            await select_job(pilot, "nightly")
            await pilot.press("e")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, JobFormScreen)
            hooks_text = form.query_one("#f-hooks").text
            assert "s3cretPath" not in hooks_text and "********" in hooks_text
            await type_into(pilot, "#f-description", "edited")
            await pilot.pause(0.3)
            assert form.problems == []
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is not form

    asyncio.run(scenario())
    with Store(home / "dbt-console.db") as store:
        job = store.get_job("nightly")
        assert job.description == "edited"
        assert job.hooks[0].options["url"] == secret_url


def test_run_screen_lists_the_runs_deliveries(demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    with Store(home / "dbt-console.db") as store:
        audit = store.list_runs("ride_audit", limit=1)[0]
        store.add_deliveries([(audit.id, "ride_audit", 0, "slack", "https://hooks.slack.com/…",
                               "errored", "{}")])
        delivery = store.list_deliveries(audit.id)[0]
        store.record_attempt(delivery.id, False, 500, "POST https://hooks.slack.com/… → 500",
                             "nope", time.time() + 60)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_latest_run(pilot, "ride_audit")
            shown = str(app.screen.query_one("#deliveries").render())
            assert "→ slack https://hooks.slack.com/… (errored): pending after 1 attempt(s)" \
                in shown
            assert "POST https://hooks.slack.com/… → 500" in shown

    asyncio.run(scenario())


def test_ci_job_shows_a_row_per_open_branch_and_reruns_the_branch(demo_runs, tmp_path,
                                                                   monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    bare, a = branch_remote(tmp_path, "feature/new")
    _, b = branch_remote(tmp_path, "feature/old", bare)
    jobs = tmp_path / "ci.yml"
    jobs.write_text(f"jobs:\n  - name: pr\n    git: {{url: {bare}}}\n"
                    "    ci: {defer_to: nightly, branches: feature/*}\n")
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    with Store(home / "dbt-console.db") as store:
        # What the engine's poller records: a first look marks, then two branches move.
        store.record_ci_heads("pr", {"feature/old": a}, "push")
        store.record_ci_heads("pr", {"feature/old": b, "feature/new": a}, "push")
        store.record_ci_heads("pr", {"feature/new": a}, "push")  # feature/old deleted
        before = [r.id for r in store.list_runs("pr")]
        waiting = store.list_runs("pr", branch="feature/new")[0]

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(140, 30)) as pilot:
            table = app.screen.query_one("#jobs")
            assert "pr@feature/new" in table.rows and "pr@feature/old" not in table.rows
            row = table.rows["pr@feature/new"]
            assert "feature/new" in str(row[0]) and "queued" in str(row[2])
            assert "CI of feature/* against nightly" in str(table.rows["pr"][7])
            await select_job(pilot, "pr")  # the CI job's own row: no branch to run
            await pilot.press("r")
            await pilot.pause()
            assert "its runs come from branches" in list(app._notifications)[-1].message
            await pilot.press("down")
            assert app.screen.selected_branch() == "feature/new"
            await pilot.press("r")
            # The run screen it opens watches until it goes: not a worker to wait for.
            await workers_done(app)
            await pilot.pause()
            # The branch's run still waiting is the one asked for: no second run.
            assert f"run {waiting.id} of pr on feature/new queued" in \
                list(app._notifications)[-1].message
            with Store(home / "dbt-console.db") as store:
                assert [r.id for r in store.list_runs("pr")] == before
                runs = store.list_runs("pr", branch="feature/new")
            assert (str(runs[0].trigger), runs[0].git_branch, runs[0].git_sha,
                    runs[0].actor) == (f"ci:feature/new@{a}", "feature/new", a,
                                   pwd.getpwuid(os.getuid()).pw_name)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RunScreen) and app.screen.run_id == waiting.id

    asyncio.run(scenario())


def test_run_screen_serves_the_docs_and_says_where(demo_runs, tmp_path, monkeypatch):
    import httpx

    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    docs = binary(home, "run", "docs", "--wait")
    assert docs.code == 0, docs.out + docs.err

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(140, 40)) as pilot:
            await select_job(pilot, "nightly")
            await pilot.press("enter", "o")
            await pilot.pause()
            assert "set generate_docs: true" in list(app._notifications)[-1].message
            await pilot.press("escape")
            await select_job(pilot, "docs")
            await pilot.press("enter", "o")
            await pilot.pause()
            line = str(app.screen.query_one("#docs-line").render())
            url = next(w for w in line.split() if w.startswith("http://127.0.0.1:"))
            assert "ssh -L" in line
            async with httpx.AsyncClient() as client:
                page = await client.get(url)
                catalog = await client.get(url + "catalog.json")
                target = await client.get(url + "run_results.json")
            assert page.status_code == 200 and catalog.status_code == 200
            assert "stg_stations" in catalog.text
            assert target.status_code == 404  # only the docs site, not the target dir

    asyncio.run(scenario())


def test_the_header_says_who_you_are_and_the_audit_screen_lists_changes(
        demo_runs, tmp_path, monkeypatch):
    from dbt_console.tui.screens.audit import AuditScreen

    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    assert binary(home, "jobs", "pause", "nightly").code == 0
    assert binary(home, "tokens", "create", "bot", "--role", "admin").code == 2
    me = pwd.getpwuid(os.getuid()).pw_name

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.title == f"dbt-console · {me} (admin)"  # the store's owner
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, AuditScreen)
            rows = list(app.screen.query_one("#audit").rows.values())
            assert [str(r[2]) for r in rows[:2]] == ["tokens.create", "jobs.set_enabled"]
            assert str(rows[0][3]) == "refused" and str(rows[0][6]).startswith(
                "unknown role 'admin'")
            assert (rows[1][1], str(rows[1][3]), rows[1][5]) == (me, "done", "cli")
            # At 80 columns the outcome is on screen, beside the action.
            screen = "\n".join(str(app.screen.query_one("#audit").render_line(y).text)
                               for y in range(4))
            assert "refused" in screen and "done" in screen, screen

    asyncio.run(scenario())
