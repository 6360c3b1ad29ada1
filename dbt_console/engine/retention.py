"""Retention: which finished runs go (settings keep_runs_days and keep_runs_per_job),
which stay whatever their age, and their removal: the store's rows and the run's
directory. The engine prunes once a day; `dbt-console prune` does it by hand."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console import rundir
from dbt_console.config import Paths, Settings
from dbt_console.store import JobsStore, PruneStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (PruneStore, JobsStore)


DAY = 24 * 3600.0
# A job's newest docs stay: looked for among its newest runs only.
DOCS_LOOKBACK = 50


@dataclass
class Plan:
    """What a prune removes: run ids, their directories, and the bytes they take."""

    run_ids: list[int] = field(default_factory=list)
    run_dirs: list[Path] = field(default_factory=list)
    bytes: int = 0


def plan(store: Repos, paths: Paths, settings: Settings, now: float | None = None) -> Plan:
    now = time.time() if now is None else now
    before = now - settings.keep_runs_days * DAY if settings.keep_runs_days else None
    beyond = settings.keep_runs_per_job or None
    kept = store.runs_always_kept() | _newest_docs(store)
    out = Plan()
    for run_id, _, run_dir in store.runs_past_retention(before, beyond):
        if run_id in kept:
            continue
        out.run_ids.append(run_id)
        where = Path(run_dir) if run_dir else paths.run_dir(run_id)
        if where.exists():
            out.run_dirs.append(where)
            out.bytes += tree_bytes(where)
    return out


def _newest_docs(store: Repos) -> set[int]:
    """Per job that generates docs, its newest run whose docs were kept (docs serves them)."""
    kept = set()
    for job in store.list_jobs():
        if not job.generate_docs:
            continue
        for run_id, run_dir in store.newest_run_dirs(job.name, DOCS_LOOKBACK):
            if run_dir and rundir.docs(run_dir).is_dir():
                kept.add(run_id)
                break
    return kept


def apply(store: Repos, what: Plan) -> None:
    """Rows first: a run whose directory is half gone must not be listed meanwhile. The
    files go once the rows' removal commits (an action's unit of work commits at its end)."""
    store.delete_runs(what.run_ids)
    store.on_commit(lambda: _remove(what.run_dirs))


def _remove(paths) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def words(what: Plan, how: str) -> str:
    from dbt_console.humanize import size

    return (f"removed {len(what.run_ids)} run(s) past retention ({size(what.bytes)} freed), "
            f"{how}")


def tree_bytes(path: Path) -> int:
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += tree_bytes(Path(entry.path))
            else:
                total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


def store_bytes(paths: Paths) -> int:
    """The store on disk, with its write-ahead log and shared memory files."""
    return sum(p.stat().st_blocks * 512 for p in paths.store.parent.glob(
        paths.store.name + "*") if p.is_file())


def space(paths: Paths) -> dict[str, int]:
    """Bytes on disk: the store, run directories, git clones."""
    return {"store": store_bytes(paths), "runs": tree_bytes(paths.runs),
            "workspaces": tree_bytes(paths.workspaces)}
