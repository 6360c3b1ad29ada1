"""Imports only go down the layers, and the command line starts light. Each check runs in
a fresh interpreter, so what one test imported cannot hide what another imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return {m.split(".")[0] for m in out.split()} | set(out.split())


@pytest.mark.parametrize("module", [
    "dbt_console.model", "dbt_console.store", "dbt_console.store.tail", "dbt_console.config",
    "dbt_console.jobspec", "dbt_console.humanize", "dbt_console.ci", "dbt_console.retries",
])
def test_core_imports_neither_engine_nor_tui(module):
    loaded = loaded_after(f"import {module}")
    assert "textual" not in loaded
    assert "dbt_console.engine" not in loaded
    assert "dbt_console.tui" not in loaded


def test_engine_never_imports_textual():
    loaded = loaded_after("import dbt_console.engine.executor")
    assert "textual" not in loaded and "dbt_console.tui" not in loaded


def test_cli_start_imports_no_dbt_git_or_http():
    modules = sorted(p.stem for p in (Path(__file__).parent.parent / "dbt_console" /
                                      "commands").glob("[a-z]*.py"))
    assert "running" in modules
    loaded = loaded_after("import dbt_console.cli\n" + "\n".join(
        f"import dbt_console.commands.{m}" for m in modules))
    for heavy in ("dbt", "git", "httpx", "textual", "apscheduler", "starlette", "uvicorn"):
        assert heavy not in loaded, heavy


def test_api_imports_neither_the_dashboard_nor_dbt():
    loaded = loaded_after("import dbt_console.api.app, dbt_console.api.worker")
    for other in ("textual", "dbt_console.tui", "dbt", "git"):
        assert other not in loaded, other


def test_dashboard_start_imports_no_dbt_git_or_http():
    loaded = loaded_after("import dbt_console.tui.app, dbt_console.tui.screens.jobs")
    for heavy in ("dbt", "git", "httpx"):
        assert heavy not in loaded, heavy


def test_tui_never_runs_sql_or_processes_itself():
    """Screens ask the store and the engine; SQL and subprocesses live below them."""
    tui = Path(__file__).parent.parent / "dbt_console" / "tui"
    for source in tui.rglob("*.py"):
        text = source.read_text()
        for forbidden in ("sqlite3", "subprocess", "execute(\"", "SELECT "):
            assert forbidden not in text, f"{source.name} uses {forbidden}"
