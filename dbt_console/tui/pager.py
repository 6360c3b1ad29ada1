"""A run's log in the user's $PAGER, with the dashboard suspended: the terminal's own
search, selection and copy work there as on any text, over any SSH connection."""

from __future__ import annotations

from textual.app import App, SuspendNotSupported

from dbt_console import actions, humanize, pager
from dbt_console.errors import UserError


def page_log(app: App, run_id: int) -> None:
    """The whole log so far, in the pager; a pager that does not start is a message."""
    lines = (humanize.log_line(line) for line in actions.logs.lines(app.ctx, run_id))
    try:
        with app.suspend():
            pager.page(lines)
    except SuspendNotSupported:
        app.notify("this terminal cannot hand the screen to a pager; the log: dbt-console "
                   f"logs {run_id}", severity="warning", timeout=8)
    except UserError as exc:
        app.notify(str(exc), severity="error", timeout=8)
