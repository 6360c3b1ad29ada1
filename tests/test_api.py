"""The HTTP API over real HTTP: `dbt-console serve --api` in a child process, httpx as the
client, real dbt runs behind it."""

from __future__ import annotations

import json
import ssl
import subprocess
import time

import httpx
import pytest
from test_git_jobs import git

from conftest import (
    SLOW_PROJECT,
    api_client,
    binary,
    copy_home,
    import_jobs,
    job_id,
    make_project,
    slow_home,
    token,
    wait_complete,
    wait_for,
)

pytestmark = pytest.mark.real

STATUS = {"queued": 1, "starting": 2, "running": 3, "success": 10, "error": 20,
          "cancelled": 30}


def test_airflow_hook_call_sequence_trigger_poll_artifacts(demo_api):
    """What Airflow's DbtCloudRunJobOperator does, call for call: trigger with a cause,
    poll the run reading data.status, then fetch run_results.json."""
    home, client = demo_api
    root = str(client.base_url).split("/api/v2/")[0]
    accounts = client.get(root + "/api/v2/accounts/").json()["data"]  # "Test connection"
    assert [a["id"] for a in accounts] == [1]
    assert client.get("").json()["data"]["id"] == 1
    nightly = job_id(client, "nightly")
    triggered = client.post(f"jobs/{nightly}/run/", json={"cause": "Triggered by Airflow"})
    assert triggered.status_code == 200
    run = triggered.json()["data"]
    assert (run["job_definition_id"], run["status"], run["trigger"]["cause"]) == (
        nightly, STATUS["queued"], "Triggered by Airflow")
    # Airflow's "Monitor Job Run" link: a URL that answers with the run.
    assert run["href"] == f"{client.base_url}runs/{run['id']}/"
    assert client.get(run["href"]).json()["data"]["id"] == run["id"]
    seen = set()
    deadline = time.monotonic() + 180
    while True:
        status = client.get(f"runs/{run['id']}/").json()["data"]["status"]
        seen.add(status)
        if status in (10, 20, 30):
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == STATUS["success"] and STATUS["running"] in seen
    listed = client.get(f"runs/{run['id']}/artifacts/").json()["data"]
    assert {"manifest.json", "run_results.json"} <= set(listed)
    results = client.get(f"runs/{run['id']}/artifacts/run_results.json").json()
    assert any(r["unique_id"] == "model.pedalshare.fct_rides" for r in results["results"])
    # Steps count as in dbt Cloud: 1-3 set up, the job's first command (dbt seed) is 4.
    seeds = client.get(f"runs/{run['id']}/artifacts/run_results.json", params={"step": 4})
    assert all(r["unique_id"].startswith("seed.") for r in seeds.json()["results"])
    final = client.get(f"runs/{run['id']}/").json()["data"]
    assert final["is_success"] and not final["in_progress"] and final["duration"]
    assert final["who"] == "airflow"  # the token's name is who asked
    log = binary(home, "runs", "--json", "--limit", "1").out
    assert '"actor": "airflow"' in log and '"trigger": "api"' in log


def test_include_related_in_its_three_encodings(demo_api):
    _, client = demo_api
    encodings = [
        [("include_related", "run_steps"), ("include_related", "job")],
        [("include_related", "run_steps,job")],
        [("include_related", '["run_steps", "job"]')],
        [("include_related", "['run_steps', 'job']")],
    ]
    for params in encodings:
        data = client.get("runs/1/", params=params).json()["data"]
        steps = data["run_steps"]
        assert [s["name"] for s in steps][2:] == [
            "Invoke dbt with `dbt deps`", "Invoke dbt with `dbt seed`",
            "Invoke dbt with `dbt build --exclude tag:audit`"]
        assert [s["index"] for s in steps] == [1, 2, 3, 4, 5] and steps[4]["status"] == 10
        assert "Completed successfully" in steps[4]["logs"]
        assert data["job"]["name"] == "nightly", params
    plain = client.get("runs/1/").json()["data"]
    assert "job" not in plain and all(s["logs"] is None for s in plain["run_steps"])
    debug = client.get("runs/1/", params={"include_related": "debug_logs"}).json()["data"]
    assert "Running with dbt" in debug["run_steps"][0]["debug_logs"]
    review = client.get("runs/2/", params={"include_related": "failure_review"}).json()
    failed = review["data"]["failure_review"]["failed"]
    assert [(n["unique_id"], n["message"]) for n in failed] == [
        ("test.pedalshare.assert_rides_end_within_a_day",
         "Got 3 results, configured to fail if != 0")]


def test_runs_list_filters_order_and_pages(demo_api):
    _, client = demo_api
    nightly, audit = job_id(client, "nightly"), job_id(client, "ride_audit")
    client.post(f"jobs/{audit}/run/", json={"cause": "third"})  # queued: no engine slot yet
    ids = lambda r: [x["id"] for x in r.json()["data"]]  # noqa: E731
    assert ids(client.get("runs/", params={"job_definition_id": nightly})) == [1]
    assert ids(client.get("runs/", params={"status": 20})) == [2]
    for value in ("[10, 20]", "10,20"):
        assert ids(client.get("runs/", params={"status__in": value})) == [1, 2]
    assert ids(client.get("runs/", params=[("status__in", "10"), ("status__in", "20")])) == [1, 2]
    assert ids(client.get("runs/", params={"order_by": "-id"}))[:2] == [3, 2]
    assert ids(client.get("runs/", params={"order_by": "-finished_at", "status__in": "[10,20]"})
               ) == [2, 1]
    page = client.get("runs/", params={"limit": 1, "offset": 1, "order_by": "id"}).json()
    assert [r["id"] for r in page["data"]] == [2]
    assert page["extra"]["pagination"] == {"count": 1, "total_count": 3}
    wide = client.get("runs/", params={"finished_at__range": '["2000-01-01", "2999-01-01"]',
                                       "status__in": "[10,20]"})
    assert ids(wide) == [1, 2]
    old = client.get("runs/", params={"finished_at__range": '["2000-01-01", "2000-01-02"]'})
    assert ids(old) == []


def test_bad_requests_get_401_404_400_never_500(demo_api, tmp_path):
    home, client = demo_api
    base = str(client.base_url)
    assert httpx.get(base + "jobs/").status_code == 401
    assert httpx.get(base + "jobs/", headers={"Authorization": "Token nope"}).status_code == 401
    other = token(home, "temp")
    assert httpx.get(base + "jobs/", headers={"Authorization": f"Bearer {other}"}
                     ).status_code == 200
    assert binary(home, "tokens", "revoke", "temp").code == 0
    assert httpx.get(base + "jobs/", headers={"Authorization": f"Bearer {other}"}
                     ).status_code == 401
    cases = [
        ("GET", "jobs/999/", None, 404, "no job with id 999"),
        ("GET", "runs/999/", None, 404, "no run with id 999"),
        ("GET", base.replace("/accounts/1/", "/accounts/7/") + "jobs/", None, 404, "no account 7"),
        ("GET", "runs/1/artifacts/compiled.sql", None, 404, "only manifest.json"),
        ("POST", "jobs/1/run/", {}, 400, "cause: required"),
        ("POST", "jobs/1/run/", "not json", 400, "not valid JSON"),
        ("POST", "jobs/1/run/", {"cause": "x", "steps_override": ["dbt run; rm -rf /"]}, 400,
         "steps_override[0]"),
        ("POST", "jobs/1/run/", {"cause": "x", "git_branch": "dev"}, 400,
         "runs a local project_dir"),
        ("POST", "jobs/1/run/", {"cause": "x", "threads_override": True}, 400,
         "threads_override"),
        ("GET", "runs/", {"limit": 101}, 400, "limit: must be from 1 to 100"),
        ("GET", "runs/", {"order_by": "name"}, 400, "order_by"),
        ("GET", "runs/", {"status__in": "[1, 99]"}, 400, "'99' is not a run status"),
        ("GET", "runs/1/", {"include_related": "secrets"}, 400, "include_related: unknown"),
        ("GET", "runs/", {"finished_at__range": "[1]"}, 400, "two times"),
        ("GET", "runs/\u00b2/", None, 404, "no run with id"),  # a digit, not an ASCII one
        ("POST", "jobs/1/run/", {"cause": "x\u0000y"}, 400, "cause: required"),
    ]
    for method, path, payload, code, words in cases:
        if method == "GET":
            response = client.get(path, params=payload)
        elif isinstance(payload, str):
            response = client.post(path, content=payload)
        else:
            response = client.post(path, json=payload)
        body = response.json()
        assert (response.status_code, body["status"]["code"]) == (code, code), (path, body)
        assert words in body["status"]["user_message"], (path, body)
        assert body["status"]["is_success"] is False
    runs = client.get("runs/").json()["data"]
    assert [r["id"] for r in runs] == [1, 2]  # no bad request queued anything


def test_rerun_retries_the_failed_run_then_cancel_a_long_run(tmp_path, serving):
    home = slow_home(tmp_path)
    secret = token(home)
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    with api_client(serve, secret) as client:
        slow = job_id(client, "slow")
        run = client.post(f"jobs/{slow}/run/", json={"cause": "long"}).json()["data"]
        wait_for(lambda: client.get(f"runs/{run['id']}/").json()["data"]["status"] == 3,
                 timeout=60, what="the slow run to be running")
        cancelled = client.post(f"runs/{run['id']}/cancel/")
        assert cancelled.status_code == 200 and cancelled.json()["data"]["id"] == run["id"]
        # The answer says what dbt Cloud's says: the run is cancelled, not still running.
        assert cancelled.json()["data"]["status_humanized"] == "Cancelled"
        final = wait_complete(client, run["id"], timeout=60)
        assert final["is_cancelled"] and final["status"] == 30
        rerun = client.post(f"jobs/{slow}/rerun/").json()["data"]
        assert rerun["trigger"]["cause"] == f"Retry of run {run['id']}"
        assert client.post(f"runs/{rerun['id']}/cancel/").json()["data"]["status"] == 30
        quick = job_id(client, "quick")
        fresh = client.post(f"jobs/{quick}/rerun/").json()["data"]  # nothing failed: a new run
        assert wait_complete(client, fresh["id"])["is_success"]
    status = binary(home, "status").out
    assert f"airflow cancelled run {run['id']}" in status


ENV_MACRO = """{% macro show_env() %}
  {% for name in ['DBT_CLOUD_JOB_ID', 'DBT_CLOUD_RUN_ID', 'DBT_CLOUD_RUN_REASON_CATEGORY',
                  'DBT_CLOUD_RUN_REASON', 'DBT_CLOUD_GIT_SHA', 'DBT_CONSOLE_CI_SCHEMA',
                  'DBT_THREADS'] %}
    {{ log(name ~ '=' ~ env_var(name, '-'), info=True) }}
  {% endfor %}
{% endmacro %}
"""


def test_runs_get_dbt_clouds_variables_and_the_overrides(tmp_path, serving):
    project = make_project(tmp_path / "envy", {**SLOW_PROJECT, "macros/show_env.sql": ENV_MACRO})
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "envy")
    sha = git(project, "rev-parse", "HEAD")
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: envy
    project_dir: {project}
    commands: ["dbt run-operation show_env"]
""")
    secret = token(home, role="editor")  # a run-operation is more than a narrowing
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    with api_client(serve, secret) as client:
        envy = job_id(client, "envy")
        run = client.post(f"jobs/{envy}/run/", json={
            "cause": "from Dagster", "schema_override": "dbt_pr_42", "threads_override": 3,
            "steps_override": ["dbt run-operation show_env"]}).json()["data"]
        assert wait_complete(client, run["id"])["is_success"]
        # The trigger echoes what was overridden (Dagster v1's get_run_steps reads it).
        trigger = client.get(f"runs/{run['id']}/", params={"include_related": "trigger"}).json()[
            "data"]["trigger"]
        assert {k: trigger[k] for k in ("steps_override", "schema_override", "threads_override",
                                        "generate_docs_override")} == {
            "steps_override": ["dbt run-operation show_env"], "schema_override": "dbt_pr_42",
            "threads_override": 3, "generate_docs_override": None}
    log = binary(home, "logs", str(run["id"])).out
    for line in (f"DBT_CLOUD_JOB_ID={envy}", f"DBT_CLOUD_RUN_ID={run['id']}",
                 "DBT_CLOUD_RUN_REASON_CATEGORY=other", "DBT_CLOUD_RUN_REASON=from Dagster",
                 "DBT_CONSOLE_CI_SCHEMA=dbt_pr_42", f"DBT_CLOUD_GIT_SHA={sha}"):
        assert line in log, line
    by_hand = binary(home, "run", "envy", "--wait")  # no API: the variables are still set
    assert "DBT_CLOUD_RUN_REASON_CATEGORY=other" in by_hand.out
    assert "DBT_CLOUD_RUN_REASON=Kicked off by" in by_hand.out


def test_threads_override_is_the_concurrency_dbt_runs_with(demo_api):
    home, client = demo_api
    nightly = job_id(client, "nightly")
    run = client.post(f"jobs/{nightly}/run/", json={
        "cause": "Airflow", "threads_override": 3, "steps_override": ["dbt seed"]})
    assert run.status_code == 200, run.text
    assert wait_complete(client, run.json()["data"]["id"])["is_success"]
    log = binary(home, "logs", str(run.json()["data"]["id"])).out
    assert "Concurrency: 3 threads" in log, log[-2000:]


def test_a_job_with_a_lone_surrogate_is_refused_and_listing_jobs_keeps_working(demo_api):
    """It was saved and every GET jobs/ answered 500 after (json cannot encode it)."""
    home, client = demo_api
    editor = {"Authorization": f"Token {token(home, 'dagster', role='editor')}"}
    before = client.get("jobs/").json()["data"]
    # As the attacker sent it: JSON's escape of a lone surrogate, valid JSON text.
    bad = client.post("jobs/", headers={**editor, "Content-Type": "application/json"},
                      content=json.dumps({"environment_id": 1, "name": "surrogate",
                                          "description": "\udfff"}))
    assert bad.status_code == 400 and "description: is not valid text" in bad.text, bad.text
    listed = client.get("jobs/")
    assert listed.status_code == 200 and listed.json()["data"] == before


RUNNER_ATTEMPTS = [
    # Read any file the service user can, through DuckDB's SQL, into a log viewers read.
    ["dbt show --output json --inline \"select * from read_text('/proc/self/environ')\""],
    ["dbt run-operation show_env"],
    ["dbt build --vars '{x: 1}'"],
    ["dbt build --state /srv/elsewhere --select state:modified"],
    ["dbt build --select a", "dbt docs generate"],  # not the job's own command
    ["dbt test"],  # nor is this one: nightly seeds and builds
]


@pytest.mark.parametrize("steps", RUNNER_ATTEMPTS)
def test_a_runner_may_only_narrow_the_jobs_own_commands(demo_api, steps):
    home, client = demo_api
    nightly = job_id(client, "nightly")
    before = client.get("runs/").json()["data"]
    refused = client.post(f"jobs/{nightly}/run/", json={"cause": "x", "steps_override": steps})
    assert refused.status_code == 403, refused.text
    assert "takes the editor role" in refused.json()["status"]["user_message"]
    assert client.get("runs/").json()["data"] == before  # nothing queued
    row = json.loads(binary(home, "audit", "--json").out)[0]
    assert row["outcome"].startswith("refused:") and "steps_override" in row["detail"]


def test_a_runner_narrows_a_build_to_some_models_and_the_audit_row_says_so(demo_api):
    home, client = demo_api
    nightly = job_id(client, "nightly")
    steps = ["dbt seed --select stations", "dbt build -s stg_stations dim_stations --fail-fast"]
    run = client.post(f"jobs/{nightly}/run/", json={"cause": "x", "steps_override": steps,
                                                     "target_name_override": None})
    assert run.status_code == 200, run.text
    assert wait_complete(client, run.json()["data"]["id"])["is_success"]
    row = json.loads(binary(home, "audit", "--json").out)[0]
    assert row["outcome"] == "done" and "dim_stations --fail-fast" in row["detail"]
    target = client.post(f"jobs/{nightly}/run/", json={"cause": "x",
                                                        "target_name_override": "prod"})
    assert target.status_code == 403 and "target_name_override" in target.text


def test_tls_with_a_self_signed_certificate(demo_runs, tmp_path, serving):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    home = copy_home(demo_runs, tmp_path)
    secret = token(home)
    serve = serving(home, args=("--api", "127.0.0.1:0", "--tls-cert", str(cert),
                                "--tls-key", str(key)))
    assert serve.api_url.startswith("https://127.0.0.1:")
    # What REQUESTS_CA_BUNDLE does for Airflow's and Prefect's clients: trust this cert.
    with api_client(serve, secret, verify=ssl.create_default_context(cafile=str(cert))) as client:
        assert client.get("runs/1/").json()["data"]["is_success"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(serve.api_url + "runs/1/", headers={"Authorization": f"Token {secret}"})


def test_serve_refuses_bad_api_options_with_exit_2(tmp_path):
    home = tmp_path / "home"
    cases = [
        (("serve", "--api", "localhost:http"), "give HOST:PORT"),
        (("serve", "--api", "127.0.0.1:0", "--tls-cert", "/nope.pem"), "go together"),
        (("serve", "--api", "127.0.0.1:0", "--tls-cert", "/nope.pem", "--tls-key", "/k"),
         "cannot load them"),
        (("serve", "--tls-cert", "/a", "--tls-key", "/b"), "add --api"),
        (("tokens", "create", "Bad Name"), "token name 'Bad Name'"),
        (("tokens", "revoke", "ghost"), "no live token named 'ghost'"),
    ]
    for args, words in cases:
        result = binary(home, *args, timeout=60)
        assert result.code == 2 and words in result.err, (args, result.err)
    assert binary(home, "tokens", "create", "ci").code == 0
    again = binary(home, "tokens", "create", "ci")
    assert again.code == 2 and "exists; revoke it first" in again.err
    listed = binary(home, "tokens", "list").out
    assert "ci" in listed and "dbtc_" not in listed  # never the token itself


def test_what_airflow_prefect_and_dagster_read_unasked(demo_api):
    """The bare host answers Airflow's test_connection; a run has run_steps and dbt
    Cloud's trigger fields without include_related (Prefect, Dagster); a failed run's
    status_message says what failed (Dagster shows it); jobs/ orders as asked."""
    _, client = demo_api
    root = str(client.base_url).split("/api/v2/")[0]
    bare = client.get(root + "/")
    assert bare.status_code == 200 and bare.json()["data"][0]["id"] == 1
    anonymous = httpx.get(root + "/")
    assert anonymous.status_code == 401
    # No redirect before auth: a proxy would drop the token on it (Dagster's check).
    account = client.get(root + "/api/v2/accounts/1", follow_redirects=False)
    assert account.status_code == 200 and account.json()["data"]["id"] == 1
    assert httpx.get(root + "/api/v2/accounts/1", follow_redirects=False).status_code == 401
    failed = client.get("runs/2/").json()["data"]
    assert [s["index"] for s in failed["run_steps"]] == [1, 2, 3, 4, 5]
    assert failed["run_steps"][0]["logs"] is None  # the logs come when asked for
    assert failed["trigger"]["steps_override"] is None
    assert {"generate_docs_override", "schema_override", "github_pull_request_id"} <= set(
        failed["trigger"])
    assert failed["status_message"] == (
        "1 node(s) failed: test.pedalshare.assert_rides_end_within_a_day: "
        "Got 3 results, configured to fail if != 0")
    assert client.get("runs/1/").json()["data"]["status_message"] is None
    names = [j["name"] for j in client.get("jobs/", params={"order_by": "-name"}).json()["data"]]
    assert names == sorted(names, reverse=True)
    bad = client.get("jobs/", params={"order_by": "color"})
    assert bad.status_code == 400 and "order_by: 'color'" in bad.json()["status"]["user_message"]


def test_failed_tokens_are_audited_without_their_text_and_answered_later(demo_api):
    """A scanner's tokens: each refused, the first few a row of the audit log naming the
    address (never the token), and past five from one address each answer waits."""
    home, client = demo_api
    guesses = [f"dbtc_guess{i}secret" for i in range(7)]
    waited = []
    with httpx.Client(base_url=client.base_url, timeout=60) as scanner:
        for guess in guesses:
            started = time.monotonic()
            answer = scanner.get("jobs/", headers={"Authorization": f"Token {guess}"})
            waited.append(time.monotonic() - started)
            assert answer.status_code == 401, answer.text
    # The 6th waits 2 s and the 7th 4 s (at least: a loaded machine only adds to it).
    assert waited[5] >= 2.0 and waited[6] >= 4.0, waited
    assert client.get("jobs/").status_code == 200  # a valid token from there still works
    rows = json.loads(binary(home, "audit", "--user", "(no valid token)", "--json").out)
    assert len(rows) == 5, rows  # failures 1-5, then the 8th, 16th...: not the 6th or 7th
    assert all(r["target"] == "from 127.0.0.1" and r["outcome"].startswith("refused")
               for r in rows), rows
    assert not any("guess" in json.dumps(r) for r in rows), rows
