"""Email hooks against a real SMTP server on 127.0.0.1 (aiosmtpd, tests/smtpserver.py):
STARTTLS with a certificate the engine must trust, settings.toml's [smtp] as the default
server, a server that is down, and the bad input a jobs file can hold. (The failing demo
run's one email, through a server that wants AUTH, is in test_hooks.py, beside the
webhook that run also sends.)"""

from __future__ import annotations

import pytest
from smtpserver import parts, self_signed

from conftest import write_jobs
from dbt_console.engine.notify import notifier
from dbt_console.model import RunStatus, Trigger

JOB = """
jobs:
  - name: mailed
    project_dir: /srv/a
    commands: ["dbt build"]
    hooks:
{hooks}
"""


@pytest.mark.real
def test_starttls_to_a_server_the_engine_trusts_and_settings_give_the_server(
        tmp_path, home, paths, cli, smtp_server, monkeypatch):
    cert = self_signed(tmp_path)
    mail = smtp_server(cert=cert)
    home.mkdir(parents=True, exist_ok=True)
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(
        f'[smtp]\nhost = "localhost"\nport = {mail.port}\nstarttls = true\n'
        'from = "dbt-console@example.org"\n')
    jobs = write_jobs(tmp_path / "jobs.yml", JOB.format(
        hooks="      - {type: email, to: ops@example.org}"))
    assert cli("jobs", "import", str(jobs)).code == 0

    # Its certificate is signed by no CA the system trusts: refused, and said so.
    refused = cli("hooks", "test", "mailed")
    assert refused.code == 1 and mail.received == []
    assert (f"hooks[0] email mailto:ops@example.org: FAILED: SMTP localhost:{mail.port}: "
            "SSLCertVerificationError") in refused.out, refused.out

    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # as a private CA is trusted
    sent = cli("hooks", "test", "mailed")
    assert sent.code == 0, sent.out + sent.err
    assert sent.out.startswith("hooks[0] email mailto:ops@example.org: delivered")
    (got,) = mail.received
    assert got.message["From"] == "dbt-console@example.org"  # settings.toml's
    assert got.message["Subject"] == "[dbt-console] mailed failed (run 0)"
    text, html = parts(got.message)
    assert "this is a test event" in text and "this is a test event" in html


@pytest.mark.real
def test_a_server_that_is_down_is_retried_then_the_delivery_fails_with_why(
        tmp_path, paths, store, smtp_server, monkeypatch):
    monkeypatch.setattr(notifier, "BACKOFF_SECONDS", (0.0,) * 4)
    monkeypatch.setattr(notifier, "JITTER", 0.0)
    mail = smtp_server()
    port = mail.port
    mail.stop()  # nothing listens there now
    from dbt_console.jobspec import parse_jobs

    store.save_jobs(parse_jobs(JOB.format(hooks=(
        f"      - {{type: email, to: ops@example.org, smtp: {{host: 127.0.0.1, port: {port},"
        " starttls: false}}")), "test", tmp_path))
    run = store.enqueue_run(store.get_job("mailed"), Trigger.manual(), "test")
    store.claim_run(run.id)
    store.finish_run(run.id, RunStatus.ERROR, "a test failure")
    assert notifier.queue_for(store, store.get_run(run.id)) == 1
    for _ in range(len(notifier.BACKOFF_SECONDS) + 1):
        notifier.send_due(store)
    (delivery,) = store.list_deliveries(run.id)
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert delivery.last_error == (f"SMTP 127.0.0.1:{port}: ConnectionRefusedError: "
                                   "[Errno 111] Connection refused")
    assert store.get_run(run.id).status is RunStatus.ERROR  # the run is as it ended


@pytest.mark.unit
@pytest.mark.parametrize("hook, said", [
    ("{type: email, to: not-an-address}",
     "hooks[0]: to: 'not-an-address' is not an email address (user@domain)"),
    ("{type: email}", "hooks[0]: email needs 'to'"),
    ("{type: email, to: a@example.org, bcc: b@example.org}",
     "hooks[0]: unknown field 'bcc' for an email hook"),
    ("{type: email, to: a@example.org, smtp: {host: mail.example.org, port: 0}}",
     "hooks[0]: smtp.port must be a port number from 1 to 65535, got 0"),
    ("{type: email, to: a@example.org, smtp: {host: m.example.org, username: u, "
     "password: hunter2}}",
     "hooks[0]: smtp.password must be ${VAR}, read from the engine's environment"),
    ("{type: email, to: a@example.org, smtp: {host: m.example.org, ssl: true, "
     "starttls: true}}", "hooks[0]: smtp: starttls and ssl exclude each other"),
])
def test_bad_email_hooks_are_refused_naming_the_hook_and_the_field(
        tmp_path, home, cli, hook, said):
    jobs = write_jobs(tmp_path / "jobs.yml", JOB.format(hooks=f"      - {hook}"))
    result = cli("jobs", "import", str(jobs))
    assert result.code == 2
    assert said in result.err and "mailed" in result.err, result.err
    assert "hunter2" not in result.err
    assert cli("jobs", "list", "--json").out.strip() == "[]"  # nothing half-saved


@pytest.mark.unit
def test_a_bad_smtp_section_in_settings_is_refused_naming_the_file(tmp_path, home, paths, cli):
    jobs = write_jobs(tmp_path / "jobs.yml", JOB.format(
        hooks="      - {type: email, to: ops@example.org}"))
    assert cli("jobs", "import", str(jobs)).code == 0
    paths.settings_file.write_text('[smtp]\nhost = "m.example.org"\nport = 70000\n')
    result = cli("hooks", "test", "mailed")
    assert result.code == 2
    assert str(paths.settings_file) in result.err
    assert "smtp.port must be a port number from 1 to 65535, got 70000" in result.err


OWNED_PROJECT = {
    "dbt_project.yml": "name: owned\nversion: '1.0.0'\nprofile: owned\nconfig-version: 2\n"
                       "flags: {send_anonymous_usage_stats: false}\n",
    "profiles.yml": "owned:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                    "      path: owned.duckdb\n      threads: 1\n",
    "models/groups.yml": """version: 2
groups:
  - {name: finance, owner: {name: Fin, email: fin@acme.com}}
  - {name: marketing, owner: {email: mkt@acme.com}}
  - {name: ops, owner: {email: ops@elsewhere.org}}
models:
  - {name: revenue, config: {group: finance}}
  - {name: campaigns, config: {group: marketing}}
  - {name: shifts, config: {group: ops}}
""",
    "models/revenue.sql": "select * from a_table_that_is_not_there\n",
    "models/campaigns.sql": "select 1 as campaign_id\n",
    "models/shifts.sql": "select * from another_table_that_is_not_there\n",
}


@pytest.mark.real
def test_each_model_owner_gets_one_digest_of_their_groups_failures_and_no_one_else(
        tmp_path, paths, store, smtp_server):
    from conftest import make_project
    from dbt_console.engine.executor import Executor
    from dbt_console.jobspec import parse_jobs

    mail = smtp_server()
    project = make_project(tmp_path / "owned", OWNED_PROJECT)
    store.save_jobs(parse_jobs(f"""
jobs:
  - name: owned
    project_dir: {project}
    commands: ["dbt run"]
    hooks:
      - {{type: email, to: team@acme.com, owners: true, owner_domains: [acme.com],
          smtp: {{host: 127.0.0.1, port: {mail.port}, starttls: false}}}}
""", "test", tmp_path))
    run = store.enqueue_run(store.get_job("owned"), Trigger.manual(), "test")
    assert Executor(paths).execute(run.id).status is RunStatus.ERROR
    notifier.send_due(store)

    by_recipient = {tuple(m.rcpt_tos): m.message for m in mail.received}
    assert sorted(by_recipient) == [("fin@acme.com",), ("team@acme.com",)]
    digest = by_recipient[("fin@acme.com",)]
    assert digest["Subject"] == (f"[dbt-console] owned: 1 failed in your group finance "
                                 f"(run {run.id})")
    text, html = parts(digest)
    for body in (text, html):
        assert "model.owned.revenue" in body and "a_table_that_is_not_there" in body
        assert "shifts" not in body and "campaign" not in body  # others' nodes
    log = "\n".join(line.msg for line in store.read_log(run.id))
    assert ("model owner ops@elsewhere.org (group ops) not emailed: outside owner_domains "
            "(acme.com)") in log
    assert {d.target for d in store.list_deliveries(run.id)} == {
        "mailto:team@acme.com", "mailto:fin@acme.com"}


@pytest.mark.unit
def test_an_editor_may_not_send_an_smtp_password_to_a_server_of_their_own(tmp_path, paths,
                                                                           store):
    """The password is any variable of the engine's environment: a login to a new server
    is an admin's to set (as a command hook is); an editor may reuse an admin's."""
    from dbt_console import actions
    from dbt_console.actions import Actor, Context
    from dbt_console.errors import UserError

    store.create_token("ed", "hash-of-ed", "test", "editor")
    admin = Context(paths, Actor("root", "engine"))
    editor = Context(paths, Actor("ed", "token", "api"))
    login = "{host: smtp.acme.com, port: 587, username: dbt, password: '${SMTP_PASSWORD}'}"
    jobs = write_jobs(tmp_path / "jobs.yml", JOB.format(
        hooks=f"      - {{type: email, to: a@acme.com, smtp: {login}}}")).read_text()
    actions.jobs.import_text(admin, jobs, "admin's", str(tmp_path))
    # The same login, in another job: allowed.
    again = jobs.replace("name: mailed", "name: mailed2")
    actions.jobs.import_text(editor, again, "editor's", str(tmp_path))
    theirs = jobs.replace("smtp.acme.com", "mail.mallory.example").replace(
        "name: mailed", "name: mailed3")
    with pytest.raises(UserError) as refused:
        actions.jobs.import_text(editor, theirs, "editor's", str(tmp_path))
    assert "only an admin may set hooks (an smtp login)" in str(refused.value)
    assert store.find_job("mailed3") is None


@pytest.mark.real
def test_an_engine_serving_the_api_links_the_run_there_in_its_email(
        tmp_path, smtp_server, serving):
    from conftest import binary, import_jobs, make_project, wait_for

    mail = smtp_server()
    project = make_project(tmp_path / "owned", OWNED_PROJECT)
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: broken
    project_dir: {project}
    commands: ["dbt run --select revenue"]
    hooks:
      - {{type: email, to: team@acme.com, smtp: {{host: 127.0.0.1, port: {mail.port},
          starttls: false}}}}
""")
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    run_id = int(binary(home, "run", "broken").out.split()[0])
    wait_for(lambda: mail.received, timeout=120, what="the email")
    text, html = parts(mail.received[0].message)
    link = f"{serve.api_url}runs/{run_id}/"
    assert link.startswith("http://127.0.0.1:") and f"In the API: {link}" in text
    assert f"<a href='{link}'>" in html
