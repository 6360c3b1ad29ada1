"""One action, every front end, one result. Running a CI branch, retrying, cancelling and
rerunning through the CLI (the real binary), the dashboard (the real app through Pilot)
and the API (the real app over real HTTP) give the same runs: trigger, who asked, the
dbt Cloud variables the run gets, and a request merged with a run already waiting.

No engine runs here, so every run stays where the action left it: the API is served by
uvicorn in a thread of this process instead of beside a `serve`.
"""

from __future__ import annotations

import asyncio
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import api_server, binary, branch_remote, workers_done, write_jobs
from dbt_console.config import resolve_paths
from dbt_console.engine.stepenv import cloud_env
from dbt_console.model import RunStatus, Trigger
from dbt_console.store import Store

pytestmark = pytest.mark.real

FRONT_ENDS = ["cli", "dashboard", "api"]
OLD_SHA = "0" * 40


@dataclass
class World:
    home: Path
    sha: str  # feature/x's head on the remote
    token: str
    failed: int  # a failed run of `local`, its latest
    queued: int  # a queued run of `other`
    waiting: int  # a run of pr's feature/x the poller queued at an older head
    ids: dict[str, int]  # job ids


def make_world(tmp_path: Path) -> World:
    home = tmp_path / "home"
    bare, sha = branch_remote(tmp_path, "feature/x")
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: local
    project_dir: /srv/p
    commands: ["dbt seed", "dbt build"]
  - name: other
    project_dir: /srv/p
    commands: ["dbt build"]
  - name: pr
    git: {{url: "{bare}"}}
    ci: {{defer_to: local, branches: "feature/*"}}
""")
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    token = binary(home, "tokens", "create", "bot").out.strip()
    with Store(home / "dbt-console.db") as store:
        local, other, pr = (store.get_job(n) for n in ("local", "other", "pr"))
        failed = store.enqueue_run(local, Trigger.manual(), "someone")
        store.claim_run(failed.id)
        store.finish_run(failed.id, RunStatus.ERROR, "a model failed")
        queued = store.enqueue_run(other, Trigger.manual(), "someone")
        waiting = store.enqueue_run(pr, Trigger.ci("feature/x", OLD_SHA), "push",
                                    "feature/x", OLD_SHA)
        ids = {j.name: j.id for j in (local, other, pr)}
    return World(home, sha, token, failed.id, queued.id, waiting.id, ids)


def through_api(world: World, action: str) -> None:
    with api_server(world.token) as client:
        if action == "run a CI branch":
            response = client.post(f"jobs/{world.ids['pr']}/run/",
                                   json={"cause": "from Airflow", "git_branch": "feature/x"})
        elif action in ("retry", "rerun"):  # dbt Cloud retries through rerun
            response = client.post(f"jobs/{world.ids['local']}/rerun/")
        else:
            response = client.post(f"runs/{world.queued}/cancel/")
        assert response.status_code == 200, response.text


def through_cli(world: World, action: str) -> None:
    args = {"run a CI branch": ("run", "pr", "--branch", "feature/x"),
            "retry": ("retry", str(world.failed)), "cancel": ("cancel", str(world.queued)),
            "rerun": ("rerun", "local")}[action]
    result = binary(world.home, *args)
    assert result.code == 0, result.err


def through_dashboard(world: World, action: str) -> None:
    from dbt_console.tui.app import DbtConsoleApp
    from dbt_console.tui.screens.run import RunScreen

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one("#jobs")
            if action in ("run a CI branch", "rerun"):
                row = "pr@feature/x" if action == "run a CI branch" else "local"
                table.cursor = list(table.rows).index(row)
                await pilot.press("r" if action == "run a CI branch" else "R")
            else:
                app.push_screen(RunScreen(world.failed if action == "retry" else world.queued))
                await pilot.pause()
                await pilot.press("r" if action == "retry" else "c")
                if action == "cancel":
                    await pilot.pause()
                    await pilot.press("y")
            # A run screen's watcher runs until the screen goes: not a worker to wait for.
            await workers_done(app)
            await pilot.pause()

    asyncio.run(scenario())


def expected_actor(front_end: str) -> str:
    return "bot" if front_end == "api" else pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.parametrize("front_end", FRONT_ENDS)
@pytest.mark.parametrize("action", ["run a CI branch", "retry", "cancel", "rerun"])
def test_the_same_action_gives_the_same_run_from_every_front_end(
        tmp_path, monkeypatch, front_end, action):
    world = make_world(tmp_path)
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(world.home))
    {"cli": through_cli, "dashboard": through_dashboard, "api": through_api}[front_end](
        world, action)
    actor = expected_actor(front_end)
    with Store(world.home / "dbt-console.db") as store:
        runs = store.list_runs(limit=100)
        if action == "cancel":
            assert store.get_run(world.queued).status is RunStatus.CANCELLED
            assert f"{actor} cancelled run {world.queued}" in store.recent_events(1)[0].detail
            assert len(runs) == 3  # nothing new was queued
            return
        if action == "run a CI branch":
            # Merged with the run of that branch already waiting: no second run.
            assert [r.id for r in runs if r.job_name == "pr"] == [world.waiting]
            run = store.get_run(world.waiting)
            expected = (f"ci:feature/x@{world.sha}", world.sha, "pull_request")
        else:
            assert len(runs) == 4 and runs[0].id > world.waiting
            run = runs[0]
            expected = (f"retry:{world.failed}", None, "other")
        env = cloud_env(store.run_job(run.id), run, run.git_sha, store.run_cause(run.id))
    assert (str(run.trigger), run.git_sha, env["DBT_CLOUD_RUN_REASON_CATEGORY"]) == expected
    assert run.actor == actor and run.status is RunStatus.QUEUED
    assert env["DBT_CLOUD_JOB_ID"] == str(run.job_id)
