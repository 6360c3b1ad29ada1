"""Imports only go down the layers, and the command line starts light. Each check runs in
a fresh interpreter, so what one test imported cannot hide what another imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return {m.split(".")[0] for m in out.split()} | set(out.split())


@pytest.mark.parametrize("module", [
    "dbt_console.model", "dbt_console.store", "dbt_console.config", "dbt_console.plain",
    "dbt_console.jobspec", "dbt_console.humanize", "dbt_console.ci", "dbt_console.jobfields",
    "dbt_console.jobrules", "dbt_console.jobtext", "dbt_console.queueing", "dbt_console.rundir",
    "dbt_console.hooks",
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


PACKAGE = Path(__file__).parent.parent / "dbt_console"
FRONT_ENDS = ("cli.py", "commands", "tui", "api", "gateway")
# Starting an engine is the one thing a front end may ask of the engine directly.
ENGINE_STARTERS = {"dbt_console.engine.engine", "dbt_console.engine.parts",
                   "dbt_console.engine.one_run",
                   "dbt_console.engine.lease", "dbt_console.engine.launcher",
                   "dbt_console.engine.background"}


def imports_of(source: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("dbt_console")}


def sources(*parts: str) -> list[Path]:
    out = []
    for part in parts:
        path = PACKAGE / part
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return out


def test_front_ends_reach_the_store_only_through_the_actions():
    for source in sources(*FRONT_ENDS):
        for module in imports_of(source):
            assert not module.startswith("dbt_console.store"), (source.name, module)
            if module.startswith("dbt_console.engine."):  # (the bare package: a from-import)
                assert module.rsplit(".", 1)[0] in ENGINE_STARTERS or \
                    module in ENGINE_STARTERS, (source.name, module)


def test_the_actions_and_the_core_never_import_a_front_end():
    core = [p for p in PACKAGE.glob("*.py") if p.name not in ("cli.py", "__main__.py")]
    for source in sources("actions", "engine", "store", "hooks") + core:
        for module in imports_of(source):
            for front in ("dbt_console.cli", "dbt_console.commands", "dbt_console.tui",
                          "dbt_console.api", "dbt_console.gateway"):
                assert not module.startswith(front), (source.name, module)


def test_the_core_imports_neither_actions_store_nor_engine():
    core = [p for p in PACKAGE.glob("*.py") if p.name not in ("cli.py", "__main__.py")]
    for source in core + sources("hooks"):
        for module in imports_of(source):
            for below in ("dbt_console.actions", "dbt_console.store", "dbt_console.engine"):
                assert not module.startswith(below), (source.name, module)


def test_modules_and_functions_stay_small_enough_to_read_in_one_sitting():
    import ast

    for source in sorted(PACKAGE.rglob("*.py")):
        text = source.read_text()
        assert len(text.splitlines()) <= 400, f"{source.relative_to(PACKAGE)} is over 400 lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{source.name}: {node.name} is {length} lines"


def _reached_from(cls, start: str) -> list:
    """The methods of class node `cls` that `start` calls, directly or through others."""
    import ast

    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in methods:
            continue
        seen.add(name)
        for node in ast.walk(methods[name]):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "self"):
                todo.append(node.attr)
    return [methods[n] for n in seen]


def test_drawing_a_line_never_reaches_the_store_or_the_socket():
    """render_line runs on the UI thread for every row of every frame: what it draws must
    be in memory already (a page a reader thread fetched), never a read, which for a
    teammate is a round trip over the engine's socket."""
    import ast

    reaching = {"ctx", "store", "actions", "remote", "_reader", "read_page", "_read_page"}
    drawn = 0
    for source in sources("tui"):
        for cls in ast.walk(ast.parse(source.read_text())):
            if not isinstance(cls, ast.ClassDef):
                continue
            for method in _reached_from(cls, "render_line"):
                drawn += method.name == "render_line"
                for node in ast.walk(method):
                    name = (node.attr if isinstance(node, ast.Attribute)
                            else node.id if isinstance(node, ast.Name) else None)
                    assert name not in reaching, (source.name, cls.name, method.name, name)
    assert drawn >= 2  # the log view and the row list, at least


def test_the_executor_never_sees_a_process():
    """It plans and records; the step runner starts, pumps and signals processes."""
    for module in imports_of(PACKAGE / "engine" / "executor.py"):
        assert not module.startswith(("dbt_console.engine.launcher",
                                      "dbt_console.engine.warm",
                                      "dbt_console.engine.runas")), module
    text = (PACKAGE / "engine" / "executor.py").read_text()
    for word in ("subprocess", "signal_group", "Popen", ".pid"):
        assert word not in text, word


def _store_calls(tree) -> set[str]:
    """The store methods a module calls: `store.x(...)`, `own.x(...)`, `self.store.x(...)`."""
    import ast

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if ((isinstance(owner, ast.Name) and owner.id in ("store", "own"))
                    or (isinstance(owner, ast.Attribute) and owner.attr == "store")):
                found.add(node.func.attr)
    return found


def test_no_engine_part_takes_the_store_whole():
    """Each part is given the store's concerns it uses (store/repos.py), never the whole
    Store: no parameter is a Store, only the engine's start (which migrates) opens one
    whole, and each module calls only methods of the concerns its USES declares."""
    import ast
    import importlib

    from dbt_console.store.repos import ALWAYS, methods

    whole = []
    for source in sources("engine"):
        tree = ast.parse(source.read_text())
        name = source.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(tree):
            annotation = ast.unparse(node.annotation) if isinstance(node, ast.arg) and \
                node.annotation else ""
            if annotation == "Store":
                whole.append(f"{name}: parameter {node.arg}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Store" and name != "dbt_console.engine.engine"):
                whole.append(f"{name}: opens a whole Store")
        calls = _store_calls(tree)
        if not calls:
            continue
        uses = getattr(importlib.import_module(name), "USES", None)
        assert uses is not None, f"{name} calls the store ({sorted(calls)}) but declares no USES"
        allowed = ALWAYS.union(*map(methods, uses))
        assert calls <= allowed, f"{name} calls {sorted(calls - allowed)} beyond its USES"
    assert whole == []
