"""The warm helper's warm-up: dbt run once per installed adapter on a throwaway project,
so the modules a real step needs are in memory before the helper forks its first child.

Standard library only at import time, like helper.py, which imports it as a sibling
script module (the helper runs under a job's interpreter, without dbt-console).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import dbt_compat as compat  # a sibling: the helper runs these as scripts (warmup.py)

WARMUP_PROJECT = {
    "dbt_project.yml": "name: warmup\nversion: '1.0'\nprofile: warmup\nconfig-version: 2\n",
    "models/warm.sql": "select a from {{ ref('seed') }}",
    "models/warm.yml": "models:\n  - name: warm\n    columns:\n      - name: a\n"
                       "        data_tests: [not_null]\n",
    "seeds/seed.csv": "a\n1\n",
}
# Modules a build imports only when it starts; a compile-only warm-up would leave them.
BUILD_MODULES = ("dbt.task.build", "dbt.task.run", "dbt.task.seed", "dbt.task.test",
                 "dbt.task.snapshot", "dbt.task.docs.generate", "dbt.task.run_operation",
                 "dbt.task.show", "dbt.task.freshness", "dbt.task.deps")


def warm_up(adapters: list[str], build: bool = True, macros: str | None = None) -> str:
    """Import every adapter and, with `build`, run dbt once per adapter on a throwaway
    project: a real build on DuckDB (it needs no server), a parse and compile on the
    others, whose profile points nowhere (a compile with --no-populate-cache opens no
    connection). The .sql files in `macros` join the project, so their templates are
    compiled with the rest (compile_macros). Returns what was warmed, for the ready line
    and `status`."""
    for name in adapters:
        try:
            importlib.import_module(f"dbt.adapters.{name}")
            importlib.import_module(f"dbt.adapters.{name}.impl")
        except Exception:  # noqa: BLE001 - a broken adapter is that job's problem, at run time
            pass
    for module in BUILD_MODULES:  # what a build imports only once it runs
        importlib.import_module(module)
    if not build:
        return "imports"
    warmed = []
    for name in adapters:
        profile = throwaway_output(name)
        if profile is None:
            warmed.append(f"{name} (imports)")
            continue
        command = ["build"] if name == "duckdb" else ["compile", "--no-populate-cache"]
        ok = _run_throwaway(profile, command, macros)
        warmed.append(f"{name} ({command[0] if ok else 'imports'})")
    return ", ".join(warmed) or "imports"


def throwaway_output(adapter: str) -> dict | None:
    """A profile output for `adapter` that dbt accepts and that points nowhere: each
    required credential filled by its type (hosts are 127.0.0.1, ports 1, so a stray
    connection is refused at once rather than hanging). None if the adapter's credentials
    cannot be read."""
    if adapter == "duckdb":
        return {"type": "duckdb", "path": ":memory:", "threads": 1}
    try:
        schema = importlib.import_module(f"dbt.adapters.{adapter}").Plugin.credentials \
            .json_schema()
    except Exception:  # noqa: BLE001 - an adapter we cannot read is only imported
        return None
    output = {"type": adapter, "threads": 1}
    for key in schema.get("required", []):
        spec = schema.get("properties", {}).get(key, {})
        output[key] = _placeholder(key, spec)
    return output


def _placeholder(key: str, spec: dict):
    if spec.get("enum"):
        return spec["enum"][0]
    kind = spec.get("type")
    if kind == "integer" or kind == "number":
        return 1
    if kind == "boolean":
        return False
    return "127.0.0.1" if key in ("host", "server", "account") else "warmup"


def _run_throwaway(output: dict, command: list[str], macros: str | None) -> bool:
    from dbt.cli.main import dbtRunner

    # The pid in the name lets the next engine remove it if this helper is killed now.
    workdir = Path(tempfile.mkdtemp(prefix=f"dbt-console-warmup-{os.getpid()}-"))
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    success = False
    try:
        _write_project(workdir, macros)
        # JSON is YAML: no quoting of whatever a placeholder holds.
        (workdir / "profiles.yml").write_text(json.dumps(
            {"warmup": {"target": "dev", "outputs": {"dev": output}}}))
        os.environ.update({"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                           "DBT_LOG_LEVEL_FILE": "none",
                           # dbt's static parser (Rust) starts a thread pool that lives
                           # for the process; a child forked from us would wait forever
                           # on threads it does not have. Left unused, each child starts
                           # its own.
                           "DBT_STATIC_PARSER": "false"})
        os.chdir(workdir)
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved_out = os.dup(1)
        os.dup2(devnull, 1)  # dbt's output of the warm-up is of no use to anyone
        try:
            where = ["--project-dir", str(workdir), "--profiles-dir", str(workdir), "--quiet"]
            success = dbtRunner().invoke([*command, *where]).success
            # A parse that reads the first one's saved manifest: mashumaro writes the
            # code that unpacks it on first use, 0.1 s that each step would pay again.
            compat.compile_macros(dbtRunner().invoke(["parse", *where]).result)
        finally:
            sys.stdout.flush()
            os.dup2(saved_out, 1)
            os.close(saved_out)
            os.close(devnull)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        compat.release_adapters()
        gc.collect()
        shutil.rmtree(workdir, ignore_errors=True)
    return bool(success)


def _write_project(workdir: Path, macros: str | None) -> None:
    files = dict(WARMUP_PROJECT)
    for path in sorted(Path(macros).glob("*.sql")) if macros else []:
        try:
            files[f"macros/{path.name}"] = path.read_text("utf-8")
        except OSError:  # compiled in the step that calls it instead
            pass
    for rel, text in files.items():
        (workdir / rel).parent.mkdir(parents=True, exist_ok=True)
        (workdir / rel).write_text(text)
