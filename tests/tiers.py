"""The suite's tiers by cost, as markers (CONTRIBUTING, "Tests"):

- unit: starts no process and opens no socket: the inner loop, `pytest -m unit`;
- real: real dbt, git or an HTTP server or client on 127.0.0.1;
- e2e:  end to end: tmux, ptys, several processes, PostgreSQL, other unix users.

Every test has exactly one tier, its own marker or its module's `pytestmark` (never both:
`-m unit` would select a test marked both). A unit
test that starts a process or connects or binds a socket fails at that call, as Airflow's
suite fails a test that reaches a database it was not marked for.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest

TIERS = {
    "unit": "starts no process, opens no socket (the fast tier: pytest -m unit)",
    "real": "real dbt, git or HTTP on 127.0.0.1",
    "e2e": "end to end: tmux, ptys, several processes, PostgreSQL, other unix users",
}
# DBT_CONSOLE_RECORD_TIERS=FILE: record what each test reached instead of guarding (the
# tool that sorted the suite into tiers; see CONTRIBUTING).
RECORD = os.environ.get("DBT_CONSOLE_RECORD_TIERS")


def pytest_configure(config: pytest.Config) -> None:
    for name, words in TIERS.items():
        config.addinivalue_line("markers", f"{name}: {words}")


def tier_of(item: pytest.Item) -> str | None:
    """The test's tier marker (its own, or its module's)."""
    return next((m.name for m in item.iter_markers() if m.name in TIERS), None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if RECORD:
        return
    wrong = [f"{item.nodeid}: {', '.join(names) or 'no tier'}" for item in items
             if len(names := {m.name for m in item.iter_markers() if m.name in TIERS}) != 1]
    if wrong:
        # One tier each, so that `-m unit` can never select a test of another tier (a
        # module's mark and a test's own would both match).
        raise pytest.UsageError("each test needs exactly one tier (unit, real or e2e; "
                                "tests/tiers.py says which is which):\n  "
                                + "\n  ".join(wrong[:20]))


@pytest.fixture(autouse=True)
def tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A unit test may not start a process or connect or bind a socket."""
    if RECORD:
        yield from _recording(request, monkeypatch)
        return
    if tier_of(request.node) != "unit":
        yield
        return

    def refuse(what: str):
        def call(*args, **kwargs):
            raise AssertionError(f"a unit test {what}: mark it real or e2e (tests/tiers.py)")
        return call

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("started a process"))
    monkeypatch.setattr(os, "fork", refuse("forked"))
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse(f"called socket.{name}"))
    yield


def _recording(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    reached: set[str] = set()

    def noting(what: str, original):
        def call(*args, **kwargs):
            reached.add(what)
            return original(*args, **kwargs)
        return call

    monkeypatch.setattr(subprocess.Popen, "_execute_child",
                        noting("process", subprocess.Popen._execute_child))
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, noting("socket", getattr(socket.socket, name)))
    started = time.monotonic()
    yield
    with open(RECORD, "a") as out:
        out.write(json.dumps({"test": request.node.nodeid, "reached": sorted(reached),
                              "fixtures": sorted(request.fixturenames),
                              "seconds": round(time.monotonic() - started, 2)}) + "\n")
