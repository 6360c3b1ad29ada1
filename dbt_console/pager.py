"""Text shown in the user's $PAGER (default `less -R`), given on its standard input as git
and man do; the command is split as a shell would, never run through one."""

from __future__ import annotations

import os
import shlex
import subprocess

from dbt_console.errors import UserError

DEFAULT_PAGER = "less -R"


def page(text: str) -> None:
    """Show `text` in the pager and return when the user leaves it."""
    command = os.environ.get("PAGER") or DEFAULT_PAGER
    try:
        argv = shlex.split(command) or shlex.split(DEFAULT_PAGER)
    except ValueError as exc:
        raise UserError(f"PAGER {command!r} cannot be read: {exc}") from None
    try:
        subprocess.run(argv, input=text.encode() + b"\n", check=False)
    except OSError as exc:  # not found, not executable
        raise UserError(f"PAGER {command!r} did not start: {exc.strerror or exc}") from None
