"""Text shown in the user's $PAGER (default `less -R`), given on its standard input as git
and man do; the command is split as a shell would, never run through one."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Iterable
from itertools import islice

from dbt_console.errors import UserError

DEFAULT_PAGER = "less -R"
BATCH_LINES = 2000


def page(lines: Iterable[str]) -> None:
    """Show the lines in the pager and return when the user leaves it. They are written
    as the pager reads them: a million-line log shows at once, is never held whole in
    memory, and leaving the pager early stops the reading."""
    command = os.environ.get("PAGER") or DEFAULT_PAGER
    try:
        argv = shlex.split(command) or shlex.split(DEFAULT_PAGER)
    except ValueError as exc:
        raise UserError(f"PAGER {command!r} cannot be read: {exc}") from None
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    except OSError as exc:  # not found, not executable
        raise UserError(f"PAGER {command!r} did not start: {exc.strerror or exc}") from None
    lines = iter(lines)
    try:
        with contextlib.suppress(BrokenPipeError):  # the user left before the end
            while batch := list(islice(lines, BATCH_LINES)):
                proc.stdin.write(("\n".join(batch) + "\n").encode())
            proc.stdin.close()
    finally:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.wait()
