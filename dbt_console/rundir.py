"""A run's directory, laid out here and nowhere else:

    <data>/runs/<id>/target/            dbt's target path (DBT_TARGET_PATH): manifest,
                                        run_results.json of the step running, compiled SQL
    <data>/runs/<id>/logs/dbt.log       dbt's own debug log (DBT_LOG_PATH)
    <data>/runs/<id>/artifacts/step-N/  run_results.json of step N, kept as it ended
    <data>/runs/<id>/docs/              index.html, manifest.json, catalog.json
    <data>/runs/<id>/state/             a CI run's copy of production's manifest
"""

from __future__ import annotations

from pathlib import Path

DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
ARTIFACTS = ("manifest.json", "run_results.json", "catalog.json")


def target(run_dir: Path | str) -> Path:
    return Path(run_dir) / "target"


def logs(run_dir: Path | str) -> Path:
    return Path(run_dir) / "logs"


def dbt_log(run_dir: Path | str) -> Path:
    return logs(run_dir) / "dbt.log"


def manifest(run_dir: Path | str) -> Path:
    return target(run_dir) / "manifest.json"


def run_results(run_dir: Path | str) -> Path:
    return target(run_dir) / "run_results.json"


def compiled(run_dir: Path | str, package: str, original_path: str) -> Path:
    return target(run_dir) / "compiled" / package / original_path


def step_artifacts(run_dir: Path | str, step: int) -> Path:
    return Path(run_dir) / "artifacts" / f"step-{step}"


def docs(run_dir: Path | str) -> Path:
    return Path(run_dir) / "docs"


def state(run_dir: Path | str) -> Path:
    return Path(run_dir) / "state"


def has_docs(run_dir: Path | str | None) -> bool:
    return bool(run_dir) and all((docs(run_dir) / f).is_file() for f in DOCS_FILES)


def artifact(run_dir: Path | str | None, name: str, step: int | None = None) -> Path | None:
    """Where a run keeps an artifact, or None: run_results.json per step (the last step's
    unless one is named), the manifest in target/, the catalog with the docs."""
    if not run_dir or name not in ARTIFACTS:
        return None
    if name == "run_results.json":
        if step is not None:
            candidates = [step_artifacts(run_dir, step) / name]
        else:
            steps = sorted((Path(run_dir) / "artifacts").glob("step-*"),
                           key=lambda p: int(p.name.split("-")[1]), reverse=True)
            candidates = [p / name for p in steps]
    elif name == "manifest.json":
        candidates = [manifest(run_dir)]
    else:
        candidates = [docs(run_dir) / name, target(run_dir) / name]
    return next((p for p in candidates if p.is_file()), None)
