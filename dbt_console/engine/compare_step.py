"""CI's compare changes, after a run's commands: which models to measure (those the run
built whose SQL differs from production's manifest), the one `dbt run-operation` that
measures them through the job's own adapter, and what it found, read from its log."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from dbt_console import rundir
from dbt_console.ci import compare
from dbt_console.engine.logpump import RunLog
from dbt_console.engine.steprunner import StepRunner
from dbt_console.model import NodeResult
from dbt_console.runplan import Outcome, Step
from dbt_console.store import CiStore, LogsStore, StepsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (LogsStore, CiStore, StepsStore)


NOT_MEASURED = "not measured: the compare step failed (its error is in the run's log)"


@dataclass(frozen=True)
class Todo:
    command: str
    targets: list[dict]


def todo(run_dir: Path, nodes: list[NodeResult], prod_nodes: list[NodeResult]) -> Todo | None:
    """The compare step for a run (its node results, and those of the production run it
    compares with), or None when it built no modified model."""
    built = _built(nodes)
    branch, prod = _json(rundir.manifest(run_dir)), _json(rundir.state(run_dir) / "manifest.json")
    if not built or branch is None or prod is None:
        return None
    targets = compare.targets(branch, prod, built, frozenset(_built(prod_nodes)))
    if not targets:
        return None
    args = json.dumps({"models": targets, "key_limit": compare.KEY_DIFF_MAX_ROWS},
                      separators=(",", ":"))
    # The build just parsed these files and wrote this run's manifest: on a big project,
    # hashing every file again and writing the manifest again cost more than measuring.
    return Todo(f"dbt run-operation {compare.MACRO} --no-write-json "
                f"--no-partial-parse-file-diff --args {shlex.quote(args)}", targets)


def _built(nodes: list[NodeResult]) -> set[str]:
    return {n.unique_id for n in nodes if n.resource_type == "model" and n.status == "success"}


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def found(store: Repos, run_id: int, step: int, todo: Todo,
          since: int) -> list[compare.ModelDiff]:
    """Each target's differences, from the lines the macro logged in this step (its
    lines come after line `since`)."""
    measured: dict[str, dict] = {}
    for line in store.read_log(run_id, start=since):
        if line.step == step:
            data = compare.parse(line.msg)
            if data is not None:
                measured[data["id"]] = data
    return [compare.diff_of(t, measured[t["id"]]) if t["id"] in measured else
            compare.ModelDiff(t["id"], t["name"], note=NOT_MEASURED) for t in todo.targets]


def run(store: Repos, runner: StepRunner, step: Step, compare_with: int,
        log: RunLog) -> Outcome:
    """CI's compare changes, as `step`: whatever goes wrong is a line in the log, never
    the run's outcome (a cancel or a timeout still ends the run: runplan)."""
    run_id, idx = runner.run_id, step.idx
    wanted = todo(runner.where.run_dir, store.node_results(run_id),
                  store.node_results(compare_with))
    if wanted is None:
        log.system(idx - 1, "compare changes: no model the branch modified was built")
        store.save_compare(run_id, compare_with, [])
        return Outcome(idx, 0)
    since = store.log_line_count(run_id)
    outcome = runner.run(step, wanted.command)
    if outcome.stop is not None:
        return outcome  # asked to stop: the run ends here, as at any step
    if outcome.broke is not None:
        log.system(idx, f"compare changes could not run: {outcome.broke}", "warn")
    diffs = found(store, run_id, idx, wanted, since)
    measured = sum(d.note != NOT_MEASURED for d in diffs)
    if outcome.code != 0 or measured < len(diffs):
        log.system(idx, f"compare changes measured {measured} of {len(diffs)} modified "
                        "models (the step's error is above); the run's outcome does not "
                        "depend on it", "warn")
    else:
        log.system(idx, f"compare changes: {sum(d.differs for d in diffs)} of "
                        f"{len(diffs)} modified models differ from production "
                        f"(dbt-console compare {run_id})")
    store.save_compare(run_id, compare_with, diffs)
    return outcome
