"""Where warm starts lean on dbt's internals, each in one place, said, and checked (the
dbt counterpart of compat/textual.py, kept here because a helper runs its siblings as
scripts under the job's own Python, which need not have dbt-console installed: standard
library only).

Warm helpers (engine/warm/) import dbt once and fork a step from it; to hand a step's
parse to the next, to leave nothing of the warm-up behind and to exit as `dbt` would,
they reach past dbt's public API (dbtRunner). Each use below says what it relies on.
`problems()` checks all of it against the dbt installed (tests/test_compat.py fails when
an upgrade changes any of it); where one is gone, warm steps do what a cold `dbt` would
(parse again, compile on first use) and say so once in the helper's log.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

# What each use relies on: (module, attribute path), as a person would look it up.
RELIES_ON = {
    "manifests": ("dbt.parser.manifest", "ManifestLoader.get_full_manifest"),
    "template cache": ("dbt_common.clients.jinja", "template_cache.get_node_template"),
    "metadata env": ("dbt_common.events.functions", "reset_metadata_vars"),
    "semaphores": ("multiprocessing.util", "_exit_function"),
    "adapters": ("dbt.adapters.factory", "reset_adapters"),
    "event logger": ("dbt_common.events.event_manager_client", "cleanup_event_logger"),
}
# Only where dbt-duckdb is installed: it keeps its database open in a class attribute.
DUCKDB = ("dbt.adapters.duckdb.connections", "DuckDBConnectionManager.close_all_connections")


def _find(module: str, path: str):
    """The object at `module`:`path`, or None when either is gone."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    for name in path.split("."):
        found = getattr(found, name, None)
        if found is None:
            return None
    return found


def problems() -> list[str]:
    """What this module relies on that the installed dbt no longer has."""
    found = [f"{module}.{path} ({use})" for use, (module, path) in RELIES_ON.items()
             if _find(module, path) is None]
    if _installed("dbt-duckdb") and _find(*DUCKDB) is None:
        found.append(f"{DUCKDB[0]}.{DUCKDB[1]} (closing the warm-up's database)")
    return found


def _installed(dist: str) -> bool:
    try:
        version(dist)
    except PackageNotFoundError:
        return False
    return True


def _missing(use: str) -> None:
    module, path = RELIES_ON[use]
    warnings.warn(f"dbt-console: this dbt has no {module}.{path}; warm steps do without "
                  f"({use})", RuntimeWarning, stacklevel=3)


def capture_manifests() -> list:
    """Collect each manifest dbt loads in this process, to hand to a follow-up step.
    Relies on `ManifestLoader.get_full_manifest`, which every command that reads the
    project goes through. Without it, none: the follow-up loads the project itself."""
    loader = _find("dbt.parser.manifest", "ManifestLoader")
    full = getattr(loader, "get_full_manifest", None)
    if full is None:
        _missing("manifests")
        return []
    found: list = []

    def kept(*args, **kwargs):
        manifest = full(*args, **kwargs)
        found.append(manifest)
        return manifest

    loader.get_full_manifest = staticmethod(kept)
    return found


def compile_macros(manifest) -> None:
    """Compile every macro of the manifest into dbt's template cache, which lives for the
    process and is keyed by the macro's text: each forked step finds the
    materializations its adapter runs already compiled. Relies on
    `template_cache.get_node_template`; without it, each step compiles on first use."""
    get = _find(*RELIES_ON["template cache"])
    if get is None:
        _missing("template cache")
        return
    for macro in getattr(manifest, "macros", {}).values():
        try:
            get(macro)
        except Exception:  # noqa: BLE001 - a macro that does not compile is compiled, and
            pass           # fails, where a project calls it


def forget_metadata_env() -> None:
    """dbt caches the DBT_ENV_CUSTOM_ENV_* variables it puts in artifacts' metadata.env
    when first asked; the warm-up asked with the helper's environment, not the step's.
    Relies on `reset_metadata_vars`; a dbt without it has no such cache."""
    reset = _find(*RELIES_ON["metadata env"])
    if reset is not None:
        reset()


def release_semaphores() -> None:
    """What a `dbt` process does at exit that os._exit skips: multiprocessing's
    finalizers, which unlink the named semaphores dbt's locks made (skipped, each step
    leaked two). Relies on `multiprocessing.util._exit_function`, what multiprocessing
    registers with atexit. Never raises: a child must reach os._exit."""
    try:
        exit_function: Callable[[], None] | None = _find(*RELIES_ON["semaphores"])
        if exit_function is not None:
            exit_function()
    except Exception:  # noqa: BLE001
        pass


def release_adapters() -> None:
    """Close what a warm-up build left open: adapter connections (dbt-duckdb keeps the
    database file open and locked in a class attribute) and the event loggers' streams."""
    for use in ("adapters", "event logger"):
        close = _find(*RELIES_ON[use])
        if close is None:
            _missing(use)
        else:
            close()
    close_duckdb = _find(*DUCKDB)
    if close_duckdb is not None:
        close_duckdb()
