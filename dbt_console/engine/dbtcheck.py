"""Is this program a dbt? A job's dbt is checked when the job is saved and before each
run, so a run never executes some other program while its log says `$ dbt run`."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from dbt_console.engine.warm.launcher import interpreter_of

# path, mtime, size -> the problem found (None: a dbt). A changed file is checked again.
_CHECKED: dict[tuple[str, int, int], str | None] = {}
FINDS_DBT = ("import importlib.util, sys; "
             "sys.exit(importlib.util.find_spec('dbt.cli') is None)")


def problem(path: str) -> str | None:
    """Why `path` is not a dbt (dbt-core) to run, or None when it is."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if not stat.S_ISREG(st.st_mode) or not os.access(path, os.X_OK):
        return f"{path} is not an executable file"
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _CHECKED:
        _CHECKED[key] = _check(path)
    return _CHECKED[key]


def _check(path: str) -> str | None:
    python = interpreter_of(path)
    if python is not None and _imports_dbt(path, python):
        return None  # dbt's entry-point script: known without running it
    try:  # a wrapper or a binary: ask it
        said = subprocess.run([path, "--version"], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL, errors="replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} --version failed: {exc}"
    words = said.stdout + said.stderr
    if "Core:" in words or "dbt-core" in words:
        return None
    first = (words.strip().splitlines() or ["nothing"])[0][:120]
    return f"{path} is not dbt-core: its --version says {first!r}"


def _imports_dbt(path: str, python: str) -> bool:
    head = Path(path).read_text(encoding="utf-8", errors="replace")[:4096]
    if "dbt.cli" not in head:
        return False
    found = subprocess.run([python, "-c", FINDS_DBT], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    return found.returncode == 0
