"""Notification hooks over real HTTP: a receiver on 127.0.0.1 in this process records
every request. Real dbt runs, the real engine, real retries (with the backoff shortened)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import sys

import pytest
from smtpserver import parts

from conftest import SLOW_PROJECT, binary, copy_home, import_jobs, make_project, wait_for
from dbt_console.config import Settings
from dbt_console.engine.engine import Engine
from dbt_console.engine.notify import notifier
from dbt_console.model import Trigger

pytestmark = pytest.mark.real

SECRET = "whsec-7c1f0e9b-never-print-me"
SMTP_PASSWORD = "smtp-pw-5d2a-never-print-me"
# Settings as conftest's environment says (every step cold): a warm helper would cost
# more than these one-step runs, and warm starts are test_warm's subject.
COLD = Settings(warm_starts=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(notifier, "BACKOFF_SECONDS", (0.2, 0.2, 0.2, 0.2))
    monkeypatch.setattr(notifier, "JITTER", 0.0)


def test_failing_demo_run_posts_one_signed_webhook_and_one_email_naming_the_failed_test(
        demo_runs, tmp_path, receiver, smtp_server, monkeypatch):
    """One dbt run for both kinds: the email goes through a server that wants AUTH."""
    home = copy_home(demo_runs, tmp_path)
    server = receiver()
    mail = smtp_server(login=("dbt-console", SMTP_PASSWORD))
    import_jobs(home, tmp_path, f"""
jobs:
  - name: audit-hooked
    project_dir: {home / "demo" / "pedalshare"}
    commands: ["dbt seed", "dbt build --select staging+"]
    env: {{PEDALSHARE_DUCKDB: hooked.duckdb}}
    hooks:
      - type: webhook
        url: {server.url}/dbt-events
        secret: ${{DBT_HOOK_SECRET}}
        events: [errored]
      - type: email
        to: [data-team@example.org, oncall@example.org]
        cc: lead@example.org
        from: dbt@example.org
        smtp: {{host: 127.0.0.1, port: {mail.port}, starttls: false, username: dbt-console,
                password: "${{SMTP_PASSWORD}}"}}
""")
    monkeypatch.setenv("DBT_HOOK_SECRET", SECRET)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    result = binary(home, "run", "audit-hooked", "--wait")
    assert result.code == 1
    assert len(server.requests) == 1
    assert_the_failure_email(mail, json.loads(server.requests[0]["body"])["data"]["runId"])
    request = server.requests[0]
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["Authorization"] == expected  # hex, no prefix
    payload = json.loads(request["body"])
    assert payload["eventType"] == "job.run.errored"
    assert {"accountId", "webhooksID", "eventId", "timestamp", "webhookName"} <= set(payload)
    data = payload["data"]
    assert data["runStatus"] == "Errored" and data["runStatusCode"] == 20
    assert data["jobName"] == "audit-hooked" and isinstance(data["runId"], str)
    assert [n["uniqueId"] for n in data["failedNodes"]] == [
        "test.pedalshare.assert_rides_end_within_a_day"]
    assert data["failedNodes"][0]["message"] == "Got 3 results, configured to fail if != 0"
    deliveries = json.loads(binary(home, "deliveries", "--json").out)
    assert sorted((d["hook"]["type"], d["status"], d["attempts"], d["event"])
                  for d in deliveries) == [("email", "delivered", 1, "errored"),
                                           ("webhook", "delivered", 1, "errored")]
    # The secrets are nowhere a user looks, nor in any file of the home.
    for args in (("logs", data["runId"]), ("runs", "--json"), ("jobs", "list", "--json"),
                 ("jobs", "export"), ("deliveries", "--json"), ("jobs", "show", "audit-hooked")):
        shown = binary(home, *args)
        for secret in (SECRET, SMTP_PASSWORD):
            assert secret not in shown.out + shown.err, args
    for path in home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert SECRET.encode() not in content and SMTP_PASSWORD.encode() not in content, path


def assert_the_failure_email(mail, run_id: str) -> None:
    """Exactly one message, to everyone named, saying what failed and how to look."""
    assert mail.auth_failures == 0
    (got,) = mail.received
    assert sorted(got.rcpt_tos) == ["data-team@example.org", "lead@example.org",
                                    "oncall@example.org"]
    message = got.message
    assert message["Subject"] == f"[dbt-console] audit-hooked failed (run {run_id})"
    assert (message["From"], message["Cc"]) == ("dbt@example.org", "lead@example.org")
    text, html = parts(message)
    for body in (text, html):
        assert "assert_rides_end_within_a_day" in body
        assert "Got 3 results, configured to fail if != 0" in body
        assert f"dbt-console logs {run_id}" in body
        assert "manual by" in body  # the trigger, and who asked
    assert "Done. PASS=" in text  # the log's last lines
    assert "<li><b>fail</b> <code>test.pedalshare.assert_rides_end_within_a_day</code>" in html


def run_quick_job(paths, store, tmp_path, hooks_yaml: str, events="[succeeded]") -> None:
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    from dbt_console.jobspec import parse_jobs

    store.save_jobs(parse_jobs(f"""
jobs:
  - name: quick
    project_dir: {project}
    commands: ["dbt parse"]
    hooks:
{hooks_yaml}
""", "test", tmp_path))


def test_receiver_failing_twice_gets_three_attempts_and_never_slows_the_run(
        paths, store, tmp_path, receiver, fast_retries):
    server = receiver(statuses=[500, 500, 200])
    run_quick_job(paths, store, tmp_path, f"""
      - {{type: webhook, url: "{server.url}/hook", events: [succeeded]}}""")
    engine = Engine(paths, COLD)
    engine.start()
    try:
        run = store.enqueue_run(store.get_job("quick"), Trigger.manual(), "test")
        wait_for(lambda: store.get_run(run.id).status.finished, timeout=60, what="the run")
        delivered = wait_for(lambda: [d for d in store.list_deliveries(run.id)
                                      if d.status == "delivered"], timeout=30,
                             what="the delivery")[0]
    finally:
        engine.stop(grace_seconds=0)
    assert delivered.attempts == 3 and len(server.requests) == 3
    assert delivered.finished_at > store.get_run(run.id).finished_at  # the run did not wait


def test_delivery_survives_a_receiver_down_and_an_engine_restart(
        paths, store, tmp_path, receiver, fast_retries):
    port = free_port()  # nothing listens here yet
    run_quick_job(paths, store, tmp_path, f"""
      - {{type: webhook, url: "http://127.0.0.1:{port}/hook", events: [succeeded]}}""")
    first = Engine(paths, COLD)
    first.start()
    run = store.enqueue_run(store.get_job("quick"), Trigger.manual(), "test")
    wait_for(lambda: any(d.attempts >= 1 for d in store.list_deliveries(run.id)),
             timeout=60, what="a first, failed attempt")
    first.stop(grace_seconds=0)
    pending = store.list_deliveries(run.id)[0]
    assert pending.status == "pending"
    assert pending.last_error == "POST http://127.0.0.1/… failed: ConnectError"
    server = receiver(port=port)
    second = Engine(paths, COLD)
    second.start()
    try:
        wait_for(lambda: store.list_deliveries(run.id)[0].status == "delivered", timeout=30,
                 what="delivery after the restart")
    finally:
        second.stop(grace_seconds=0)
    assert len(server.requests) == 1


def test_slack_teams_and_pagerduty_bodies_have_what_their_apis_require(
        paths, store, tmp_path, receiver, monkeypatch):
    slack, pd, teams = receiver(), receiver(), receiver()
    monkeypatch.setenv("PD_KEY", "R0UTINGKEY0000000000000000000000")
    run_quick_job(paths, store, tmp_path, f"""
      - {{type: slack, url: "{slack.url}/services/T/B/x", events: [errored, succeeded]}}
      - {{type: pagerduty, routing_key: "${{PD_KEY}}", url: "{pd.url}/v2/enqueue"}}
      - {{type: teams, url: "{teams.url}/workflows/x", events: [errored, succeeded]}}""")
    from dbt_console.engine.executor import Executor
    from dbt_console.model import RunStatus, Trigger

    job = store.get_job("quick")
    failing = store.enqueue_run(job, Trigger.manual(), "test")
    store.claim_run(failing.id)
    store.finish_run(failing.id, RunStatus.ERROR, "a test failure")
    notifier.queue_for(store, store.get_run(failing.id))
    notifier.send_due(store)
    ok = store.enqueue_run(job, Trigger.manual(), "test")
    assert Executor(paths).execute(ok.id).status is RunStatus.SUCCESS
    notifier.send_due(store)

    first = json.loads(slack.requests[0]["body"])
    assert first["text"] and first["blocks"][0]["type"] == "header"
    assert first["blocks"][0]["text"]["type"] == "plain_text"
    assert all(b["type"] in ("header", "section", "context") for b in first["blocks"])
    trigger, resolve = (json.loads(r["body"]) for r in pd.requests)
    assert trigger["routing_key"] == "R0UTINGKEY0000000000000000000000"
    assert trigger["event_action"] == "trigger"
    assert {"summary", "source", "severity"} <= set(trigger["payload"])
    assert trigger["payload"]["severity"] in ("critical", "error", "warning", "info")
    assert resolve["event_action"] == "resolve"
    assert resolve["dedup_key"] == trigger["dedup_key"] == "dbt-console/quick"
    for d in store.list_deliveries():
        assert "R0UTINGKEY" not in d.request_body  # the key is added only when sent
    failed, succeeded = (json.loads(r["body"]) for r in teams.requests)
    for message in (failed, succeeded):
        assert_adaptive_card(message)
    card = failed["attachments"][0]["content"]["body"]
    texts = " ".join(e.get("text", "") for e in card)
    assert f"quick: run {failing.id} errored" in texts and "a test failure" in texts
    assert card[0]["color"] == "Attention"
    succeeded_card = succeeded["attachments"][0]["content"]["body"]
    assert succeeded_card[0]["color"] == "Good"
    assert succeeded_card[1]["text"].startswith("recovered after 1 failed run(s), down for ")
    (facts,) = [e["facts"] for e in succeeded_card if e["type"] == "FactSet"]
    assert {"title": "Status", "value": "success"} in facts
    assert teams.requests[0]["path"] == "/workflows/x"


def assert_adaptive_card(message: dict) -> None:
    """What a Teams Workflows webhook accepts: a message whose one attachment is an
    Adaptive Card, each element of a type and with the fields the schema requires."""
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert tuple(map(int, card["version"].split("."))) <= (1, 5)  # Teams renders <= 1.5
    for element in card["body"]:
        assert element["type"] in ("TextBlock", "FactSet"), element
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
        else:
            assert all(set(f) == {"title", "value"} and all(isinstance(v, str)
                                                             for v in f.values())
                       for f in element["facts"])


def test_command_hook_gets_the_payload_on_stdin(paths, store, tmp_path):
    out = tmp_path / "payload.json"
    script = f"import sys; open({str(out)!r}, 'w').write(sys.stdin.read())"
    run_quick_job(paths, store, tmp_path, f"""
      - {{type: command, argv: ["{sys.executable}", "-c", "{script}"], events: [succeeded]}}""")
    from dbt_console.engine.executor import Executor

    run = store.enqueue_run(store.get_job("quick"), Trigger.manual(), "test")
    Executor(paths).execute(run.id)
    notifier.send_due(store)
    assert json.loads(out.read_text())["data"]["runId"] == str(run.id)
    assert store.list_deliveries(run.id)[0].status == "delivered"


def test_hooks_test_sends_to_every_hook_and_prints_each_result(tmp_path, receiver):
    server = receiver(statuses=[200, 500])
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: hooked
    project_dir: /srv/a
    commands: ["dbt build"]
    hooks:
      - {{type: webhook, url: "{server.url}/a", secret: "{SECRET}"}}
      - {{type: slack, url: "{server.url}/services/T000/B000/XXXX"}}
""")
    result = binary(home, "hooks", "test", "hooked")
    assert result.code == 1  # one of them failed
    lines = result.out.splitlines()
    assert lines[0] == "hooks[0] webhook http://127.0.0.1/…: delivered (200)"
    assert lines[1] == ("hooks[1] slack http://127.0.0.1/…: FAILED: "
                        "POST http://127.0.0.1/… → 500 (500)")
    assert SECRET not in result.out + binary(home, "jobs", "export").out
    assert "XXXX" not in result.out
    assert len(server.requests) == 2


WARN_PROJECT = {
    "dbt_project.yml": "name: warny\nversion: '1.0.0'\nprofile: warny\nconfig-version: 2\n"
                       "flags: {send_anonymous_usage_stats: false}\n",
    "profiles.yml": "warny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                    "      path: warny.duckdb\n      threads: 1\n",
    "models/rides.sql": "select 1 as ride_id union all select 1\n",
    "models/schema.yml": "version: 2\nmodels:\n  - name: rides\n    columns:\n"
                         "      - name: ride_id\n        data_tests:\n          - unique:\n"
                         "              config: {severity: warn}\n",
}


def test_a_run_with_dbt_warnings_sends_the_warned_event(paths, store, tmp_path, receiver):
    server = receiver()
    project = make_project(tmp_path / "warny", WARN_PROJECT)
    from dbt_console.engine.executor import Executor
    from dbt_console.jobspec import parse_jobs
    from dbt_console.model import RunStatus

    store.save_jobs(parse_jobs(f"""
jobs:
  - name: warny
    project_dir: {project}
    commands: ["dbt build"]
    hooks:
      - {{type: webhook, url: "{server.url}/w", events: [warned]}}
      - {{type: webhook, url: "{server.url}/s", events: [succeeded]}}
""", "test", tmp_path))
    run = store.enqueue_run(store.get_job("warny"), Trigger.manual(), "test")
    assert Executor(paths).execute(run.id).status is RunStatus.SUCCESS
    notifier.send_due(store)
    assert [r["path"] for r in server.requests] == ["/w"]  # warned, not plain succeeded
    body = json.loads(server.requests[0]["body"])
    assert body["eventType"] == "job.run.completed" and body["data"]["warnings"] == 1


def test_a_hook_url_never_reaches_serves_output(tmp_path, receiver, serving):
    """httpx logs each request's full URL at INFO; serve's output is the journal, and a
    Slack URL (here read from ${SLACKURL}) is a credential."""
    server = receiver()
    secret_url = f"{server.url}/services/T1/B1/canary-7f3a"
    home = tmp_path / "home"
    project = make_project(tmp_path / "p", SLOW_PROJECT)
    import_jobs(home, tmp_path, f"""
jobs:
  - name: hooked
    project_dir: {project}
    commands: ["dbt parse"]
    hooks:
      - {{type: slack, url: "${{SLACKURL}}", events: [succeeded]}}
""")
    os.environ["SLACKURL"] = secret_url
    try:
        serve = serving(home)
    finally:
        del os.environ["SLACKURL"]
    assert binary(home, "run", "hooked").code == 0
    wait_for(lambda: server.requests, timeout=120, what="the slack hook to be delivered")
    assert server.requests[0]["path"] == "/services/T1/B1/canary-7f3a"
    output = serve.stop()
    assert "canary-7f3a" not in output and "/services/T1" not in output


def test_the_jobs_screen_tests_a_jobs_hooks_with_one_key(tmp_path, home, receiver):
    """T on a job: each hook gets a sample failure, and the dashboard says how it went."""
    import asyncio

    from test_job_form import until

    from dbt_console.config import resolve_paths
    from dbt_console.tui.app import DbtConsoleApp

    teams = receiver(statuses=[200, 500])
    import_jobs(home, tmp_path, f"""
jobs:
  - name: hooked
    project_dir: /srv/a
    commands: ["dbt build"]
    hooks:
      - {{type: teams, url: "{teams.url}/workflows/secret-part"}}
      - {{type: slack, url: "{teams.url}/services/T/B/x"}}
""")

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.screen.selected_job() == "hooked", "the job")
            await pilot.press("T")
            await until(pilot, lambda: any("hooks[1]" in n.message for n in app._notifications),
                        "the hooks' results")
            return [n.message for n in app._notifications]

    (said,) = [m for m in asyncio.run(scenario()) if "hooks[1]" in m]
    assert said.splitlines() == [
        "hooks[0] teams http://127.0.0.1/…: delivered (200)",
        "hooks[1] slack http://127.0.0.1/…: FAILED: POST http://127.0.0.1/… → 500 (500)"]
    assert "secret-part" not in said
    assert len(teams.requests) == 2
