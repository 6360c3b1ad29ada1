"""`?`: every key of the screen it was opened from, generated from its bindings."""

from __future__ import annotations

import io

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from dbt_console.tui.keys import KeysWhenReady

WIDTH = 64  # the dialog's, border and padding included

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
    HelpScreen VerticalScroll {{ height: 1fr; }}
    """

    def __init__(self, for_screen: Screen):
        super().__init__()
        self.keys = screen_keys(for_screen)
        name = getattr(for_screen, "HELP_TITLE", for_screen.__class__.__name__)
        self.title_text = f"Keys: {name}"

    def compose(self) -> ComposeResult:
        # A static table at a height known before the first frame: a DataTable (and an
        # auto height) sized themselves over several frames, each a repaint of the whole
        # terminal under this dialog, 130 KB at 200x50: seconds over a slow SSH link.
        table = Table(box=None, show_header=False, pad_edge=False, expand=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does", ratio=1)
        for key, description in self.keys:
            table.add_row(key, description)
        with Vertical() as box:
            # title, the table's lines as they wrap inside the border, hint, border
            box.styles.height = _lines(table, WIDTH - 4) + 4
            yield Label(self.title_text)
            with VerticalScroll():
                yield Static(table, id="keys")
            yield Label("esc closes", classes="hint")


def _lines(table: Table, width: int) -> int:
    from rich.console import Console

    return len(Console(width=width, file=io.StringIO()).render_lines(table, pad=False))
