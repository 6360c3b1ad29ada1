"""Shared fixtures. Nothing here touches the real home: every test gets its own
DBT_CONSOLE_HOME, and dbt's anonymous usage tracking is off (there is no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_console.cli import main
from dbt_console.config import Paths, resolve_paths
from dbt_console.store import Store

os.environ["DO_NOT_TRACK"] = "1"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    return home


@pytest.fixture
def paths(home: Path) -> Paths:
    return resolve_paths()


@pytest.fixture
def store(paths: Paths):
    with Store(paths.store) as s:
        yield s


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture):
    """dbt-console's main() in this process, as a user would call it."""

    def run(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own exits
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def binary(home: Path, *args: str, timeout: float = 300, **kwargs) -> Result:
    """The installed program in a child process, with DBT_CONSOLE_HOME=home."""
    env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "dbt_console", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo home where nightly (success) and ride_audit (fails on purpose) have each run
    once, through the real binary. Tests read it; tests that change things use their own."""
    home = tmp_path_factory.mktemp("demo-home")
    assert binary(home, "demo", "--no-tui").code == 0
    nightly = binary(home, "run", "nightly", "--wait")
    assert nightly.code == 0, nightly.out + nightly.err
    audit = binary(home, "run", "ride_audit", "--wait")
    assert audit.code == 1, audit.out + audit.err
    return home


def write_jobs(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
