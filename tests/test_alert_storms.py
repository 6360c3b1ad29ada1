"""No alert storms: `notify: on_change` sends a job's first failure and its recovery, not
every failed run; `remind_after` sends one reminder while it stays failing. Runs are
written to a real store with the times the test chooses (the clock it moves), and the
messages go to a real HTTP receiver as Slack and Teams messages."""

from __future__ import annotations

import json

import pytest

from dbt_console.engine.notify import notifier, reminders
from dbt_console.jobspec import parse_jobs
from dbt_console.model import RunStatus, Trigger

pytestmark = pytest.mark.real

HOUR = 3600.0
T0 = 1_800_000_000.0  # the first failure's end: a fixed time, far from the real clock


def job_with(store, tmp_path, hooks: str) -> None:
    store.save_jobs(parse_jobs(f"""
jobs:
  - name: hourly
    project_dir: /srv/a
    commands: ["dbt build"]
    hooks:
{hooks}
""", "test", tmp_path))


def ended(store, status: RunStatus, at: float) -> int:
    """A run of the job that ended `status` at `at`, its deliveries queued and sent."""
    run = store.enqueue_run(store.get_job("hourly"), Trigger.manual(), "test")
    store.claim_run(run.id)
    store.finish_run(run.id, status, None if status is RunStatus.SUCCESS else "it broke")
    store.update_run(run.id, started_at=at - 60, finished_at=at)
    notifier.queue_for(store, store.get_run(run.id))
    notifier.send_due(store)
    return run.id


def texts(server) -> list[str]:
    return [json.loads(r["body"])["text"] for r in server.requests]


def test_on_change_sends_the_first_failure_and_the_recovery_only(tmp_path, store, receiver):
    slack, every = receiver(), receiver()
    job_with(store, tmp_path, f"""
      - {{type: slack, url: "{slack.url}/s", notify: on_change}}
      - {{type: slack, url: "{every.url}/s"}}""")
    failures = [ended(store, RunStatus.ERROR, T0 + n * HOUR) for n in range(3)]
    recovered = ended(store, RunStatus.SUCCESS, T0 + 4 * HOUR + 600)
    again = ended(store, RunStatus.SUCCESS, T0 + 5 * HOUR)

    assert texts(slack) == [f":x: hourly: run {failures[0]} errored",
                            f":white_check_mark: hourly: run {recovered} succeeded"]
    note = json.loads(slack.requests[1]["body"])["blocks"][1]["text"]["text"]
    assert note == "recovered after 3 failed run(s), down for 4h 10m"
    # The control: a hook with the default notify hears every failure, and no success.
    assert texts(every) == [f":x: hourly: run {n} errored" for n in failures]
    assert again not in {d.run_id for d in store.list_deliveries()}


def test_remind_after_sends_one_reminder_while_the_job_stays_failing(
        tmp_path, store, receiver):
    teams = receiver()
    job_with(store, tmp_path, f"""
      - {{type: teams, url: "{teams.url}/w", notify: on_change, remind_after: 4h}}""")
    first = ended(store, RunStatus.ERROR, T0)
    assert reminders.check(store, now=T0 + 3 * HOUR) == 0  # not yet
    ended(store, RunStatus.ERROR, T0 + 3.5 * HOUR)  # on_change: not sent
    assert reminders.check(store, now=T0 + 4 * HOUR + 1) == 1
    assert reminders.check(store, now=T0 + 9 * HOUR) == 0  # one per failing streak
    notifier.send_due(store)
    titles = [json.loads(r["body"])["attachments"][0]["content"]["body"][:2]
              for r in teams.requests]
    assert [t[0]["text"] for t in titles] == [f"hourly: run {first} errored",
                                              f"hourly: run {first + 1} errored"]
    assert titles[1][1]["text"] == ("still failing: 2 failed run(s) in a row, for 4h 00m "
                                    "(one reminder)")
    (reminder,) = [d for d in store.list_deliveries() if d.event == "reminder"]
    assert reminder.status == "delivered"

    # Recovered, then failing again: a new streak, and a reminder of its own in time.
    ended(store, RunStatus.SUCCESS, T0 + 10 * HOUR)
    ended(store, RunStatus.ERROR, T0 + 11 * HOUR)
    assert reminders.check(store, now=T0 + 12 * HOUR) == 0
    assert reminders.check(store, now=T0 + 15 * HOUR) == 1


@pytest.mark.parametrize("field, said", [
    ("notify: sometimes", "notify must be one of every, on_change, got 'sometimes'"),
    ("remind_after: soon", "remind_after must be a time such as 30m, 4h or 1d, got 'soon'"),
])
def test_a_bad_notify_or_remind_after_is_refused(tmp_path, home, cli, field, said):
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(f"""jobs:
  - name: hourly
    project_dir: /srv/a
    commands: ["dbt build"]
    hooks:
      - {{type: slack, url: "https://hooks.slack.com/services/T/B/x", {field}}}
""")
    result = cli("jobs", "import", str(jobs))
    assert result.code == 2 and f"hooks[0]: {said}" in result.err, result.err
