"""What each CLI command does, a module per group of commands: parse, call an action
(dbt_console.actions, the same ones the dashboard and the API call), print the answer. A
command's module is imported only when that command runs, so `dbt-console --help` stays
quick."""

from __future__ import annotations

import sys
import time
from argparse import Namespace
from importlib import import_module
from pathlib import Path

from dbt_console.actions.context import connect
from dbt_console.config import resolve_paths
from dbt_console.errors import UserError

# command -> (module in this package, function)
HANDLERS = {
    "access": ("access", "cmd_access"),
    "audit": ("access", "cmd_audit"),
    "cancel": ("running", "cmd_cancel"),
    "ci": ("ci", "cmd_ci"),
    "compare": ("ci", "cmd_compare"),
    "deliveries": ("notify", "cmd_deliveries"),
    "demo": ("jobs", "cmd_demo"),
    "docs": ("docs", "cmd_docs"),
    "engine": ("engine", "cmd_engine"),
    "hooks": ("notify", "cmd_hooks"),
    "jobs": ("jobs", "cmd_jobs"),
    "logs": ("history", "cmd_logs"),
    "prune": ("serve", "cmd_prune"),
    "rerun": ("running", "cmd_rerun"),
    "retry": ("running", "cmd_retry"),
    "review": ("history", "cmd_review"),
    "run": ("running", "cmd_run"),
    "runs": ("history", "cmd_runs"),
    "serve": ("serve", "cmd_serve"),
    "status": ("serve", "cmd_status"),
    "store": ("store", "cmd_store"),
    "tokens": ("tokens", "cmd_tokens"),
}


def dispatch(args: Namespace) -> int:
    module, function = HANDLERS[args.command]
    handler = getattr(import_module(f"dbt_console.commands.{module}"), function)
    with connect(resolve_paths(), "cli") as ctx:
        return handler(args, ctx)


def out(text: str = "") -> None:
    """A line to stdout; on a terminal, control characters in it are shown, not obeyed."""
    from dbt_console.humanize import terminal_safe

    sys.stdout.write((terminal_safe(text) if sys.stdout.isatty() else text) + "\n")


def write_crash_report(text: str) -> Path | None:
    """The crash.log the report went to, or None: it could not be written, so the report
    went to stderr instead."""
    try:
        report = resolve_paths().data_dir / "crash.log"
        report.parent.mkdir(parents=True, exist_ok=True)
        with report.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n{text}\n")
    except (OSError, UserError):
        sys.stderr.write(text)
        return None
    return report
