"""The dashboard as a daily tool: what a new user tripped over at 80x24 (issue 17), each
driven through Pilot on a copy of the demo store."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time

import pytest
from test_job_form import new_job_form, until
from test_tui import all_lines, demo_copy, select_job
from textual import events

from conftest import binary, runs_json, stop_engine, tmux_dashboard
from dbt_console.config import resolve_paths
from dbt_console.tui.app import DbtConsoleApp
from dbt_console.tui.screens.confirm import ConfirmScreen
from dbt_console.tui.screens.history import HistoryScreen
from dbt_console.tui.screens.job_form import JobFormScreen
from dbt_console.tui.screens.jobs import JobsScreen

pytestmark = pytest.mark.e2e

KEY_NAMES = {":": "colon", "/": "slash", " ": "space", "-": "minus"}


def typed_at_once(app, keys: list[str]) -> None:
    """Every key in the app's queue before any is handled: the fastest typist there is."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(KEY_NAMES.get(key, key), key))
        else:
            app.post_message(events.Key(key, None))


async def open_failed_run(pilot, app):
    """The run screen of ride_audit's failed demo run, once it is open."""
    from dbt_console.tui.screens.run import RunScreen

    await select_job(pilot, "ride_audit")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.keys_ready,
                "the run's first frame")
    return app.screen


def test_keys_typed_before_a_screen_is_ready_reach_the_fields_it_says(
        demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await select_job(pilot, "nightly")
            # `r` in the name would run the job under the cursor if it reached the table.
            typed_at_once(app, ["n", *"rr-daily", "tab", *"typed after tab"])
            await until(pilot, lambda: isinstance(app.screen, JobFormScreen)
                        and app.screen.query_one("#f-description").value == "typed after tab",
                        "the description")
            assert app.screen.query_one("#f-name").value == "rr-daily"
            assert len(runs_json(home)) == 2  # no run started by the `r`s
            await pilot.press("escape")  # a filled-in form: it asks first
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen), "the jobs")
            typed_at_once(app, ["H", "/", *"status:error", "enter"])
            await until(pilot, lambda: isinstance(app.screen, HistoryScreen)
                        and app.screen.filters == {"status": "error"}, "the filter")
            assert app.screen.focused is app.screen.query_one("#runs")
            assert isinstance(app.screen, HistoryScreen)  # `enter` filtered, opened nothing

    asyncio.run(scenario())


def test_the_form_round_trip_replaces_the_default_command_and_asks_before_discarding(
        demo_runs, tmp_path, monkeypatch):
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    project = home / "demo" / "pedalshare"

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            form = await new_job_form(pilot)
            await pilot.press(*"daily")
            form.set_focus(form.query_one("#f-project_dir"))
            await pilot.press(*str(project))
            commands = form.query_one("#f-commands")
            form.set_focus(commands)
            await pilot.press(*"dbt seed")
            await until(pilot, lambda: commands.text == "dbt seed", "the typed command")
            await until(pilot, lambda: not form.problems, f"a valid form: {form.problems}")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen)
                        and "daily" in app.screen.table.rows,
                        "the saved job's row")
            await select_job(pilot, "daily")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, JobFormScreen), "the edit form")
            edit = app.screen
            await until(pilot, lambda: bool(edit.initial), "the form's values")
            assert edit.query_one("#f-commands").text == "dbt seed"
            assert edit.query_one("#f-project_dir").value == str(project)
            await pilot.press("escape")  # nothing changed: it just closes
            await until(pilot, lambda: isinstance(app.screen, JobsScreen), "the jobs")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, JobFormScreen), "the edit form")
            await pilot.press("end", *"-x")  # the name changed
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("n")  # keep editing: nothing is lost
            await until(pilot, lambda: isinstance(app.screen, JobFormScreen), "the form")
            assert app.screen.query_one("#f-name").value == "daily-x"

    asyncio.run(scenario())


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_at_80x24_the_run_screen_shows_each_nodes_status_beside_its_name(
        demo_runs, tmp_path, monkeypatch):
    """The real binary in a real 80x24 terminal, on the failed demo run: every node's row
    holds its status and its name, none scrolled out of view; the footer's keys fit."""
    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    try:
        with tmux_dashboard(home, "80x24") as (session, screen):
            _node_rows_at_80x24(home, session, screen)
    finally:
        stop_engine(home)


def _node_rows_at_80x24(home, session: str, screen) -> None:
    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 30
        while text not in (shown := screen()):
            assert time.monotonic() < deadline, f"no {text!r} in:\n{shown}"
            time.sleep(0.2)
        return shown

    jobs = wait_for("q Quit")
    footer = [ln for ln in jobs.splitlines() if ln.strip()][-1]
    assert all(f"{key} " in footer for key in ("d", "?", "q")), jobs
    audit = next(r for r in runs_json(home) if r["job"] == "ride_audit")
    subprocess.run(["tmux", "send-keys", "-t", session, "End", "Enter"], check=True)
    failed = json.loads(binary(home, "review", str(audit["id"]), "--json").out)
    assert failed  # the review agrees there is a failure to show

    def node_rows() -> list[str]:
        return [ln for ln in screen().splitlines() if ln.startswith(("✗ ", "- ", "✓ "))]

    deadline = time.monotonic() + 30  # the review line comes first, then the list
    while not any(r.startswith("- skipped") for r in node_rows()):
        assert time.monotonic() < deadline, screen()
        time.sleep(0.2)
    rows = node_rows()
    assert any(r.startswith("✗ fail") and "assert_rides_end_within_a_day" in r
               for r in rows), rows
    skipped = [r for r in rows if r.startswith("- skipped")]
    assert all(len(r.split()) >= 3 for r in skipped), rows  # the name beside it


def test_the_run_log_gets_the_full_width_when_narrow_or_asked(demo_runs, tmp_path,
                                                               monkeypatch):
    demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario(size):
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=size) as pilot:
            screen = await open_failed_run(pilot, app)
            log, nodes = screen.query_one("#log"), screen.query_one("#nodes")
            await until(pilot, lambda: log.size.width > 0, "a laid out log")
            widths = [(log.size.width, nodes.display, nodes.size.width)]
            await pilot.press("w")
            await until(pilot, lambda: log.size.width >= size[0] - 2, "the log's full width")
            widths.append((log.size.width, nodes.display, nodes.size.width))
            await pilot.press("w")
            await until(pilot, lambda: nodes.display, "the node list back")
            return widths

    narrow = asyncio.run(scenario((80, 24)))
    assert narrow[0][0] >= 78 and narrow[0][2] >= 78  # stacked: both across the width
    wide = asyncio.run(scenario((140, 40)))
    assert wide[0][0] < 100 and wide[0][1]  # side by side
    assert wide[1][0] >= 138 and not wide[1][1]  # `w`: the log alone, full width


def test_a_click_on_a_node_row_is_the_node_enter_opens(demo_runs, tmp_path, monkeypatch):
    """A click only focused the node list, and Enter then opened the row the cursor had
    been left on (a seed) instead of the failed test clicked."""
    from dbt_console.tui.screens.node import NodeScreen
    from dbt_console.tui.screens.run import RunScreen

    demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(140, 40)) as pilot:
            await open_failed_run(pilot, app)
            nodes = app.screen.query_one("#nodes")
            await until(pilot, lambda: nodes.row_count >= 4 and nodes.size.height > 5,
                        "the node rows")
            row = 3  # not the cursor's (0): the failed test sorts first
            await pilot.click("#nodes", offset=(4, row + 1))  # the header is line 0
            await until(pilot, lambda: nodes.cursor == row, "the cursor on the row clicked")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, NodeScreen), "the node")
            opened = app.screen.result.unique_id
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RunScreen), "the run again")
            await pilot.click("#nodes", offset=(4, 1))
            await until(pilot, lambda: nodes.cursor == 0, "the first row")
            await pilot.click("#nodes", offset=(4, 1))  # on the cursor's row: opens it
            await until(pilot, lambda: isinstance(app.screen, NodeScreen), "the first node")
            return nodes.key_at(row), opened, nodes.key_at(0), app.screen.result.unique_id

    clicked, opened, first, opened_first = asyncio.run(scenario())
    assert opened == clicked and first == opened_first and clicked != first


def test_a_failed_run_with_deliveries_leaves_room_for_its_log_and_nodes_at_80x24(
        demo_runs, tmp_path, monkeypatch):
    """The review (with a git project's changes) and the deliveries above the log had left
    5 log lines and 1 node row: at a short height each says less, the latest first."""
    from dbt_console.store import Store

    home = demo_copy(demo_runs, tmp_path, monkeypatch)
    with Store(home / "dbt-console.db") as store:
        audit = store.list_runs("ride_audit", limit=1)[0]
        store.add_deliveries([(audit.id, "ride_audit", i, "webhook", f"http://127.0.0.1/{i}",
                               "errored", "{}") for i in range(5)])

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_failed_run(pilot, app)
            review = screen.query_one("#review")
            await until(pilot, lambda: "✗" in str(review.render())
                        and screen.query_one("#deliveries").display, "the review")
            await pilot.pause()
            return (screen.query_one("#log").size.height,
                    screen.query_one("#nodes").size.height - 1, str(review.render()),
                    screen.query_one("#deliveries").size.height)

    log_lines, node_rows, review, deliveries = asyncio.run(scenario())
    assert log_lines >= 8 and node_rows >= 4 and deliveries <= 2, (log_lines, node_rows,
                                                                   deliveries)
    assert "assert_rides_end_within_a_day" in review and "skipped" in review, review


def _rendered(log, index: int) -> str:
    """Line `index` of the log as the view draws it now (near the end the view scrolls
    only so far, so the line may sit lower down the view)."""
    return "".join(seg.text for seg in log.render_line(index - log.scroll_offset.y))


def test_at_80x24_a_log_line_shows_the_result_and_the_file_it_names(
        demo_runs, tmp_path, monkeypatch):
    """dbt's result after its dot leader and a failed test's compiled-SQL path ended past
    the edge at 80 columns: the leader and the leading directories give way; scrolled
    right, the line is whole again."""
    demo_copy(demo_runs, tmp_path, monkeypatch)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            log = (await open_failed_run(pilot, app)).query_one("#log")
            await until(pilot, lambda: log.line_count > 10 and log.size.width > 0, "the log")
            log.follow = False
            shown = []
            lines = await all_lines(pilot, log)
            for needle, x in (("FAIL 3 ", 0), ("compiled code at", 0), ("compiled code at", 40)):
                index = next(i for i, msg in enumerate(lines) if needle in msg)
                log.scroll_to(x=x, y=index, animate=False, immediate=True)
                shown.append(_rendered(log, index))
            return log.size.width, *shown

    width, result, compiled, scrolled = asyncio.run(scenario())
    assert result.rstrip().endswith("s]") and "[FAIL 3 in " in result, result
    assert "…/" in compiled and compiled.rstrip().endswith(
        "assert_rides_end_within_a_day.sql"), compiled
    assert len(result) == len(compiled) == width
    assert "…" not in scrolled and "/runs/" in scrolled, scrolled  # whole again
