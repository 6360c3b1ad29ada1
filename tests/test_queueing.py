"""Queueing policy, decided without a store: what a fire, a push, a CI head, a chained
run or a person asking makes of the queue."""

from __future__ import annotations

import pytest

from dbt_console import queueing
from dbt_console.model import Job, Run, RunStatus, Trigger
from dbt_console.queueing import Waiting

pytestmark = pytest.mark.unit


def test_a_schedule_keeps_one_waiting_run_and_a_person_always_gets_their_own():
    waiting = [Waiting(7, Trigger.schedule())]
    assert queueing.merge_target(Trigger.schedule(), waiting) == 7
    assert queueing.merge_target(Trigger.catch_up(), waiting) is None
    assert queueing.merge_target(Trigger.manual(), waiting) is None
    assert queueing.merge_target(Trigger.api(), [Waiting(3, Trigger.api())]) is None
    assert queueing.merge_target(Trigger.retry(2), [Waiting(3, Trigger.retry(2))]) is None


def test_pushes_coalesce_into_the_newest_waiting_push_run():
    waiting = [Waiting(4, Trigger.push("a" * 40)), Waiting(9, Trigger.push("b" * 40)),
               Waiting(5, Trigger.manual())]
    assert queueing.merge_target(Trigger.push("c" * 40), waiting) == 9


def test_a_ci_branch_joins_only_its_own_branch_waiting_run():
    waiting = [Waiting(1, Trigger.ci("feature/a", "1" * 40)),
               Waiting(2, Trigger.ci("feature/b", "2" * 40))]
    assert queueing.merge_target(Trigger.ci("feature/b", "3" * 40), waiting) == 2
    assert queueing.merge_target(Trigger.ci("feature/c", "3" * 40), waiting) is None
    # A branch name holding '@' still parses: the sha is after the last one.
    assert Trigger.parse(str(Trigger.ci("x@y", "4" * 40))).branch == "x@y"


def test_the_first_sight_of_a_head_only_marks_it():
    assert not queueing.push_is_due(None, "a")
    assert not queueing.push_is_due("a", "a")
    assert queueing.push_is_due("a", "b")


def test_ci_heads_run_new_moved_and_returning_branches_and_mark_the_gone():
    known = {"feature/same": ("s", None), "feature/moved": ("m", None),
             "feature/back": ("b", 100.0), "feature/gone": ("g", None),
             "feature/long-gone": ("l", 50.0)}
    heads = {"feature/same": "s", "feature/moved": "m2", "feature/back": "b",
             "feature/new": "n"}
    decision = queueing.ci_heads(known, heads, first_poll=False)
    assert decision.run == (("feature/back", "b"), ("feature/moved", "m2"),
                            ("feature/new", "n"))
    assert decision.gone == ("feature/gone",)
    assert queueing.ci_heads(known, heads, first_poll=True).run == ()


def test_chained_jobs_run_after_the_statuses_they_wait_for():
    def job(name, after, on=("success",), enabled=True):
        return Job(name=name, commands=("dbt build",), project_dir="/p", after=after,
                   after_statuses=on, enabled=enabled)

    jobs = [job("a", "up"), job("b", "up", ("error",)), job("c", "up", enabled=False),
            job("d", "other")]
    run = Run(1, 1, "up", RunStatus.SUCCESS, Trigger.manual(), "me", 0.0)
    assert [j.name for j in queueing.downstream(run, jobs)] == ["a"]
    run.status = RunStatus.ERROR
    assert [j.name for j in queueing.downstream(run, jobs)] == ["b"]


def test_a_batch_of_fires_queues_each_enabled_job_once():
    fires = [("a", 1.0), ("b", 1.0), ("a", 2.0), ("paused", 2.0)]
    assert queueing.fires_to_queue(fires, {"a", "b"}) == ["a", "b"]


def test_an_after_chain_back_to_its_start_is_a_cycle():
    after = {"a": "b", "b": "c", "c": "a", "d": "a", "e": None}
    assert queueing.after_cycle(after, "a") == ["a", "b", "c", "a"]
    assert queueing.after_cycle(after, "d") is None  # leads into a cycle, is not one
    assert queueing.after_cycle(after, "e") is None
    assert queueing.after_cycle({"self": "self"}, "self") == ["self", "self"]
