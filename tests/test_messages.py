"""The engine socket's messages (actions/messages.py): typed at both ends, a line that is
no message refused whole, and only the types the actions' hints name ever built from
what a peer sends."""

from __future__ import annotations

import pytest

from dbt_console.actions import messages
from dbt_console.actions.jobs import Imported
from dbt_console.model import Job, Overrides, Run, RunStatus, Trigger

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def wire_types():
    messages.allow_wire_types()


def test_a_call_and_its_answer_cross_as_they_were_sent():
    job = Job(name="nightly", commands=("dbt build",), project_dir="/srv/a")
    call = messages.Call("jobs.update", (job, job), {"overrides": Overrides(threads=2)})
    assert messages.request(messages.dump(call)) == call
    run = Run(1, 1, "nightly", RunStatus.ERROR, Trigger.manual(), "me", 1.0)
    assert messages.answer(messages.dump(messages.Done([run]))) == messages.Done([run])
    failed = messages.Failed("ValidationError", "2 problems", ("a", "b"))
    assert messages.answer(messages.dump(failed)) == failed
    assert messages.request(messages.dump(messages.Hello("dashboard"))) == \
        messages.Hello("dashboard")


@pytest.mark.parametrize("line", [
    b"not json", b"[1, 2]", b'{"neither": 1}', b'{"call": 3}',
    b'{"call": "jobs.list", "args": {"~m": []}}',  # args must be a list
    b'{"call": "jobs.list", "args": {"~d": "Context", "paths": "/"}}',  # not a wire type
])
def test_a_line_that_is_no_message_is_refused_whole(line):
    with pytest.raises(messages.BadMessage):
        messages.request(line)


def test_the_wire_types_come_from_the_actions_hints():
    found = messages.wire_types()
    # An action's answer (import_text's Noted[Imported]), its arguments (Overrides) and
    # what their fields hold (Trigger in Run): all there; the store's own classes not.
    assert {Imported, Overrides, Run, Trigger, RunStatus} <= found
    assert not {t.__name__ for t in found} & {"Store", "Repos", "Context", "Noted"}


def test_an_action_is_found_by_name_and_nothing_else_is():
    from dbt_console.actions import jobs
    from dbt_console.actions.guard import find, registry

    assert find("jobs.update") is jobs.update
    assert find("jobs.LOADER_ENV") is None and find("os.system") is None
    assert find("jobs.check_remote") is None  # a helper, not an action
    assert registry()["jobs.update"] is jobs.update
