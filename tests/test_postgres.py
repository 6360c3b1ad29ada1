"""dbt on a real PostgreSQL server (tests/pgserver.py): a git job's run, cancel of a
running query (warm and cold), a run with the server down saying dbt's own reason, a
retry once it is back, and the password nowhere but where it was given."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from pgserver import PASSWORD
from test_git_jobs import git

from conftest import binary, import_jobs, make_project, runs_json, wait_for
from dbt_console.config import resolve_paths
from dbt_console.engine.executor import Executor
from dbt_console.engine.stepenv import find_dbt
from dbt_console.engine.steprunner import Launchers
from dbt_console.engine.warm.launcher import WarmLauncher
from dbt_console.model import Job, RunStatus, Trigger
from dbt_console.store import Store

pytestmark = pytest.mark.e2e

PROJECT = {
    "dbt_project.yml": "name: pgshop\nversion: '1.0.0'\nprofile: pgshop\nconfig-version: 2\n"
                       "flags: {send_anonymous_usage_stats: false}\n",
    "profiles.yml": "pgshop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
                    "      host: 127.0.0.1\n      port: \"{{ env_var('PG_PORT') | int }}\"\n"
                    "      user: dbt\n      password: \"{{ env_var('PG_PASSWORD') }}\"\n"
                    "      dbname: \"{{ env_var('PG_DATABASE') }}\"\n"
                    "      schema: \"{{ env_var('DBT_CONSOLE_CI_SCHEMA', 'public') }}\"\n"
                    "      threads: 2\n",
    "models/orders.sql": "{{ config(materialized='table') }}\nselect 1 as id union all "
                         "select 2\n",
    "models/order_count.sql": "select count(*) as n from {{ ref('orders') }}\n",
    "models/sleepy.sql": "{{ config(materialized='table', tags=['slow']) }}\n"
                         "select pg_sleep({{ var('sleep', 0) }}) is null as slept\n",
}


@pytest.fixture
def pg_home(postgres, tmp_path, monkeypatch):
    """A home with a git job on the Postgres project; its password read as ${PG_PASSWORD}
    from the environment of whoever runs it."""
    monkeypatch.setenv("PG_PASSWORD", PASSWORD)
    work = make_project(tmp_path / "work", PROJECT)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "pgshop")
    bare = tmp_path / "pgshop.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    home = tmp_path / "home"
    env = (f'{{PG_PORT: "{postgres.port}", PG_DATABASE: {postgres.database}, '
           'PG_PASSWORD: "${PG_PASSWORD}"}')
    import_jobs(home, tmp_path, f"""
jobs:
  - name: shop
    git: {{url: {bare}, branch: main}}
    env: {env}
    commands: ["dbt build --exclude tag:slow"]
  - name: shop-too
    git: {{url: {bare}, branch: main}}
    env: {{PG_PORT: "{postgres.port}", PG_DATABASE: {postgres.database},
          PG_PASSWORD: "${{PG_PASSWORD}}", DBT_CONSOLE_CI_SCHEMA: other}}
    commands: ["dbt build --exclude tag:slow"]
  - name: ci
    git: {{url: {bare}, branch: main}}
    env: {env}
    ci: {{defer_to: shop, branches: "feature/*"}}
    commands: ["dbt build --select state:modified+ --exclude tag:slow"]
  - name: sleepy
    git: {{url: {bare}, branch: main}}
    env: {env}
    commands: ["dbt run --select sleepy --vars '{{sleep: 300}}'"]
  - name: sleepy-cold
    git: {{url: {bare}, branch: main}}
    env: {env}
    warm: false
    commands: ["dbt run --select sleepy --vars '{{sleep: 300}}'"]
""")
    return home


def test_a_git_job_runs_on_postgres_with_node_results(pg_home, postgres):
    run = binary(pg_home, "run", "shop", "--wait")
    assert run.code == 0, run.out + run.err
    assert runs_json(pg_home)[0]["nodes"] == {"success": 2}
    assert postgres.sql("select n from public.order_count") == "2"
    _nowhere(pg_home, [run.out, run.err, binary(pg_home, "logs", "1").out])


def sleeping(postgres) -> bool:
    return postgres.sql("select count(*) from pg_stat_activity where query like "
                        "'%pg_sleep(300)%' and pid <> pg_backend_pid() and datname = "
                        "current_database()") != "0"


@pytest.mark.parametrize("job", ["sleepy", "sleepy-cold"])
def test_cancel_stops_the_warehouse_query_within_2s(pg_home, postgres, serving, job,
                                                    warm_starts):
    serving(pg_home)
    if job == "sleepy":  # warm: wait for the helper, or the step would start cold
        wait_for(lambda: '"state": "ready"' in binary(pg_home, "status", "--json").out,
                 timeout=120, what="a warm helper")
    run_id = binary(pg_home, "run", job).out.strip()
    wait_for(lambda: sleeping(postgres), timeout=120, what="the query to run")
    cancelled = binary(pg_home, "cancel", run_id)
    assert cancelled.code == 0 and f"run {run_id}: cancelled" in cancelled.out
    start = time.monotonic()
    wait_for(lambda: not sleeping(postgres), timeout=2, what="the query to be gone")
    assert time.monotonic() - start <= 2
    log = binary(pg_home, "logs", run_id).out
    assert ("warm start" in log) == (job == "sleepy")


@pytest.mark.parametrize("warm", [True, False])
def test_timeout_minutes_stops_the_warehouse_query(pg_home, postgres, tmp_path, monkeypatch,
                                                    warm):
    """The run's timeout comes once its query runs: the deadline of the run in flight is
    brought forward to then (waiting out a real minute would only make the test slow).
    A timeout that lands while a cold dbt is still opening its connection is dbt's race,
    the same as a cancel's then (README, Warehouses)."""
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(pg_home))
    paths = resolve_paths()
    launcher = WarmLauncher(tmp_path / "helpers.log") if warm else None
    try:
        if launcher is not None:
            launcher.prewarm([find_dbt(Job(name="x", commands=("dbt run",)))])
            helper = launcher.helpers()[0]
            assert helper.ready.wait(180) and helper.state == "ready", helper.detail
            assert "postgres (compile)" in helper.detail  # warmed for Postgres, no server
        with Store(paths.store) as store:
            job = replace(store.get_job("sleepy"), timeout_minutes=1)
            store.save_jobs([job])
            run = store.enqueue_run(job, Trigger.manual(), "test")
        executor = Executor(paths, Launchers(launcher))
        ended: list = []
        thread = threading.Thread(target=lambda: ended.append(executor.execute(run.id)))
        thread.start()
        wait_for(lambda: sleeping(postgres), timeout=120, what="the query to run")
        executor.stopper(run.id).set_deadline(time.monotonic())  # the minute is up
        thread.join(60)
    finally:
        if launcher is not None:
            launcher.close()
    finished = ended[0]
    assert finished.status is RunStatus.ERROR and finished.error == "timed out after 1 min"
    wait_for(lambda: not sleeping(postgres), timeout=2, what="the query to be gone")
    log = binary(pg_home, "logs", str(run.id)).out
    assert ("warm start" in log) == warm


def test_with_the_server_down_the_run_says_why_and_a_retry_works_once_back(
        pg_home, postgres):
    postgres.stop()
    try:
        failed = binary(pg_home, "run", "shop", "--wait")
    finally:
        postgres.start()
    assert failed.code == 1
    error = runs_json(pg_home)[0]["error"]
    assert error.startswith("dbt could not run 'dbt build --exclude tag:slow' (exit code 2): ")
    assert "Connection refused" in error or "connection" in error.lower(), error
    retried = binary(pg_home, "retry", "1", "--wait")
    assert retried.code == 0, retried.out + retried.err
    _nowhere(pg_home, [failed.out, failed.err, retried.out, retried.err])


def _nowhere(home: Path, outputs: list[str]) -> None:
    """The password is in the environment it was given in, and nowhere else."""
    assert not [o for o in outputs if PASSWORD in o]
    files = [p for p in home.rglob("*") if p.is_file() and not p.name.startswith(
        "dbt-console.db")]
    assert [str(p) for p in files if PASSWORD.encode() in p.read_bytes()] == []


def test_two_runs_at_once_both_succeed(pg_home, postgres, serving):
    serve = serving(pg_home)
    ids = [binary(pg_home, "run", job).out.strip() for job in ("shop", "shop-too")]
    wait_for(lambda: all(r["status"] == "success" for r in runs_json(pg_home)
                         if str(r["id"]) in ids) and len(runs_json(pg_home)) == 2,
             timeout=180, what="both runs to succeed")
    runs = runs_json(pg_home)
    started = sorted(r["started_at"] for r in runs)
    finished = sorted(r["finished_at"] for r in runs)
    assert started[1] < finished[0]  # they overlapped
    assert postgres.sql("select n from other.order_count") == "2"
    assert PASSWORD not in serve.stop()  # serve's journal
    _nowhere(pg_home, [binary(pg_home, "logs", i).out for i in ids])


def test_a_ci_branch_builds_its_change_reading_production_and_cleanup_drops_it(
        pg_home, postgres, serving, tmp_path):
    assert binary(pg_home, "run", "shop", "--wait").code == 0
    work = tmp_path / "work"
    git(work, "checkout", "-q", "-b", "feature/x")
    (work / "models/order_count.sql").write_text(
        "select count(*) + 100 as n from {{ ref('orders') }}\n")
    git(work, "commit", "-q", "-am", "a change")
    git(work, "push", "-q", str(tmp_path / "pgshop.git"), "feature/x")
    ci = binary(pg_home, "run", "ci", "--branch", "feature/x", "--wait")
    assert ci.code == 0, ci.out + ci.err
    run = runs_json(pg_home)[0]
    assert run["nodes"] == {"success": 1}  # order_count only: orders did not change
    compiled = next((Path(pg_home) / "runs" / str(run["id"])).rglob(
        "run/pgshop/models/order_count.sql")).read_text()
    assert '"public"."orders"' in compiled  # production's relation, deferred to
    assert postgres.sql("select table_name from information_schema.tables where "
                        "table_schema = 'ci_feature_x'") == "order_count"
    assert postgres.sql("select n from ci_feature_x.order_count") == "102"
    assert postgres.sql("select n from public.order_count") == "2"
    git(work, "push", "-q", str(tmp_path / "pgshop.git"), "--delete", "feature/x")
    serving(pg_home)
    assert binary(pg_home, "ci", "cleanup", "ci").code == 0
    wait_for(lambda: postgres.sql("select count(*) from information_schema.schemata where "
                                  "schema_name = 'ci_feature_x'") == "0",
             timeout=120, what="the branch's schema to be dropped")
