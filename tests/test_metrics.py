"""/metrics and /healthz over real HTTP from a real serve: the counters agree with
`runs --json`, the health check follows the lease and the engine's loop, and a prune
never makes a counter go down."""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import (
    binary,
    copy_home,
    job_id,
    runs_json,
    token,
    wait_complete,
    wait_for,
)
from dbt_console.model import Trigger
from dbt_console.store import Store

pytestmark = pytest.mark.real


def scrape(url: str, secret: str) -> dict:
    answer = httpx.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(answer.text)}


def root(serve) -> str:
    return serve.api_url.split("/api/v2/")[0]


def test_metrics_agree_with_runs_json_while_runs_happen(demo_api, serving):
    home, client = demo_api
    secret = client.headers["Authorization"].split()[1]
    url = str(client.base_url).split("/api/v2/")[0] + "/metrics"
    run = client.post(f"jobs/{job_id(client, 'nightly')}/run/", json={"cause": "metrics"})
    first = scrape(url, secret)  # while it runs: gauges answer, nothing breaks
    assert {"dbt_console_runs", "dbt_console_queue_depth", "dbt_console_runs_in_flight",
            "dbt_console_run_duration_seconds", "dbt_console_store_bytes"} <= set(first)
    wait_complete(client, run.json()["data"]["id"])
    families = scrape(url, secret)
    expected = Counter((r["job"], r["status"], r["trigger"].split(":")[0])
                       for r in runs_json(home) if r["finished_at"])
    got = {(s.labels["job"], s.labels["status"], s.labels["trigger"]): s.value
           for s in families["dbt_console_runs"].samples if s.name.endswith("_total")}
    assert got == expected
    durations = {s.labels["job"]: s.value for s in families[
        "dbt_console_run_duration_seconds"].samples if s.name.endswith("_count")}
    assert durations == Counter(job for job, _, _ in expected.elements())
    nodes = {(s.labels["job"], s.labels["status"]): s.value
             for s in families["dbt_console_job_last_run_nodes"].samples}
    assert nodes[("ride_audit", "fail")] >= 1 and nodes[("nightly", "success")] > 10
    last = {s.labels["job"] for s in families[
        "dbt_console_job_last_success_timestamp_seconds"].samples}
    assert last == {"nightly"}
    labels = {k for f in families.values() for s in f.samples for k in s.labels}
    assert labels <= {"job", "status", "trigger", "le", "hook_type", "outcome", "state"}
    assert httpx.get(url, timeout=30).status_code == 401  # a token, as for the API


def test_healthz_follows_the_lease_and_the_engines_loop(demo_runs, tmp_path, serving):
    home = copy_home(demo_runs, tmp_path)
    secret = token(home)
    serve = serving(home, args=("--metrics", "127.0.0.1:0"))
    base = serve.metrics_url.removesuffix("/metrics")
    assert httpx.get(base + "/healthz").status_code == 200
    assert scrape(base + "/metrics", secret)["dbt_console_queue_depth"]
    assert httpx.get(base + "/api/v2/accounts/1/jobs/",  # the API is not served here
                     headers={"Authorization": f"Token {secret}"}).status_code == 404
    serve.proc.send_signal(signal.SIGSTOP)  # a stuck engine: its loop stops ticking
    try:
        stuck = wait_for(lambda: (a := httpx.get(base + "/healthz")).status_code == 503 and a,
                         timeout=30, what="healthz to see the stuck loop")
        assert "has not ticked" in stuck.json()["why"]
        with sqlite3.connect(home / "dbt-console.db") as db:
            db.execute("DELETE FROM engine_lease")
        gone = httpx.get(base + "/healthz")
        assert gone.status_code == 503 and gone.json()["why"] == "no engine holds the store"
    finally:
        serve.proc.send_signal(signal.SIGCONT)


def test_a_prune_never_makes_a_counter_go_down(paths):
    from dbt_console.model import Job, RunStatus

    with Store(paths.store) as store:
        store.save_jobs([Job(name="j", commands=("dbt run",), project_dir="/srv")])
        job = store.get_job("j")
        ids = []
        for status in (RunStatus.SUCCESS, RunStatus.ERROR, RunStatus.SUCCESS):
            run = store.enqueue_run(job, Trigger.schedule(), "scheduler")
            store.claim_run(run.id)
            store.start_step(run.id, 4, "dbt run")
            store.finish_step(run.id, 4, status, 0)
            store.finish_run(run.id, status)
            ids.append(run.id)
        before = store.metric_totals()
        store.delete_runs(ids[:2])
        after = store.metric_totals()
        store.delete_runs(ids[2:])
        assert store.metric_totals() == before == after
        assert before.runs == {("j", "success", "schedule"): 2, ("j", "error", "schedule"): 1}
        assert before.step_seconds["j"].count == 3 and before.lateness[""].count == 3


def test_bad_metrics_address_is_refused(tmp_path):
    result = binary(tmp_path / "home", "serve", "--metrics", "nowhere:port", timeout=60)
    assert result.code == 2 and "HOST:PORT" in result.err, result.err


def test_serve_tells_systemd_it_is_ready_and_pings_its_watchdog(demo_runs, tmp_path,
                                                                  serving, monkeypatch):
    """What systemd gets with Type=notify and WatchdogSec=: a socket stands in for it."""
    import socket

    home = copy_home(demo_runs, tmp_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")  # WatchdogSec=2: a ping each second
    serve = serving(home)
    got = [notify.recv(256).decode() for _ in range(3)]
    assert got[0] == "READY=1" and got[1:] == ["WATCHDOG=1"] * 2, got
    serve.proc.send_signal(signal.SIGSTOP)  # a stuck engine stops pinging
    try:
        while True:  # drain what was sent before the stop
            notify.settimeout(1.5)
            notify.recv(256)
    except TimeoutError:
        pass
    finally:
        serve.proc.send_signal(signal.SIGCONT)
    notify.settimeout(30)
    assert notify.recv(256) == b"WATCHDOG=1"  # and pings again once it runs
    serve.stop()
    notify.close()
