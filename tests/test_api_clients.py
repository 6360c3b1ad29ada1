"""dbt Cloud's own orchestrator clients, call for call, over real HTTP against a real
`dbt-console serve --api` running real dbt.

No client is installed: httpx sends what each sends and the test reads what each reads.
Every sequence was read from the client's source (pip download), at these versions:
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from conftest import (
    api_client,
    binary,
    import_jobs,
    job_id,
    make_project,
    token,
    wait_complete,
    wait_for,
)

pytestmark = pytest.mark.real

AIRFLOW = "apache-airflow-providers-dbt-cloud 4.11.1: hooks/dbt.py, operators/dbt.py"
PREFECT = "prefect-dbt 0.7.25: cloud/clients.py, cloud/jobs.py, cloud/runs.py"
DAGSTER_V1 = "dagster-dbt 0.29.27: cloud/resources.py (DbtCloudClientResource)"
DAGSTER_V2 = "dagster-dbt 0.29.27: cloud_v2/client.py, cloud_v2/resources.py"
TERMINAL = {10, 20, 30}


def root_of(client: httpx.Client) -> str:
    return str(client.base_url).split("/api/v2/")[0]


class Airflow:
    """DbtCloudHook (AIRFLOW): `Token` auth; a GET's payload becomes query parameters
    (None dropped); lists are paged on extra.filters.limit and extra.pagination."""

    def __init__(self, root: str, secret: str):
        self.http = httpx.Client(base_url=root, timeout=30,
                                 headers={"Authorization": f"Token {secret}"})

    def get(self, endpoint: str | None = None, payload: dict | None = None,
            version: str = "v2") -> dict:
        url = f"/api/{version}/accounts/{endpoint}" if endpoint else "/"
        params = {k: v for k, v in (payload or {}).items() if v is not None}
        answer = self.http.get(url, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def paginate(self, endpoint: str, payload: dict | None = None,
                 version: str = "v2") -> list[dict]:
        first = self.get(endpoint, payload, version)
        limit = first["extra"]["filters"]["limit"]
        seen, total = first["extra"]["pagination"]["count"], first["extra"]["pagination"][
            "total_count"]
        pages, payload = [first], {**(payload or {}), "offset": limit}
        while seen < total:
            pages.append(self.get(endpoint, payload, version))
            seen += pages[-1]["extra"]["pagination"]["count"]
            payload["offset"] += limit
        return [item for page in pages for item in page["data"]]

    def post(self, endpoint: str, payload: dict | None = None) -> dict:
        answer = self.http.post(f"/api/v2/accounts/{endpoint}",
                                content=None if payload is None else json.dumps(payload))
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def job_by_name(self, project: str, environment: str, job: str) -> dict:
        """get_job_by_name: project, then environment, then job, each by exact name."""
        projects = [p for p in self.paginate("1/projects/", {"name__icontains": project}, "v3")
                    if p["name"] == project]
        assert len(projects) == 1, projects
        envs = [e for e in self.paginate(f"1/projects/{projects[0]['id']}/environments/",
                                         {"name__icontains": environment}, "v3")
                if e["name"] == environment]
        assert len(envs) == 1, envs
        jobs = [j for j in self.paginate("1/jobs/", {
            "order_by": None, "project_id": projects[0]["id"], "environment_id": envs[0]["id"],
            "name__icontains": job}) if j["name"] == job]
        assert len(jobs) == 1, jobs
        return jobs[0]

    def trigger(self, job: int, cause: str, retry_from_failure: bool) -> dict:
        """trigger_job_run: the rerun endpoint when the job's latest run failed."""
        if retry_from_failure:
            latest = self.get("1/runs/", {"job_definition_id": job, "order_by": "-created_at",
                                          "limit": 1})["data"]
            if latest and latest[0]["status"] == 20:
                return self.post(f"1/jobs/{job}/rerun/")
        return self.post(f"1/jobs/{job}/run/", {"cause": cause, "steps_override": None,
                                                 "schema_override": None})

    def wait(self, run_id: int) -> int:
        """The deferrable trigger: get_job_status until terminal."""
        def status():
            code = self.get(f"1/runs/{run_id}/")["data"]["status"]
            return code if code in TERMINAL else None
        return wait_for(status, timeout=180, what=f"run {run_id} to end")


def test_airflow_finds_a_job_by_names_and_retries_it_from_failure(demo_api):
    """AIRFLOW: test_connection, DbtCloudRunJobOperator with project/environment/job names
    and retry_from_failure, deferrable polling, then the failure details it logs."""
    _, client = demo_api
    airflow = Airflow(root_of(client), client.headers["Authorization"].split()[1])
    assert airflow.get()["data"][0]["id"] == 1  # "Test" in Airflow's connection form
    job = airflow.job_by_name("pedalshare", "default", "ride_audit")
    assert job["id"] == job_id(client, "ride_audit")
    run = airflow.trigger(job["id"], "Triggered via Apache Airflow by task 't' in the d DAG.",
                          retry_from_failure=True)
    assert run["trigger"]["cause_category"] == "retry"  # its latest run (2) failed
    assert airflow.wait(run["id"]) == 20  # ride_audit fails on purpose, retried or not
    details = airflow.get(f"1/runs/{run['id']}/", {"include_related": ["run_steps"]})["data"]
    failed = [s for s in details["run_steps"] if s["status"] == 20]
    assert [s["index"] for s in failed] == [4]  # dbt retry, after the 3 set-up steps
    assert "dbt retry" in failed[0]["name"] and "FAIL" in failed[0]["logs"]
    assert "node(s) failed" in details["status_message"]


def late_home(tmp_path: Path, commands: str = '["dbt build"]') -> tuple[Path, Path]:
    """A job whose model `late` reads a table that is not there yet: its first run fails
    at `late` (and skips `after_late`); once the table exists a retry of those works."""
    project = make_project(tmp_path / "late", {
        "dbt_project.yml": "name: loads\nversion: '1.0.0'\nprofile: late\nconfig-version: 2\n"
                           "flags: {send_anonymous_usage_stats: false}\n",
        "profiles.yml": "late:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                        f"      path: {tmp_path / 'late.duckdb'}\n      threads: 1\n",
        "models/early.sql": "select 1 as id\n",
        "models/late.sql": "select * from main.raw_late\n",
        "models/after_late.sql": "select * from {{ ref('late') }}\n",
        "models/downstream.sql": "select * from {{ ref('early') }}\n",
    })
    home = tmp_path / "home"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: loader
    project_dir: {project}
    commands: {commands}
""")
    return home, tmp_path / "late.duckdb"


def prefect_retry_steps(client: httpx.Client, run_id: int) -> list[str]:
    """PREFECT's _build_trigger_job_run_options: skip steps 1-3 and successful ones;
    for a failed build, select the nodes run_results.json (of that step) says failed or
    were skipped, by name, edited into the command as Prefect edits it."""
    run = client.get(f"runs/{run_id}/", params={"include_related": ["run_steps"]}).json()
    client.get(f"jobs/{run['data']['job_id']}/").raise_for_status()  # reads generate_docs
    steps = []
    for step in run["data"]["run_steps"]:
        status = step["status_humanized"].lower()
        if step["index"] <= 3 or status == "success":
            continue
        command = step["name"].partition("`")[2].partition("`")[0]
        if status == "skipped" and {"build", "run", "test", "seed", "snapshot"} & set(
                shlex.split(command)):
            steps.append(command)  # a command that never ran is run again whole
            continue
        results = client.get(f"runs/{run_id}/artifacts/run_results.json",
                             params={"step": step["index"]}).json()["results"]
        nodes = " ".join(r["unique_id"].split(".")[2] for r in results
                         if r["status"] in ("error", "skipped", "fail"))
        before, verb, after = command.partition("build")
        steps.append(f"{before} {verb} -s {nodes} {after}")
    return steps


def test_prefect_retries_only_the_failed_models_and_ends_with_the_retrys_status(
        tmp_path, serving):
    """PREFECT: trigger_dbt_cloud_job_run_and_wait_for_completion with
    retry_filtered_models_attempts=1 on a job that fails."""
    import duckdb

    home, warehouse = late_home(tmp_path)
    secret = token(home, "prefect")
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    with api_client(serve, secret) as client:
        loader = job_id(client, "loader")
        first = client.post(f"jobs/{loader}/run/", json={"cause": "Triggered via Prefect"})
        first_id = first.json()["data"]["id"]
        assert wait_complete(client, first_id)["status"] == 20
        with duckdb.connect(str(warehouse)) as db:  # the late data arrives
            db.execute("create table main.raw_late as select 7 as id")
        steps = prefect_retry_steps(client, first_id)
        assert [shlex.split(s) for s in steps] == [["dbt", "build", "-s", "late", "after_late"]]
        retry = client.post(f"jobs/{loader}/run/", json={"cause": "Triggered via Prefect",
                                                         "steps_override": steps})
        assert retry.status_code == 200, retry.text
        done = wait_complete(client, retry.json()["data"]["id"])
        assert done["status"] == 10
        built = client.get(f"runs/{done['id']}/artifacts/run_results.json").json()
        assert sorted(r["unique_id"] for r in built["results"]) == [
            "model.loads.after_late", "model.loads.late"]
        assert client.get(f"runs/{done['id']}/artifacts/").json()["data"]


def test_prefect_reruns_a_command_that_never_ran_after_the_first_failed(tmp_path, serving):
    """PREFECT's retry reads run_steps: a command after the failed one must be listed, as
    skipped, or the retry reports success without ever running it."""
    import duckdb

    home, warehouse = late_home(tmp_path, '["dbt build --exclude downstream", '
                                          '"dbt run --select downstream"]')
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    with api_client(serve, token(home, "prefect")) as client:
        loader = job_id(client, "loader")
        first_id = client.post(f"jobs/{loader}/run/", json={"cause": "Prefect"}).json()[
            "data"]["id"]
        assert wait_complete(client, first_id)["status"] == 20
        listed = client.get(f"runs/{first_id}/").json()["data"]["run_steps"]
        assert [(s["index"], s["status_humanized"]) for s in listed][-2:] == [
            (4, "Error"), (5, "Skipped")]
        with duckdb.connect(str(warehouse)) as db:
            db.execute("create table main.raw_late as select 7 as id")
        steps = prefect_retry_steps(client, first_id)
        assert steps[1] == "dbt run --select downstream"
        retry = client.post(f"jobs/{loader}/run/", json={"cause": "Prefect",
                                                         "steps_override": steps})
        assert wait_complete(client, retry.json()["data"]["id"])["status"] == 10
    with duckdb.connect(str(warehouse), read_only=True) as db:
        assert db.execute("select count(*) from main.downstream").fetchone() == (1,)


def test_dagster_v1_run_steps_and_run_job_and_poll_on_a_failing_job(demo_api):
    """DAGSTER_V1: run_job, poll_run reading status_humanized until Error, the failure
    message it raises, get_run_steps, get_run_results."""
    _, client = demo_api
    base = root_of(client) + "/api/v2/accounts/"
    bearer = {"Authorization": f"Bearer {client.headers['Authorization'].split()[1]}",
              "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=bearer, timeout=30) as dagster:
        audit = job_id(client, "ride_audit")
        run = dagster.post(f"1/jobs/{audit}/run/",
                           content=json.dumps({"cause": "Triggered via Dagster"})).json()
        run_id, href = run["data"]["id"], run["data"]["href"]
        assert href and run["data"].get("job", {}).get("triggers", {}).get("schedule") is None

        def humanized():
            # requests sends json.dumps(None) as a GET's body.
            status = dagster.request("GET", f"1/runs/{run_id}/", content="null").json()[
                "data"]["status_humanized"]
            assert status in ("Queued", "Starting", "Running", "Success", "Error",
                              "Cancelled")
            return status if status in ("Success", "Error", "Cancelled") else None
        assert wait_for(humanized, timeout=180, what="the run to end") == "Error"
        failed = dagster.get(f"1/runs/{run_id}/", params={"include_related": ["trigger"]})
        message = failed.json()["data"]["status_message"]
        assert "node(s) failed" in message and "test." in message
        details = dagster.get(f"1/runs/{run_id}/",
                              params={"include_related": ["trigger", "job"]}).json()["data"]
        steps = details["trigger"]["steps_override"] or details["job"]["execute_steps"]
        assert steps == ["dbt seed", "dbt build --select staging+"]
        results = json.loads(dagster.get(f"1/runs/{run_id}/artifacts/run_results.json").text)
        assert any(r["status"] == "fail" for r in results["results"])


def test_dagster_v2_workspace_adhoc_job_parse_and_materialize(demo_api, tmp_path):
    """DAGSTER_V2: verify_connection, the workspace's project and environment, its ad-hoc
    job (made once, with the editor role), fetch_workspace_data's `dbt parse` run and
    manifest, a materialization's logs and results, the sensor's and the pool's queries,
    destroy_job."""
    home, reader = demo_api
    nightly = reader.get(f"jobs/{job_id(reader, 'nightly')}/").json()["data"]
    project, environment = nightly["project_id"], nightly["environment_id"]
    base = root_of(reader) + "/api/v2/accounts/1"
    adhoc = {"account_id": 1, "environment_id": environment, "project_id": project,
             "name": f"DAGSTER_ADHOC_JOB__{project}__{environment}",
             "description": "This job is used by Dagster.", "job_type": "other"}
    # The demo's token is a runner's: making jobs takes an editor.
    refused = reader.post(f"{base}/jobs", json=adhoc)
    assert refused.status_code == 403, refused.text
    editor = binary(home, "tokens", "create", "dagster", "--role", "editor").out.strip()
    with httpx.Client(headers={"Authorization": f"Token {editor}"}, timeout=30) as dagster:
        assert dagster.get(base).json()["data"]["id"] == 1  # verify_connection, no slash
        assert dagster.get(f"{base}/projects/{project}").json()["data"]["name"] == "pedalshare"
        assert dagster.get(f"{base}/environments/{environment}").json()["data"]["name"] == (
            "default")
        made = _adhoc_job(dagster, base, adhoc)
        assert _adhoc_job(dagster, base, adhoc) == made  # a second load finds it
        parse = _run_and_wait(dagster, base, made, "parse")
        manifest = dagster.get(f"{base}/runs/{parse}/artifacts/manifest.json").json()
        assert "model.pedalshare.stg_stations" in manifest["nodes"]
        built = _run_and_wait(dagster, base, made, "build", "--select", "stg_stations")
        _check_materialization(dagster, base, built, manifest)
        _check_sensor_queries(dagster, base, project, environment, made, built)
        assert dagster.delete(f"{base}/jobs/{made}").status_code == 200
        assert dagster.delete(f"{base}/jobs/{made}").status_code == 404  # already gone
        again = _adhoc_job(dagster, base, adhoc)
        assert again > made  # a deleted job's id is never given again


def _adhoc_job(dagster: httpx.Client, base: str, adhoc: dict) -> int:
    listed = dagster.get(f"{base}/jobs", params={
        "account_id": 1, "environment_id": adhoc["environment_id"],
        "project_id": adhoc["project_id"], "limit": 100, "offset": 0}).json()["data"]
    assert all(j["environment_id"] == adhoc["environment_id"] for j in listed)
    found = [j["id"] for j in listed if j["name"] == adhoc["name"]]
    if found:
        return found[0]
    created = dagster.post(f"{base}/jobs", json=adhoc)
    assert created.status_code == 200, created.text
    return created.json()["data"]["id"]


def _run_and_wait(dagster: httpx.Client, base: str, job: int, *args: str) -> int:
    step = " ".join(shlex.quote(a) for a in ["dbt", *args])
    run = dagster.post(f"{base}/jobs/{job}/run", json={
        "steps_override": [step], "cause": "Triggered by dagster."})
    assert run.status_code == 200, run.text
    run_id = run.json()["data"]["id"]

    def ended():
        status = dagster.get(f"{base}/runs/{run_id}").json()["data"]["status"]
        return status if status in TERMINAL else None
    assert wait_for(ended, timeout=180, what=f"run {run_id}") == 10
    return run_id


def _check_materialization(dagster: httpx.Client, base: str, run_id: int,
                           manifest: dict) -> None:
    steps = dagster.get(f"{base}/runs/{run_id}",
                        params={"include_related": "run_steps"}).json()["data"]["run_steps"]
    # Dagster waits and asks again while a successful step has no logs.
    assert all(s["logs"] for s in steps if s["status_humanized"] == "Success")
    assert "run_results.json" in dagster.get(f"{base}/runs/{run_id}/artifacts").json()["data"]
    results = dagster.get(f"{base}/runs/{run_id}/artifacts/run_results.json").json()
    assert int(results["metadata"]["env"]["DBT_CLOUD_RUN_ID"]) == run_id
    assert results["metadata"]["invocation_id"]
    assert {r["unique_id"] for r in results["results"]} <= set(manifest["nodes"])


def _check_sensor_queries(dagster: httpx.Client, base: str, project: int, environment: int,
                          job: int, run_id: int) -> None:
    now = datetime.now(timezone.utc)
    batch = dagster.get(f"{base}/runs", params={
        "account_id": 1, "environment_id": environment, "project_id": project, "limit": 100,
        "offset": 0, "order_by": "finished_at",
        "finished_at__range": f'["{(now - timedelta(hours=1)).isoformat()}", '
                              f'"{now.isoformat()}"]'}).json()
    assert run_id in [r["id"] for r in batch["data"]]
    assert batch["extra"]["pagination"]["total_count"] >= 2
    active = dagster.get(f"{base}/runs", params={
        "account_id": 1, "environment_id": environment, "project_id": project,
        "job_definition_id": job, "status__in": "[1,2,3]", "limit": 1}).json()
    assert active["data"] == []


@pytest.mark.parametrize("body, message", [
    ({"name": "x", "project_id": 1}, "environment_id: required"),
    ({"name": "x", "environment_id": 999}, "no environment with id 999"),
    ({"name": "has space", "environment_id": 1}, "name: must be a slug"),
    ({"name": "x", "environment_id": 1, "dbt_version": "1.9"}, "dbt_version: not supported"),
    ({"name": "x", "environment_id": 1, "execute_steps": ["dbt run; rm -rf /"]},
     "commands"),
    ({"name": "x", "environment_id": 1, "colour": "blue"}, "unknown field(s) colour"),
    ({"name": "x", "environment_id": 1, "description": "d" * (5 << 20)},
     "the body is over 4 MiB"),
    ({"name": "x", "environment_id": 1, "description": "d" * (2 << 20)},
     "description: over 1 MiB"),
])
def test_bad_job_creates_are_refused_and_nothing_is_saved(demo_api, body, message):
    home, reader = demo_api
    editor = binary(home, "tokens", "create", "maker", "--role", "editor").out.strip()
    before = binary(home, "jobs", "list").out
    with httpx.Client(headers={"Authorization": f"Token {editor}"}, timeout=30) as client:
        answer = client.post(str(reader.base_url) + "jobs/", json=body)
    assert answer.status_code in (400, 404), answer.text
    assert message in answer.json()["status"]["user_message"]
    assert binary(home, "jobs", "list").out == before


def test_dagster_v1_reads_a_jobs_environment_variables_with_secrets_masked(demo_api, tmp_path):
    """DAGSTER_V1: load_assets_from_dbt_cloud_job GETs the v3 job variables first."""
    home, client = demo_api
    import_jobs(home, tmp_path, f"""
jobs:
  - name: secretive
    project_dir: {home / 'demo' / 'pedalshare'}
    commands: ["dbt build"]
    env: {{PEDALSHARE_DUCKDB: s.duckdb, DBT_ENV_SECRET_KEY: hunter2}}
""")
    v3 = root_of(client) + "/api/v3/accounts/1/"
    nightly, secretive = job_id(client, "nightly"), job_id(client, "secretive")
    for job, want in ((nightly, {"PEDALSHARE_DUCKDB": "nightly.duckdb"}),
                      (secretive, {"DBT_ENV_SECRET_KEY": "********",
                                   "PEDALSHARE_DUCKDB": "s.duckdb"})):
        project = client.get(f"jobs/{job}/").json()["data"]["project_id"]
        answer = client.get(f"{v3}projects/{project}/environment-variables/job",
                            params={"job_definition_id": job})
        assert answer.status_code == 200, answer.text
        got = {name: scopes["job"]["value"] for name, scopes in answer.json()["data"].items()}
        assert got == want
    assert "hunter2" not in answer.text
    elsewhere = client.get(f"{v3}projects/{project + 100}/environment-variables/job/",
                           params={"job_definition_id": secretive})
    assert elsewhere.status_code == 404
    missing = client.get(f"{v3}projects/{project}/nothing-here")
    assert missing.status_code == 404 and "/api/v2/" not in missing.json()["status"][
        "user_message"]
