"""The dashboard in the terminals teams really have: the real binary in a pseudo-terminal
(every byte it sends, as the terminal gets it) under NO_COLOR, 16 colours, an 8-bit
locale, without the mouse, and idle; the app through Pilot for the pager, the theme kept,
every theme's contrast, dialogs at 80x24 and the clipboard."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import threading
import time
import uuid

import pytest
from test_job_form import until

from conftest import copy_home
from dbt_console.config import resolve_paths
from dbt_console.engine.lease import LEASE_TTL_SECONDS, holder_is_dead
from dbt_console.store import Lease, Store
from dbt_console.tools.pty_terminal import PtyTerminal
from dbt_console.tui.app import DbtConsoleApp
from dbt_console.tui.palette import BACKGROUNDS, MIN_CONTRAST, contrast
from dbt_console.tui.screens.run import RunScreen

pytestmark = pytest.mark.e2e

SGR = re.compile(rb"\x1b\[([0-9;]*)m")
COLOUR_PARAMS = {*range(30, 38), 38, *range(40, 48), 48, *range(90, 98), *range(100, 108)}


def sgr_params(output: bytes) -> list[list[int]]:
    return [[int(p) for p in m.group(1).split(b";") if p] for m in SGR.finditer(output)]


def style_before(output: bytes, text: str) -> set[int]:
    """The SGR parameters in force where `text` is first drawn."""
    at = output.index(text.encode())
    return {int(p) for p in list(SGR.finditer(output[:at]))[-1].group(1).split(b";") if p}


def dashboard(home, size=(100, 30), args=(), **env) -> PtyTerminal:
    base = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    base.pop("NO_COLOR", None)
    return PtyTerminal([sys.executable, "-m", "dbt_console", *args], {**base, **env},
                       size=size)


def open_failed_run(term: PtyTerminal) -> None:
    """The jobs screen, then ride_audit's failed run (the third row) and its node list,
    from its first rows (failed, then skipped) to its last (passed)."""
    term.wait_for(b"Quit")
    since = len(term.output())
    term.key("down", "down", "enter")
    # The node list's rows, not the review line's "skipped".
    term.wait_for(b"- skipped", since=since)
    since = len(term.output())
    term.key("tab", "end")  # to the node list, and its last row: a passed test
    term.wait_for(b" pass", since=since)


@pytest.fixture
def home(demo_runs, tmp_path):
    """A demo home whose lease this test holds: the dashboard finds an engine alive and
    starts none (these tests read the store; an engine's start would draw on screen)."""
    home = copy_home(demo_runs, tmp_path)
    lease = Lease(socket.gethostname(), os.getpid(), uuid.uuid4().hex, "test", time.time(),
                  time.time())
    stop = threading.Event()
    with Store(home / "dbt-console.db") as store:
        assert store.acquire_lease(lease, LEASE_TTL_SECONDS, holder_is_dead) is None

    def beat():
        with Store(home / "dbt-console.db") as store:
            while not stop.wait(2):
                store.heartbeat(lease.token)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    yield home
    stop.set()
    thread.join()


def test_no_color_draws_no_colour_and_shows_failures_in_reverse(home):
    with dashboard(home, NO_COLOR="1", TERM="xterm-256color") as term:
        open_failed_run(term)
        output = term.output()
    params = sgr_params(output)
    assert not [p for p in params if COLOUR_PARAMS & set(p)], "a colour was sent"
    assert {1, 7} <= style_before(output, "✗ fail")  # the failed node, in bold reverse


def test_in_16_colours_meanings_keep_their_basic_colours(home):
    with dashboard(home, TERM="xterm", COLORTERM="") as term:
        open_failed_run(term)
        output = term.output()
    params = sgr_params(output)
    assert not [p for p in params if 38 in p or 48 in p], "a 256 or true colour was sent"
    assert 31 in style_before(output, "✗ fail")      # error: red
    assert 32 in style_before(output, "✓ pass")      # passed: green
    assert 2 in style_before(output, "- skipped")    # skipped: dim, not a colour of its own


def test_an_8_bit_terminal_gets_ascii_not_escapes(home):
    """Under en_US.ISO-8859-1 Python writes '\\u2713' for ✓ (six columns for one)."""
    with dashboard(home, PYTHONIOENCODING="iso8859-1") as term:
        open_failed_run(term)
        output = term.output()
    assert b"\\u" not in output
    text = output.decode("iso8859-1")
    assert "x fail" in text and "v pass" in text and "- skipped" in text
    assert not re.search("[\u0100-\uffff]", text), "a character the terminal cannot show"


def test_no_mouse_leaves_the_mouse_to_the_terminal(home):
    with dashboard(home, args=("--no-mouse",)) as term:
        term.wait_for(b"Quit")
        assert b"\x1b[?1000h" not in term.output()
    with dashboard(home) as term:  # the control: by default the app takes the mouse
        term.wait_for(b"Quit")
        term.wait_for(b"\x1b[?1000h")


def test_an_idle_screen_sends_next_to_nothing(home):
    """Target <= 200 bytes a second with nothing changing (benchmarks/redraw.py measures
    the rest); the jobs screen used to send its table every 2 s."""
    with dashboard(home) as term:
        term.wait_for(b"Quit")
        term.quiet_for(1.5)
        start = time.monotonic()
        time.sleep(4)
        assert term.bytes_between(start, time.monotonic()) <= 800


def full_frames(output: bytes, size: tuple[int, int]) -> int:
    """How many times the whole screen was drawn: pieces starting at the top-left corner
    holding a cursor move to each row."""
    pieces = output.split(b"\x1b[1;1H")[1:]
    return sum(len(re.findall(rb"\x1b\[\d+;1H", piece)) >= size[1] - 1 for piece in pieces)


def test_help_costs_one_full_frame_not_six(home):
    """`?` used to repaint the whole terminal six times (its table sizing itself, the
    covered screen's key line rebuilt under the dialog): 140 KB at 200x50, seconds over
    a slow link."""
    size = (200, 50)
    with dashboard(home, size=size) as term:
        term.wait_for(b"Quit")
        term.quiet_for(1.5)
        since = len(term.output())
        term.key("?")
        term.wait_for(b"Keys: jobs", since=since)
        term.quiet_for(1)
        assert full_frames(term.output()[since:], size) <= 2
        since = len(term.output())
        term.key("escape")
        term.wait_for(b"next fire", since=since)
        term.quiet_for(1)
        assert full_frames(term.output()[since:], size) <= 2


def test_escape_is_a_key_at_once_and_an_arrow_is_still_an_arrow(home):
    """A lone Escape is the esc key after 20 ms, not Textual's 100 ms (over SSH that wait
    came on top of every round trip); an arrow key's sequence starts with the same byte
    and must stay an arrow: pressed in the help, which esc closes, the help stays."""
    with dashboard(home, size=(80, 24)) as term:
        term.wait_for(b"Quit")
        since = len(term.output())
        term.key("?")
        term.wait_for(b"Keys: jobs", since=since)
        term.quiet_for(0.5)
        since = len(term.output())
        term.key("down", "down", "up")
        term.quiet_for(1)
        assert b"next fire" not in term.output()[since:]  # the jobs screen did not return
        term.key("escape")
        term.wait_for(b"next fire", since=since)


def test_the_pager_key_pipes_the_whole_log_into_pager(home, monkeypatch, capfd):
    # Pilot's driver has no terminal to hand over; here it says it can, as a real one does.
    from textual.drivers.headless_driver import HeadlessDriver

    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    monkeypatch.setenv("PAGER", "cat")

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("down", "down", "enter")
            await until(pilot, lambda: isinstance(app.screen, RunScreen), "the run")
            await pilot.press("p")
            await pilot.pause()
            monkeypatch.setenv("PAGER", "no-such-pager-anywhere")
            await pilot.press("p")
            await until(pilot, lambda: app._notifications, "a message")
            return [n.message for n in app._notifications]

    messages = asyncio.run(scenario())
    paged = capfd.readouterr().out
    assert "Completed with 1 error" in paged or "ERROR=1" in paged, paged[-500:]
    assert "fail" in paged and paged.count("\n") > 20
    assert any("no-such-pager-anywhere" in m and "did not start" in m for m in messages)


def test_leaving_the_pager_early_stops_the_reading(monkeypatch):
    """The log goes to the pager as it reads: a pager left after one line (here `head`)
    does not wait for a million-line log to be read and written."""
    from dbt_console import pager

    monkeypatch.setenv("PAGER", "head -n 1")
    made = []

    def log():
        for i in range(1_000_000):
            made.append(i)
            yield f"line {i}"

    pager.page(log())
    assert len(made) < 100_000


def test_the_theme_is_kept_for_the_next_time(home, monkeypatch, tmp_path):
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    async def choose(theme: str | None) -> str:
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            if theme:
                app.theme = theme
                await pilot.pause()
            return app.theme

    assert asyncio.run(choose(None)) == "textual-dark"
    asyncio.run(choose("textual-light"))
    saved = (tmp_path / "config" / "dbt-console" / "dashboard.toml").read_text()
    assert 'theme = "textual-light"' in saved
    assert asyncio.run(choose(None)) == "textual-light"


def test_every_theme_reads_at_4_5_to_1(home, monkeypatch):
    """Each text colour the dashboard draws (text, muted text, error, warning, success,
    accent) against each background it is drawn on (screen, lists, dialogs, the cursor
    row), in every theme the app offers; ANSI themes take the terminal's own colours."""
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    from textual.color import Color

    app = DbtConsoleApp(resolve_paths(), start_engine=False)
    poor = []
    themes = [name for name in app.available_themes if not name.startswith("ansi")]
    assert len(themes) >= 15
    for name in themes:
        app.theme = name
        v = app.get_css_variables()
        base = Color.parse(v["background"])
        grounds = {b: base + Color.parse(v[b]) for b in BACKGROUNDS}
        grounds["cursor row"] = Color.parse(v["dc-cursor"])
        for text in ("dc-text", "dc-muted", "dc-error", "dc-warning", "dc-success",
                     "dc-accent"):
            for ground, colour in grounds.items():
                ratio = contrast(Color.parse(v[text]), colour)
                if ratio < MIN_CONTRAST:
                    poor.append(f"{name}: {text} on {ground} {ratio:.2f}")
    assert not poor, poor


def test_dialogs_show_their_whole_text_at_80x24(home, monkeypatch):
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    from dbt_console.tui.screens.confirm import ConfirmScreen

    long = ("Delete job ride_audit? Its schedule stops at once; its runs, logs and docs "
            "stay in the history until retention removes them. " * 2)

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            app.push_screen(ConfirmScreen(long.strip()))
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
            await pilot.pause()
            return app.screen.query_one("#question").region

    region = asyncio.run(scenario())
    assert region.right <= 80 and region.bottom <= 24, region
    # every character has a cell: the sentence wraps over lines, not off the box
    assert region.width * region.height >= len(long.strip()), region


def test_an_empty_copy_leaves_the_clipboard_alone(home, monkeypatch):
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    app = DbtConsoleApp(resolve_paths(), start_engine=False)
    app.copy_to_clipboard("select 1")
    app.copy_to_clipboard("")
    assert app.clipboard == "select 1"


def test_keys_typed_while_quitting_raise_nothing(home):
    with dashboard(home) as term:
        term.wait_for(b"Quit")
        term.key("n")  # the job form, whose fields the old quit's stray keys looked for
        term.wait_for(b"new job")
        since = len(term.output())
        term.key("escape")  # alone: an escape with more after it reads as alt+...
        term.wait_for(b"next fire", since=since)
        term.key("q", "n", "a", "b", "enter", "q")  # q, then keys while it quits
        term.proc.wait(30)
        output = term.output()
    assert term.proc.returncode == 0
    assert b"Traceback" not in output and b"NoMatches" not in output
