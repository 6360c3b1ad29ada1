"""One node of a run: its status, dbt's message in full, and the compiled SQL that ran."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dbt_console.model import FAILED_NODE, NodeResult
from dbt_console.tui.keys import KeysWhenReady

MAX_SQL_BYTES = 200_000


class NodeScreen(KeysWhenReady, ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    NodeScreen { align: center middle; }
    NodeScreen > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $panel; padding: 0 1;
    }
    NodeScreen .sql { margin-top: 1; }
    """

    def __init__(self, result: NodeResult):
        super().__init__()
        self.result = result
        self.sql = _read(result.compiled_path) if result.compiled_path else None

    def compose(self) -> ComposeResult:
        r = self.result
        with VerticalScroll():
            yield Label(Text.assemble((r.unique_id, "bold"), f"  {r.status}",
                                      f"  step {r.step}",
                                      f"  {r.execution_time:.2f}s" if r.execution_time else ""))
            if r.message:
                error = self.app.status_styles.role["error"]
                yield Static(Text(r.message, style=error if r.status in FAILED_NODE else ""))
            if r.failures:
                yield Label(f"{r.failures} failing row(s)")
            if r.compiled_path:
                yield Label(f"compiled SQL: {r.compiled_path}")
                yield Static(Syntax(self.sql, "sql", word_wrap=True) if self.sql else
                             Text("(the compiled file is not there any more)", style="dim"),
                             classes="sql")
            yield Label("esc closes", classes="hint")


def _read(path: str) -> str | None:
    try:
        with open(Path(path), encoding="utf-8", errors="replace") as fh:
            return fh.read(MAX_SQL_BYTES)
    except OSError:
        return None
