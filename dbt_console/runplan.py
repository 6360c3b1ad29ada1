"""A run's plan: which step runs next, or why the run ends, given what ran so far.

Pure functions over plain data, beside queueing.py: the executor runs the step this
says, records its outcome and asks again. Every rule of a run's course lives here, and is
tested without dbt or a store (tests/test_runplan.py):

- `dbt deps` first, when the project's packages are not installed as declared;
- the job's commands in order, stopping at the first that fails;
- with generate_docs, `dbt docs generate` last, and still run when nodes failed (as dbt
  Cloud does: docs describe a project whose nodes failed);
- for a CI run, compare changes after the commands (it never decides the outcome);
- a cancel, a timeout or a lost process ends the run wherever it is;
- a retry runs `dbt retry` against the failed step's results, then the steps that never
  ran.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dbt_console.model import DEPS_STEP, DOCS_COMMAND, FIRST_COMMAND_STEP, RunStatus

DEPS_COMMAND = "dbt deps"
NOT_FETCHED = ("the packages this project declares are not installed and could not be "
               "fetched (dbt deps needs network access to the package hub or the packages' "
               "git hosts)")


class Kind(Enum):
    DEPS = "deps"
    COMMAND = "command"
    DOCS = "docs"
    COMPARE = "compare"  # its command is worked out from the results (engine/compare_step)


@dataclass(frozen=True)
class Plan:
    """What a run will do, as its set-up found it."""

    commands: tuple[str, ...]  # the job's, or a retry's
    docs: bool = False  # generate_docs: a last `dbt docs generate`
    compare: bool = False  # a CI run with a production run to compare with
    deps: bool = False  # packages declared but not installed as declared

    @property
    def steps(self) -> tuple[str, ...]:
        return self.commands + ((DOCS_COMMAND,) if self.docs else ())

    @property
    def docs_step(self) -> int | None:
        return FIRST_COMMAND_STEP + len(self.steps) - 1 if self.docs else None

    @property
    def compare_step(self) -> int:
        return FIRST_COMMAND_STEP + len(self.steps)


@dataclass(frozen=True)
class Step:
    """The step to run next. `keep`: its process may be kept for the step after it
    (compare changes then runs in the dbt that has the project loaded already)."""

    idx: int
    command: str | None  # None for compare changes
    kind: Kind
    keep: bool = False


@dataclass(frozen=True)
class End:
    """The run ends here, with this status and, when not plain, why."""

    status: RunStatus
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How a step ended, as the plan needs to know it."""

    idx: int
    code: int | None  # None: it has no exit code (see `broke`)
    broke: str | None = None  # it could not start, or its process was lost
    stop: End | None = None  # a cancel or a timeout ended it
    docs_kept: bool = False  # a docs step whose site was kept with the run
    said: str | None = None  # dbt's own first error line, for a step that failed


def timed_out(minutes: int) -> End:
    return End(RunStatus.ERROR, f"timed out after {minutes} min")


def cancelled(why: str | None, by: str | None) -> End:
    """A cancel: `why` when the engine asked (it stopped), else `by` whom."""
    return End(RunStatus.CANCELLED, f"cancelled: {why}" if why else
               f"cancelled by {by}" if by else None)


def next_step(plan: Plan, done: Sequence[Outcome]) -> Step | End:
    """What runs after the steps `done` (in the order they ran), or how the run ends."""
    ran = {o.idx: o for o in done}
    for outcome in done:
        if outcome.broke is not None and outcome.idx != plan.compare_step:
            return End(RunStatus.ERROR, outcome.broke)
        if outcome.stop is not None:
            return outcome.stop
    if plan.deps:
        deps = ran.get(DEPS_STEP)
        if deps is None:
            return Step(DEPS_STEP, DEPS_COMMAND, Kind.DEPS)
        if deps.code != 0:
            return End(RunStatus.ERROR, f"dbt deps failed (exit code {deps.code}): "
                                        + (deps.said or NOT_FETCHED))
    ended = _through_commands(plan, ran)
    if isinstance(ended, Step):
        return ended
    if plan.compare and ended.reason is None and plan.compare_step not in ran:
        return Step(plan.compare_step, None, Kind.COMPARE)
    return ended


def _through_commands(plan: Plan, ran: dict[int, Outcome]) -> Step | End:
    """The next command step, or how the commands ended the run."""
    nodes_failed = False
    for idx, command in enumerate(plan.steps, start=FIRST_COMMAND_STEP):
        outcome = ran.get(idx)
        if idx == plan.docs_step:
            if outcome is None:
                return Step(idx, command, Kind.DOCS)
            if (outcome.code != 0 or not outcome.docs_kept) and not nodes_failed:
                return End(RunStatus.ERROR, f"dbt docs generate failed (exit code "
                                            f"{outcome.code}): the commands succeeded but "
                                            "the docs could not be generated")
            break
        if nodes_failed:
            continue  # straight on to the docs
        if outcome is None:
            return Step(idx, command, Kind.COMMAND,
                        keep=plan.compare and idx == plan.compare_step - 1)
        if outcome.code == 1:
            if plan.docs:
                nodes_failed = True
                continue
            return End(RunStatus.ERROR)  # nodes failed: node results say which
        if outcome.code != 0:
            return End(RunStatus.ERROR, f"dbt could not run '{command}' (exit code "
                                        f"{outcome.code}): "
                                        + (outcome.said or "dbt's own error is in the log above"))
    return End(RunStatus.ERROR if nodes_failed else RunStatus.SUCCESS)


def retry_commands(ran: Sequence[str], state: Path | None,
                   commands: Sequence[str]) -> tuple[str, ...] | None:
    """A retry's commands: `dbt retry` against the failed step's results (`state`, the
    target directory holding its run_results.json), then the commands that never ran.
    `ran` are the failed run's command steps in order, the last of them the one that
    failed. None when there is nothing to retry from (it failed in git or deps, or before
    dbt wrote results): the run starts over."""
    if not ran or state is None:
        return None
    return (f"dbt retry --state {shlex.quote(str(state))}", *commands[len(ran):])
