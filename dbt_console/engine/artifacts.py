"""dbt's artifacts: per-node results out of run_results.json, and what is kept per run.

Each run has its own target directory. After each step its run_results.json is copied to
artifacts/step-N/ (the next step overwrites the one in target/); manifest.json stays in
target/ so later features (failure review, CI deferral, docs) can read it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dbt_console import rundir
from dbt_console.model import FAILED_NODE, NodeResult


def keep_docs(run_dir: Path) -> bool:
    """Copy the docs site out of target/ (a later run's seeding or a retry may touch it).
    False when dbt did not write all of it."""
    target = rundir.target(run_dir)
    if not all((target / name).is_file() for name in rundir.DOCS_FILES):
        return False
    keep = rundir.docs(run_dir)
    keep.mkdir(parents=True, exist_ok=True)
    for name in rundir.DOCS_FILES:
        shutil.copy2(target / name, keep / name)
    return True


def collect_step(run_dir: Path, step: int, since: float) -> list[NodeResult]:
    """Keep this step's run_results.json and turn it into node results. A step that wrote
    none (dbt failed before running anything) has none."""
    results_file = rundir.run_results(run_dir)
    try:
        if results_file.stat().st_mtime < since:
            return []  # left by an earlier step
        data = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    keep = rundir.step_artifacts(run_dir, step)
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy2(results_file, keep / "run_results.json")
    return node_results(data, step, _compiled_paths(run_dir, data))


def node_results(data: dict, step: int, compiled: dict[str, str]) -> list[NodeResult]:
    out = []
    for r in data.get("results") or []:
        uid = r.get("unique_id") or ""
        timing = r.get("timing") or []
        out.append(NodeResult(
            unique_id=uid,
            status=str(r.get("status")),
            step=step,
            resource_type=uid.split(".", 1)[0],
            message=r.get("message"),
            failures=r.get("failures"),
            execution_time=r.get("execution_time"),
            started_at=timing[0].get("started_at") if timing else None,
            finished_at=timing[-1].get("completed_at") if timing else None,
            thread=r.get("thread_id"),
            compiled_path=compiled.get(uid),
        ))
    return out


def _compiled_paths(run_dir: Path, data: dict) -> dict[str, str]:
    """Where the compiled SQL of each failed node is. Only failures need it, and the
    manifest can be large, so it is read only when something failed."""
    failed = {r.get("unique_id") for r in data.get("results") or []
              if r.get("status") in FAILED_NODE}
    if not failed:
        return {}
    try:
        manifest = json.loads(rundir.manifest(run_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for uid in failed:
        node = (manifest.get("nodes") or {}).get(uid) or {}
        original, package = node.get("original_file_path"), node.get("package_name")
        if not original or not package:
            continue
        path = rundir.compiled(run_dir, package, original)
        if not original.endswith((".sql", ".py")):
            path = path / node.get("path", "")  # generic tests compile under their .yml
        out[uid] = str(path)
    return out


def seed_partial_parse(previous_run_dir: str | None, run_dir: Path) -> bool:
    """Copy the previous run's partial_parse.msgpack in, so dbt re-parses only what changed."""
    if not previous_run_dir:
        return False
    src = rundir.target(previous_run_dir) / "partial_parse.msgpack"
    if not src.is_file():
        return False
    rundir.target(run_dir).mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, rundir.target(run_dir) / "partial_parse.msgpack")
    return True
