"""What a CI job's run executes: its branch's schema, the production state it defers to,
or, for a cleanup run, the drop of a deleted branch's schema."""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from dbt_console import ci, rundir
from dbt_console.ci import compare
from dbt_console.jobrules import command_argv
from dbt_console.model import Job, Run
from dbt_console.store import CiStore, RunsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (RunsStore, CiStore)



class CiSetupError(Exception):
    """The CI run cannot start; the message is the run's failure reason."""


@dataclass(frozen=True)
class CiPlan:
    commands: list[str]
    env: dict[str, str]
    docs: bool  # whether the job's generate_docs still applies
    compare_with: int | None = None  # the production run compare changes measures against


def cleanup_branch(run: Run) -> str | None:
    return run.trigger.branch if run.trigger.kind == "ci-cleanup" else None


def plan(store: Repos, job: Job, run: Run, project_dir: Path, run_dir: Path, say) -> CiPlan:
    """The steps and environment of a run of a CI job. `say(msg, level)` logs."""
    gone = cleanup_branch(run)
    if gone is not None:
        schema = ci.schema_for(job.name, gone)
        _copy_macro(project_dir, ci.CLEANUP_MACRO_FILE)
        say(f"dropping schema {schema}, CI's schema for the deleted branch {gone}", "info")
        args = shlex.quote(json.dumps({"schema": schema}))
        return CiPlan([f"dbt run-operation {ci.CLEANUP_MACRO} --args {args}"], {}, False)
    if not run.git_branch:
        raise CiSetupError(f"{job.name} is a CI job: a run needs a branch "
                           f"(dbt-console run {job.name} --branch BRANCH)")
    schema = ci.schema_for(job.name, run.git_branch)
    say(f"CI run of {run.git_branch}: everything it builds goes to schema {schema} "
        f"(profiles.yml reads it from {ci.SCHEMA_ENV})", "info")
    argvs = [command_argv(c) for c in job.commands]
    production = store.last_success_before(job.ci.defer_to)
    manifest = rundir.manifest(production.run_dir or "") if production else None
    if manifest is not None and manifest.is_file():
        # A copy: the production run's directory may be cleaned up while this one runs.
        state = rundir.state(run_dir)
        state.mkdir(parents=True, exist_ok=True)
        shutil.copy2(manifest, state / "manifest.json")
        sha = f" at {production.git_sha[:12]}" if production.git_sha else ""
        say(f"comparing with {job.ci.defer_to} run {production.id}{sha}: what the branch did "
            "not change is read from production's relations (--defer --state)", "info")
        argvs = [ci.with_state(argv, str(state)) for argv in argvs]
        # Written before the build, so its parse is the one the compare step reuses.
        _copy_macro(project_dir, compare.MACRO_FILE)
        compare_with = production.id
    else:
        say(f"no successful run of {job.ci.defer_to} with a manifest yet, so there is no "
            "production state to compare with: building everything the commands select, "
            "without their state: selectors", "warn")
        argvs = [ci.without_state_selection(argv) for argv in argvs]
        compare_with = None
    return CiPlan([shlex.join(a) for a in argvs], {ci.SCHEMA_ENV: schema}, True, compare_with)


def finished(store: Repos, job: Job, run: Run) -> None:
    """Bookkeeping once a CI job's run has its status."""
    gone = cleanup_branch(run)
    if gone is not None and run.status.value == "success":
        store.mark_ci_dropped(job.name, gone)


def _copy_macro(project_dir: Path, name: str) -> None:
    """The drop and compare changes run through dbt, so they work on any adapter; the
    macros they need go into the job's own clone, which the next run's git clean removes."""
    import yaml

    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text("utf-8")) or {}
        macro_dir = (project.get("macro-paths") or ["macros"])[0]
    except (OSError, yaml.YAMLError, AttributeError, IndexError, TypeError):
        macro_dir = "macros"
    target = project_dir / str(macro_dir) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ci.MACROS / name, target)
