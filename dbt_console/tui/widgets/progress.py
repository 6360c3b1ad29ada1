"""Nodes done of all nodes, as a bar and a percentage: drawn when the count changes and
never otherwise (Textual's ProgressBar ticks every second for its ETA, and under a dialog
each tick repaints the whole terminal)."""

from __future__ import annotations

from rich.console import Group
from rich.progress_bar import ProgressBar as Bar
from rich.table import Table
from textual.reactive import reactive
from textual.widget import Widget


class NodeProgress(Widget):
    DEFAULT_CSS = "NodeProgress { height: 1; }"

    done: reactive[int] = reactive(0)
    total: reactive[int] = reactive(0)

    def render(self):
        width = max(1, self.size.width - 6)
        row = Table.grid(padding=(0, 1))
        row.add_row(Bar(total=max(self.total, 1), completed=self.done, width=width - 1,
                        style="bar.back", complete_style="bar.complete",
                        finished_style="bar.finished"),
                    f"{100 * self.done // self.total if self.total else 0:>3}%")
        return Group(row)
