"""`?`: every key of the screen it was opened from, generated from its bindings."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from dbt_console.tui.keys import KeysWhenReady

WIDTH = 64  # the dialog's, border and padding included
SCROLLBAR = 2  # kept for the list's scrollbar, shown or not, so its lines never rewrap
TEXT_WIDTH = WIDTH - 4 - SCROLLBAR

# Keys Textual gives every screen, which no binding of ours lists.
ALWAYS = [("tab, shift+tab", "Next / previous part of the screen"),
          ("← → ↑ ↓", "Scroll, move the cursor"), ("ctrl+p", "Command palette")]


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """(key, what it does) for this app's own bindings active on the screen: the screen's,
    the focused widget's when it is one of ours, and the app's; each key once."""
    sources = [screen]
    focused = screen.focused
    if focused is not None and type(focused).__module__.startswith("dbt_console."):
        sources.append(focused)
    sources.append(screen.app)
    keys, seen, seen_keys = [], set(), set()
    for source in sources:
        for binding in source.BINDINGS:
            if not isinstance(binding, Binding):
                binding = Binding(*binding)
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            names = [k.strip() for k in binding.key.split(",") if k.strip() not in seen_keys]
            if not names:  # a widget's key the screen already binds (enter, say)
                continue
            seen_keys.update(names)
            shown = ", ".join(screen.app.get_key_display(Binding(k, "")) for k in names)
            keys.append((shown, binding.tooltip or binding.description))
    return keys + ALWAYS


class HelpScreen(KeysWhenReady, ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]
    # At the top, not in the middle: over a slow link the first bytes of the frame are
    # the screen's top rows, and the title then arrives with them.
    DEFAULT_CSS = f"""
    HelpScreen {{ align: center top; }}
    HelpScreen > Vertical {{
        width: {WIDTH}; max-height: 100%; border: thick $primary; background: $panel;
        padding: 0 1;
    }}
    HelpScreen VerticalScroll {{
        height: 1fr; scrollbar-size-vertical: {SCROLLBAR}; scrollbar-gutter: stable;
    }}
    """

    def __init__(self, for_screen: Screen):
        super().__init__()
        self.keys = screen_keys(for_screen)
        name = getattr(for_screen, "HELP_TITLE", for_screen.__class__.__name__)
        self.title_text = f"Keys: {name}"

    @staticmethod
    def open(app) -> None:
        """Help for the current screen. One help screen per kind of screen, kept: building
        its widgets was most of what `?` cost, each time (over a slow link, time on top
        of the round trip)."""
        below = app.screen
        if isinstance(below, HelpScreen):
            return
        name = f"help:{type(below).__name__}"
        if not app.is_screen_installed(name):
            app.install_screen(HelpScreen(below), name)
        else:
            app.get_screen(name).show_keys(screen_keys(below))
        app.push_screen(name)

    def compose(self) -> ComposeResult:
        # Drawn once, as plain lines, at a height known before the first frame: a table
        # widget sized itself over several frames (each a repaint of the whole terminal
        # under this dialog, 130 KB at 200x50), and a Rich table is measured and laid out
        # again at every render; lines are not (`?` answers sooner over a slow link).
        text, height = _keys_text(self.keys)
        with Vertical() as box:
            box.styles.height = height
            yield Label(self.title_text)
            with VerticalScroll():
                yield Static(text, id="keys")
            yield Label("esc closes", classes="hint")

    def show_keys(self, keys: list[tuple[str, str]]) -> None:
        """The keys of the screen it opens over this time (its focus decides some)."""
        if keys == self.keys:
            return
        self.keys = keys
        text, height = _keys_text(keys)
        self.query_one(Vertical).styles.height = height
        self.query_one("#keys", Static).update(text)


def _keys_text(keys: list[tuple[str, str]]) -> tuple[Text, int]:
    """The keys as lines, and the dialog's height for them (title, hint, the border)."""
    lines = _keys_lines(keys)
    return Text("\n").join(lines), len(lines) + 4


def _keys_lines(keys: list[tuple[str, str]]) -> list[Text]:
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("does", ratio=1)
    for key, description in keys:
        table.add_row(key, description)
    console = Console(width=TEXT_WIDTH, file=io.StringIO(), color_system=None)
    out = []
    for segments in console.render_lines(table, pad=False):
        line = Text(no_wrap=True, overflow="crop")
        for segment in segments:
            line.append(segment.text, segment.style)
        out.append(line)
    return out
