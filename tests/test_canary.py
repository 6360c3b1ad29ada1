"""The canary: a unique mark in every kind of secret a job holds (a DBT_ENV_SECRET_ env
value, a webhook's signing secret, a webhook's and Slack's URLs given as ${VAR}, a git
URL's password) and in the API token, then a run of everything that uses them. The mark
may be found nowhere but the store: no output of the CLI, no file under the data
directory, not serve's journal, not the API's answers, and the receiver gets the signing
secret only as a signature."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest
from test_git_credentials import GitOverHttp
from test_git_jobs import make_remote

from conftest import binary, import_jobs, wait_for

pytestmark = pytest.mark.real

CANARY = "canary-5e1f"


def test_secrets_appear_nowhere_but_the_store(tmp_path, receiver, serving, monkeypatch):
    bare, _ = make_remote(tmp_path)
    git_server = GitOverHttp(bare.parent, "ada", f"{CANARY}-git")
    hooks = receiver()
    monkeypatch.setenv("HOOKURL", f"{hooks.url}/hook/{CANARY}-url")
    monkeypatch.setenv("SLACKURL", f"{hooks.url}/services/T1/B1/{CANARY}-slack")
    home = tmp_path / "home"
    git_url = f"http://ada:{CANARY}-git@127.0.0.1:{git_server.port}/{bare.name}"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: hooked
    git: {{url: "{git_url}", branch: main, subdirectory: analytics/pedalshare}}
    commands: ["dbt parse"]
    env: {{DBT_ENV_SECRET_TOKEN: "{CANARY}-env"}}
    hooks:
      - {{type: webhook, url: "${{HOOKURL}}", secret: "{CANARY}-sign", events: [succeeded]}}
      - {{type: slack, url: "${{SLACKURL}}", events: [succeeded]}}
""")
    token = binary(home, "tokens", "create", "canary").out.strip()
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    shown = []

    def cli(*args: str) -> None:
        result = binary(home, *args)
        shown.append(result.out + result.err)

    try:
        cli("run", "hooked", "--wait")
        wait_for(lambda: len(hooks.requests) >= 2, timeout=120, what="both hooks")
        cli("hooks", "test", "hooked")
        for args in (["jobs", "export"], ["jobs", "show", "hooked"], ["jobs", "list", "--json"],
                     ["runs", "--json"], ["logs", "1"], ["status"], ["deliveries"], ["audit"],
                     ["review", "1"]):
            cli(*args)
        shown.extend(_api_answers(serve.api_url, token))
    finally:
        shown.append(serve.stop())
        git_server.close()
    for request in hooks.requests:  # its path is where the secret URL points: not shown
        headers = dict(request["headers"])
        if request["path"].startswith("/hook/"):  # the webhook: signed with the secret
            expected = hmac.new(f"{CANARY}-sign".encode(), request["body"], hashlib.sha256)
            assert headers.pop("Authorization") == expected.hexdigest()
        shown.append(f"{headers} {request['body'].decode()}")
    leaks = [text[max(0, text.find(CANARY) - 80):text.find(CANARY) + 40] for text in shown
             if CANARY in text or token in text]
    assert leaks == []
    files = [p for p in home.rglob("*") if p.is_file() and not p.name.startswith(
        "dbt-console.db")]
    assert len(files) > 20  # runs, logs, artifacts, a clone: there was much to look in
    assert [str(p) for p in files if CANARY.encode() in p.read_bytes()
            or token.encode() in p.read_bytes()] == []


def _api_answers(api_url: str, token: str) -> list[str]:
    with httpx.Client(base_url=api_url, timeout=30,
                      headers={"Authorization": f"Token {token}"}) as api:
        answers = [api.get("jobs/"), api.get("runs/1/", params={
            "include_related": "run_steps,job,debug_logs,trigger"}),
            api.get("runs/1/artifacts/manifest.json"), api.get("projects/")]
    assert all(a.status_code == 200 for a in answers)
    return [a.text for a in answers]
