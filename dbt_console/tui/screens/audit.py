"""The audit log: every change anyone made, from where, done or refused, newest first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Label

from dbt_console import actions, humanize
from dbt_console.tui.keys import KeysWhenReady
from dbt_console.tui.screens import covered
from dbt_console.tui.widgets.footer import footer
from dbt_console.tui.widgets.row_list import RowList

# What matters first, for 80 columns: the outcome's word before what it acted on, and the
# why of a refusal (or an edit's before and after) last, where it may run long.
COLUMNS = ("when", "who", "action", "outcome", "what", "via", "why / detail")
REFRESH_SECONDS = 1.0


class AuditScreen(KeysWhenReady, Screen):
    HELP_TITLE = "audit log"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(id="audit-count")
        yield RowList(list(COLUMNS), id="audit")
        yield footer()

    def on_mount(self) -> None:
        self._version: int | None = None
        self.query_one(RowList).focus()
        self.reload()
        self.set_interval(REFRESH_SECONDS, self.reload)

    def reload(self) -> None:
        if self._version is not None and covered(self):
            return
        ctx = self.app.ctx
        version = actions.status.data_version(ctx)
        if version == self._version:
            return
        self._version = version
        rows = self.app.attempt(actions.team.audit_log, ctx) or []
        error = self.app.status_styles.role["error"]
        self.query_one(RowList).set_rows([(str(r.id), _row(r, error)) for r in rows])
        self.query_one("#audit-count", Label).update(
            f"{len(rows)} most recent change(s); dbt-console audit --json for all")


def _row(r, error_style) -> tuple:
    word, _, why = r.outcome.partition(": ")
    detail = "; ".join(part for part in (why, r.detail) if part)
    return (humanize.local_time(r.at)[5:], r.actor, r.action,
            Text(word, style="" if word == "done" else error_style), r.target, r.via, detail)
