"""A run's course, decided without dbt or a store: deps, commands, docs, compare changes,
the first failure, a cancel, a timeout, a lost process, a retry's steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_console import runplan
from dbt_console.model import DEPS_STEP, DOCS_COMMAND, FIRST_COMMAND_STEP, RunStatus
from dbt_console.runplan import End, Kind, Outcome, Plan, Step, next_step

pytestmark = pytest.mark.unit

FIRST = FIRST_COMMAND_STEP
SUCCESS, ERROR = End(RunStatus.SUCCESS), End(RunStatus.ERROR)


def course(plan: Plan, codes: dict[int, int], **outcome) -> tuple[list[int], End]:
    """Run the plan to its end with each step's exit code from `codes` (0 if unsaid);
    `outcome` adds fields to every outcome. The steps run, and how it ended."""
    done: list[Outcome] = []
    while isinstance(step := next_step(plan, done), Step):
        assert step.idx not in [o.idx for o in done], "a step runs once"
        done.append(Outcome(step.idx, codes.get(step.idx, 0), **outcome))
    return [o.idx for o in done], step


def test_commands_run_in_order_and_the_run_succeeds():
    plan = Plan(("dbt seed", "dbt run", "dbt test"))
    assert next_step(plan, []) == Step(FIRST, "dbt seed", Kind.COMMAND)
    assert course(plan, {}) == ([FIRST, FIRST + 1, FIRST + 2], SUCCESS)


def test_the_first_failure_stops_the_run_and_nodes_failing_is_a_plain_error():
    plan = Plan(("dbt seed", "dbt run", "dbt test"))
    assert course(plan, {FIRST + 1: 1}) == ([FIRST, FIRST + 1], ERROR)


def test_dbt_that_could_not_run_says_its_own_words_or_where_to_look():
    plan = Plan(("dbt run",))
    ran, end = course(plan, {FIRST: 2}, said="Could not find profile named 'x'")
    assert end == End(RunStatus.ERROR, "dbt could not run 'dbt run' (exit code 2): "
                                       "Could not find profile named 'x'")
    assert "in the log above" in course(plan, {FIRST: 2})[1].reason


def test_deps_runs_first_only_when_needed_and_its_failure_ends_the_run():
    assert course(Plan(("dbt run",)), {})[0] == [FIRST]
    plan = Plan(("dbt run",), deps=True)
    assert next_step(plan, []) == Step(DEPS_STEP, "dbt deps", Kind.DEPS)
    assert course(plan, {})[0] == [DEPS_STEP, FIRST]
    ran, end = course(plan, {DEPS_STEP: 1})
    assert ran == [DEPS_STEP] and end.status is RunStatus.ERROR
    assert end.reason.startswith("dbt deps failed (exit code 1): the packages")
    assert course(plan, {DEPS_STEP: 2}, said="404 from hub")[1].reason.endswith("404 from hub")


def test_docs_run_last_and_still_run_when_nodes_failed():
    plan = Plan(("dbt run", "dbt test"), docs=True)
    docs = FIRST + 2
    assert plan.docs_step == docs and plan.steps[-1] == DOCS_COMMAND
    assert course(plan, {}, docs_kept=True) == ([FIRST, FIRST + 1, docs], SUCCESS)
    # dbt run's nodes failed: dbt test is skipped, the docs still describe the project.
    assert course(plan, {FIRST: 1}, docs_kept=True) == ([FIRST, docs], ERROR)
    # ...and docs that then fail too add no reason: the nodes' failure is the story.
    assert course(plan, {FIRST: 1, docs: 2}) == ([FIRST, docs], ERROR)


def test_docs_that_fail_after_good_commands_end_the_run_with_why():
    plan = Plan(("dbt run",), docs=True)
    for codes, kept in (({FIRST + 1: 2}, False), ({}, False)):
        ran, end = course(plan, codes, docs_kept=kept)
        assert end.status is RunStatus.ERROR
        assert end.reason.startswith("dbt docs generate failed (exit code")


def test_a_step_that_cannot_run_at_all_still_skips_docs():
    plan = Plan(("dbt run", "dbt test"), docs=True)
    ran, end = course(plan, {FIRST: 2}, docs_kept=True)
    assert ran == [FIRST] and "dbt could not run 'dbt run'" in end.reason


def test_compare_changes_follow_the_commands_in_the_last_commands_process():
    plan = Plan(("dbt build",), compare=True)
    assert next_step(plan, []) == Step(FIRST, "dbt build", Kind.COMMAND, keep=True)
    assert course(plan, {}) == ([FIRST, FIRST + 1], SUCCESS)
    assert next_step(plan, [Outcome(FIRST, 0)]) == Step(FIRST + 1, None, Kind.COMPARE)
    # Nodes failed: what was built is still compared; the outcome is the commands'.
    assert course(plan, {FIRST: 1}) == ([FIRST, FIRST + 1], ERROR)
    # Compare changes failing or not starting never decides the run.
    assert course(plan, {FIRST + 1: 2}) == ([FIRST, FIRST + 1], SUCCESS)
    broken = [Outcome(FIRST, 0), Outcome(FIRST + 1, None, broke="could not start dbt")]
    assert next_step(plan, broken) == SUCCESS


def test_compare_changes_do_not_follow_dbt_that_could_not_run_or_failed_docs():
    assert course(Plan(("dbt build",), compare=True), {FIRST: 2})[0] == [FIRST]
    plan = Plan(("dbt build",), docs=True, compare=True)
    assert plan.compare_step == FIRST + 2
    assert next_step(plan, [Outcome(FIRST, 0)]).keep is False  # docs come between
    assert course(plan, {}, docs_kept=True)[0] == [FIRST, FIRST + 1, FIRST + 2]
    assert course(plan, {FIRST + 1: 2})[0] == [FIRST, FIRST + 1]


def test_a_cancel_a_timeout_or_a_lost_process_ends_the_run_wherever_it_is():
    plan = Plan(("dbt seed", "dbt run"), docs=True, compare=True)
    cancel = runplan.cancelled(None, "alice")
    assert cancel == End(RunStatus.CANCELLED, "cancelled by alice")
    assert next_step(plan, [Outcome(FIRST, 0, stop=cancel)]) == cancel
    late = runplan.timed_out(5)
    assert late == End(RunStatus.ERROR, "timed out after 5 min")
    done = [Outcome(FIRST, 0), Outcome(FIRST + 1, 0), Outcome(FIRST + 2, 0, docs_kept=True),
            Outcome(FIRST + 3, 130, stop=late)]
    assert next_step(plan, done) == late  # even during compare changes
    lost = [Outcome(FIRST, None, broke="the warm helper died")]
    assert next_step(plan, lost) == End(RunStatus.ERROR, "the warm helper died")
    assert runplan.cancelled("the engine stopped", None).reason == "cancelled: the engine stopped"
    assert runplan.cancelled(None, None) == End(RunStatus.CANCELLED)


def test_a_retry_starts_from_the_failed_steps_results_then_runs_the_rest():
    state = Path("/runs/7/target dir")
    commands = ("dbt seed", "dbt run", "dbt test")
    assert runplan.retry_commands(["dbt seed", "dbt run"], state, commands) == (
        "dbt retry --state '/runs/7/target dir'", "dbt test")
    assert runplan.retry_commands(["dbt seed", "dbt run", "dbt test"], state, commands) == (
        "dbt retry --state '/runs/7/target dir'",)
    # Failed before dbt wrote results (git, deps): it starts over.
    assert runplan.retry_commands([], state, commands) is None
    assert runplan.retry_commands(["dbt seed"], None, commands) is None
