"""Runs, newest first: of one job or of everything, filtered by status, job, trigger and
text, read from the store a page at a time so 100,000 runs open as fast as ten."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label

from dbt_console import humanize
from dbt_console.model import RunStatus
from dbt_console.tui.screens.jobs import STATUS_STYLE

PAGE = 100
REFRESH_SECONDS = 0.5
# Fixed widths: the table need not measure every cell of a page to lay it out.
COLUMNS = {"run": 7, "job": 18, "status": 9, "trigger": 16, "by": 10, "started": 19,
           "took": 8, "sha": 10}
FILTER_KEYS = ("status", "job", "trigger")


def parse_filter(text: str) -> dict[str, str]:
    """'status:error job:nightly some words' -> {'status': 'error', 'job': 'nightly',
    'text': 'some words'}. Unknown statuses are kept so the query finds nothing."""
    found: dict[str, str] = {}
    words = []
    for word in text.split():
        key, sep, value = word.partition(":")
        if sep and key in FILTER_KEYS and value:
            found[key] = value
        else:
            words.append(word)
    if words:
        found["text"] = " ".join(words)
    return found


class HistoryScreen(Screen):
    HELP_TITLE = "history"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "top", "Top", show=False),
        Binding("G", "bottom", "Bottom", show=False),
    ]

    def __init__(self, job_name: str | None = None):
        super().__init__()
        self.base_filter = f"job:{job_name}" if job_name else ""
        self.filters = parse_filter(self.base_filter)
        self._version: int | None = None
        self._oldest: int | None = None
        self._exhausted = False

    @property
    def store(self):
        return self.app.store

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(value=self.base_filter, id="filter",
                    placeholder="filter: status:error job:NAME trigger:schedule text")
        yield Label(id="history-count")
        table = DataTable(cursor_type="row", zebra_stripes=True, id="runs")
        for column, width in COLUMNS.items():
            table.add_column(column, key=column, width=width)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = bool(self.base_filter)
        self.query_one("#runs", DataTable).focus()
        self.reload()
        self.set_interval(REFRESH_SECONDS, self.refresh_runs)

    def _query(self, before_id: int | None, limit: int = PAGE):
        f = self.filters
        return self.store.list_runs(f.get("job"), limit=limit, before_id=before_id,
                                    status=f.get("status"), trigger=f.get("trigger"),
                                    text=f.get("text"))

    def _cells(self, run) -> tuple:
        return (str(run.id), run.job_name,
                Text(run.status.value, style=STATUS_STYLE.get(run.status.value, "")),
                run.trigger, run.actor, humanize.local_time(run.started_at or run.queued_at),
                humanize.duration(run.duration), (run.git_sha or "")[:10])

    def reload(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.clear()
        self._oldest, self._exhausted = None, False
        self._version = self.store.data_version()
        self.load_more()

    def load_more(self) -> None:
        if self._exhausted:
            return
        runs = self._query(self._oldest)
        table = self.query_one("#runs", DataTable)
        with self.app.batch_update():
            for run in runs:
                table.add_row(*self._cells(run), key=str(run.id))
        if runs:
            self._oldest = runs[-1].id
        self._exhausted = len(runs) < PAGE
        shown = table.row_count
        self.query_one("#history-count", Label).update(
            f"{shown} run(s)" + ("" if self._exhausted else "+, more as you scroll")
            + (f"  filter: {self.query_one('#filter', Input).value}"
               if self.query_one("#filter", Input).value else ""))

    def refresh_runs(self) -> None:
        """New runs appear at the top; runs shown update their status in place."""
        version = self.store.data_version()
        if version == self._version:
            return
        self._version = version
        table = self.query_one("#runs", DataTable)
        newest = int(table.coordinate_to_cell_key((0, 0)).row_key.value) if table.row_count \
            else 0
        fresh = [r for r in self._query(None, PAGE) if r.id > newest]
        if fresh:
            self.reload()  # a page from the top, keyed: cheap and keeps the order simple
            return
        visible = self._query(None, min(table.row_count, PAGE) or PAGE)
        for run in visible:
            key = str(run.id)
            if key in table.rows:
                for column, value in zip(COLUMNS, self._cells(run), strict=True):
                    if str(table.get_cell(key, column)) != str(value):
                        table.update_cell(key, column, value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if event.cursor_row >= table.row_count - 10:
            self.load_more()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from dbt_console.tui.screens.run import RunScreen

        self.app.push_screen(RunScreen(int(event.row_key.value)))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        filters = parse_filter(event.value)
        status = filters.get("status")
        if status and status not in {s.value for s in RunStatus}:
            self.notify(f"status:{status} is not a run status (one of: "
                        f"{', '.join(s.value for s in RunStatus)})", severity="error")
            return
        self.filters = filters
        self.reload()
        self.query_one("#runs", DataTable).focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            self.query_one("#runs", DataTable).focus()
            return
        self.app.pop_screen()

    def action_cursor_down(self) -> None:
        self.query_one("#runs", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#runs", DataTable).action_cursor_up()

    def action_top(self) -> None:
        self.query_one("#runs", DataTable).action_scroll_top()

    def action_bottom(self) -> None:
        """The last run loaded; the next page loads as the cursor gets there."""
        self.query_one("#runs", DataTable).action_scroll_bottom()
