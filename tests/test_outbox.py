"""A run's end and its side effects commit together (engine/outbox.py), whatever moment
the engine is killed at: the hooks of a run are delivered at least once with one eventId,
never again once a receiver's 2xx is recorded, and its chained runs are queued, by the
engine that ran it or by the next one's recovery. Real serve processes killed with
SIGKILL, real dbt, a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import signal

import pytest

from conftest import SLOW_PROJECT, binary, make_project, wait_for, write_jobs
from dbt_console.engine.killpoints import DELIVERY_ANSWERED, RUN_ENDED
from dbt_console.model import RunStatus
from dbt_console.store import Store

pytestmark = pytest.mark.real


def home_with_chain(tmp_path, url: str, command: str, on: str, events: str) -> object:
    """`up` (with a webhook to url) and `down`, chained after `up` ends `on`."""
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    home = tmp_path / "home"
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: up
    project_dir: {project}
    commands: ["{command}"]
    hooks:
      - {{type: webhook, url: "{url}/hook", events: {events}}}
  - name: down
    project_dir: {project}
    commands: ["dbt parse"]
    after: up
    on: {on}
""")
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    return home


def events_of(server, run_id: int) -> list[tuple[str, str]]:
    bodies = [json.loads(r["body"]) for r in server.requests]
    return [(b["eventType"], b["eventId"]) for b in bodies if b["data"]["runId"] == str(run_id)]


def runs_of(home, name: str) -> list:
    with Store(home / "dbt-console.db") as store:
        return store.list_runs(name, limit=10)


def killed_by_itself(serve) -> None:
    assert serve.proc.wait(120) == -signal.SIGKILL, "".join(serve.lines)


def test_a_kill_right_after_a_run_ends_loses_neither_its_hook_nor_its_chained_run(
        tmp_path, receiver, serving):
    server = receiver()
    home = home_with_chain(tmp_path, server.url, "dbt parse", "[success]", "[succeeded]")
    first = serving(home, env={"DBT_CONSOLE_KILL_AT": RUN_ENDED})
    up = int(binary(home, "run", "up").out.split()[0])
    killed_by_itself(first)  # the moment the run's end was committed
    assert runs_of(home, "up")[0].status is RunStatus.SUCCESS
    second = serving(home)
    wait_for(lambda: [r for r in runs_of(home, "down") if r.status.finished], timeout=120,
             what="the chained run")
    wait_for(lambda: events_of(server, up), timeout=30, what="the run's hook")
    second.proc.send_signal(signal.SIGTERM)
    second.proc.wait(60)
    assert [e for e, _ in events_of(server, up)] == ["job.run.completed"]
    assert len(runs_of(home, "down")) == 1


def test_a_run_a_dead_engine_left_sends_its_errored_hook_and_queues_its_error_chain(
        tmp_path, receiver, serving):
    server = receiver()
    home = home_with_chain(tmp_path, server.url, "dbt run --select slow", "[error]",
                           "[errored]")
    first = serving(home)
    up = int(binary(home, "run", "up").out.split()[0])

    def querying() -> bool:
        with Store(home / "dbt-console.db") as store:
            return any("START sql" in line.msg for line in store.read_log(up))

    wait_for(querying, timeout=120, what="dbt's query")
    first.proc.kill()
    first.proc.wait()
    second = serving(home)  # its recovery ends the run as an error
    wait_for(lambda: [r for r in runs_of(home, "down") if r.status.finished], timeout=120,
             what="the run chained on error")
    wait_for(lambda: events_of(server, up), timeout=30, what="the errored hook")
    second.proc.send_signal(signal.SIGTERM)
    second.proc.wait(60)
    assert runs_of(home, "up")[0].status is RunStatus.ERROR
    assert [e for e, _ in events_of(server, up)] == ["job.run.errored"]
    assert runs_of(home, "down")[0].status is RunStatus.SUCCESS


def test_a_delivery_answered_but_not_recorded_goes_again_with_its_event_id_then_never(
        tmp_path, receiver, serving):
    """At least once: killed between the receiver's 200 and recording it, the next engine
    sends the same event again (receivers deduplicate by eventId). Once recorded, no
    engine sends it again."""
    server = receiver()
    # `down` follows a failure: it never runs here (a chained run is the other test's).
    home = home_with_chain(tmp_path, server.url, "dbt parse", "[error]", "[succeeded]")
    first = serving(home, env={"DBT_CONSOLE_KILL_AT": DELIVERY_ANSWERED})
    up = int(binary(home, "run", "up").out.split()[0])
    killed_by_itself(first)
    assert len(events_of(server, up)) == 1
    second = serving(home)
    wait_for(lambda: len(events_of(server, up)) == 2, timeout=60, what="the event again")
    second.proc.send_signal(signal.SIGTERM)
    second.proc.wait(60)
    third = serving(home)  # a later engine, and a later run's delivery as a yardstick
    later = int(binary(home, "run", "up").out.split()[0])
    wait_for(lambda: events_of(server, later), timeout=120, what="the later run's hook")
    third.proc.send_signal(signal.SIGTERM)
    third.proc.wait(60)
    (first_event, first_id), (again, again_id) = events_of(server, up)
    assert first_id == again_id and first_event == again
    assert len(events_of(server, up)) == 2
