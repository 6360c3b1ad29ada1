"""Docs from runs: `generate_docs: true` keeps a run's docs site; `dbt-console docs` serves
only that site over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import binary, import_jobs

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def docs_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with its docs job run once, for the tests that only read it (a run with
    docs is three dbt steps: made once per module, not per test)."""
    home = tmp_path_factory.mktemp("docs") / "home"
    assert binary(home, "demo", "--no-tui").code == 0
    run = binary(home, "run", "docs", "--wait")
    assert run.code == 0, run.out + run.err
    return home


def serve_docs(home: Path, *args: str):
    """`dbt-console docs` as a user starts it; returns the process and the URL it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbt_console", "docs", *args, "--port", "0"],
        env={**os.environ, "DBT_CONSOLE_HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    second = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:(\d+)/)$", first.strip())
    assert match, first + proc.stderr.read() if proc.poll() is not None else first
    port = match[2]
    assert f"ssh -L {port}:127.0.0.1:{port} " in second
    return proc, match[1]


def test_a_job_with_generate_docs_serves_its_docs_over_http(docs_home):
    log = binary(docs_home, "logs", "1").out
    assert "$ dbt docs generate" in log
    assert "docs kept with the run: dbt-console docs docs --run 1 serves them" in log
    proc, url = serve_docs(docs_home, "docs")
    try:
        index = httpx.get(url, timeout=10)
        assert index.status_code == 200 and "<html" in index.text.lower()
        catalog = httpx.get(url + "catalog.json", timeout=10)
        assert catalog.status_code == 200
        assert "model.pedalshare.fct_rides" in catalog.json()["nodes"]
        manifest = httpx.get(url + "manifest.json", timeout=10)
        assert "model.pedalshare.dim_stations" in manifest.json()["nodes"]
        # Only the docs site: not compiled SQL, not run results, not the directory.
        for other in ("run_results.json", "../target/run_results.json", "compiled/"):
            assert httpx.get(url + other, timeout=10).status_code == 404, other
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_docs_step_is_a_step_but_adds_no_node_results(docs_home):
    from dbt_console.engine import setup
    from dbt_console.store import Store

    with Store(docs_home / "dbt-console.db") as store:
        steps = [(s.idx, s.command, s.exit_code) for s in store.list_steps(1)]
        by_step = {r.step for r in store.node_results(1)}
    # Steps 1-3 are the set-up steps, numbered as dbt Cloud numbers them.
    assert steps == [(1, "Use project directory", 0), (2, setup.PROFILE_STEP_NAME, 0),
                     (3, "dbt deps", 0), (4, "dbt seed", 0), (5, "dbt run", 0),
                     (6, "dbt docs generate", 0)]
    # docs generate compiles every node again; those are not results of this run.
    assert by_step == {4, 5}


def test_docs_are_generated_after_nodes_failed_and_the_run_stays_an_error(tmp_path):
    home = tmp_path / "home"
    assert binary(home, "demo", "--no-tui").code == 0
    project = home / "demo" / "pedalshare"
    import_jobs(home, tmp_path, f"""
jobs:
  - name: audit_docs
    project_dir: {project}
    env: {{PEDALSHARE_DUCKDB: audit_docs.duckdb}}
    commands: ["dbt build --select staging+"]  # no seed: the staging models error
    generate_docs: true
""")
    run = binary(home, "run", "audit_docs", "--wait")
    assert run.code == 1
    assert "run 1 of audit_docs: error" in run.out
    assert "docs kept with the run" in binary(home, "logs", "1").out
    proc, url = serve_docs(home, "audit_docs", "--run", "1")
    try:
        assert httpx.get(url + "catalog.json", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_docs_of_a_job_without_them_says_how_to_turn_them_on(docs_home):
    result = binary(docs_home, "docs", "nightly")
    assert result.code == 2
    assert result.err.strip() == (
        "dbt-console: nightly has no docs: set generate_docs: true on the job (its runs "
        "then end with dbt docs generate), then run it")
    assert binary(docs_home, "docs", "nope").code == 2
    wrong = binary(docs_home, "docs", "nightly", "--run", "1")
    assert wrong.code == 2 and "run 1 is a run of docs, not of nightly" in wrong.err
