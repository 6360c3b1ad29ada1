"""A run's log in the user's $PAGER, with the dashboard suspended: the terminal's own
search, selection and copy work there as on any text, over any SSH connection."""

from __future__ import annotations

import os
import shlex
import subprocess

from textual.app import App, SuspendNotSupported

from dbt_console import actions, humanize

DEFAULT_PAGER = "less -R"


def page_log(app: App, run_id: int) -> None:
    """The whole log so far, piped into $PAGER as git and man do (the text on its stdin)."""
    text = "\n".join(humanize.log_line(line) for line in actions.logs.lines(app.ctx, run_id))
    command = os.environ.get("PAGER") or DEFAULT_PAGER
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        app.notify(f"PAGER {command!r} cannot be read: {exc}", severity="error", timeout=8)
        return
    try:
        with app.suspend():
            subprocess.run(argv or shlex.split(DEFAULT_PAGER), input=text.encode() + b"\n",
                           check=False)
    except SuspendNotSupported:
        app.notify("this terminal cannot hand the screen to a pager; the log: dbt-console "
                   f"logs {run_id}", severity="warning", timeout=8)
    except OSError as exc:  # not found, not executable
        app.notify(f"PAGER {command!r} did not start: {exc.strerror or exc}",
                   severity="error", timeout=8)
