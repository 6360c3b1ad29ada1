"""Runs, newest first: of one job or of everything, filtered by status, job, trigger and
text, read from the store a page at a time so 100,000 runs open as fast as ten."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Input, Label

from dbt_console import actions, humanize
from dbt_console.model import RunStatus
from dbt_console.tui.keys import KeysWhenReady
from dbt_console.tui.screens import covered
from dbt_console.tui.widgets.footer import footer
from dbt_console.tui.widgets.row_list import RowList

PAGE = 100
REFRESH_SECONDS = 0.5
COLUMNS = ("run", "job", "status", "trigger", "by", "started", "took", "sha")
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


class HistoryScreen(KeysWhenReady, Screen):
    HELP_TITLE = "history"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter"),
    ]

    def __init__(self, job_name: str | None = None):
        super().__init__()
        self.base_filter = f"job:{job_name}" if job_name else ""
        self.filters = parse_filter(self.base_filter)
        self._version: int | None = None
        self._oldest: int | None = None
        self._exhausted = False

    @property
    def ctx(self):
        return self.app.ctx

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(value=self.base_filter, id="filter",
                    placeholder="filter: status:error job:NAME trigger:schedule text")
        yield Label(id="history-count")
        yield RowList(list(COLUMNS), id="runs")
        yield footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = bool(self.base_filter)
        self.query_one("#runs", RowList).focus()
        self.reload()
        self.set_interval(REFRESH_SECONDS, self.refresh_runs)

    def _query(self, before_id: int | None, limit: int = PAGE):
        f = self.filters
        return actions.runs.history(self.ctx, f.get("job"), limit=limit, before_id=before_id,
                                    status=f.get("status"), trigger=f.get("trigger"),
                                    text=f.get("text"))

    def _cells(self, run) -> tuple:
        return (str(run.id), run.job_name,
                Text(run.status.value, style=self.app.status_styles.run.get(run.status.value, "")),
                run.trigger.short(), run.actor,
                humanize.local_time(run.started_at or run.queued_at),
                humanize.duration(run.duration), (run.git_sha or "")[:10])

    def reload(self) -> None:
        table = self.query_one("#runs", RowList)
        keep = table.cursor_key
        table.clear()
        self._oldest, self._exhausted = None, False
        self._version = actions.status.data_version(self.ctx)
        self.load_more()
        if keep in table.rows:  # new runs arrived: stay on the run the user was on
            table.cursor = list(table.rows).index(keep)

    def load_more(self) -> None:
        if self._exhausted:
            return
        runs = self._query(self._oldest)
        table = self.query_one("#runs", RowList)
        table.append_rows([(str(run.id), self._cells(run)) for run in runs])
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
        if self._version is not None and covered(self):
            return
        version = actions.status.data_version(self.ctx)
        if version == self._version:
            return
        self._version = version
        table = self.query_one("#runs", RowList)
        newest = int(table.key_at(0) or 0)
        if any(r.id > newest for r in self._query(None, 1)):
            self.reload()  # new runs: a page from the top again keeps the order simple
            return
        for run in self._query(None, min(table.row_count, PAGE) or PAGE):
            if str(run.id) in table.rows:
                table.update_row(str(run.id), self._cells(run))

    def on_row_list_highlighted(self, event: RowList.Highlighted) -> None:
        if event.index >= event.row_list.row_count - 10:
            self.load_more()

    def on_row_list_selected(self, event: RowList.Selected) -> None:
        from dbt_console.tui.screens.run import RunScreen

        self.app.push_screen(RunScreen(int(event.key)))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        self.set_focus(box)  # now: the next key typed is the filter's

    def on_input_submitted(self, event: Input.Submitted) -> None:
        filters = parse_filter(event.value)
        status = filters.get("status")
        if status and status not in {s.value for s in RunStatus}:
            self.notify(f"status:{status} is not a run status (one of: "
                        f"{', '.join(s.value for s in RunStatus)})", severity="error")
            return
        self.filters = filters
        self.reload()
        self.set_focus(self.query_one("#runs", RowList))

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            self.set_focus(self.query_one("#runs", RowList))
            return
        self.app.pop_screen()
