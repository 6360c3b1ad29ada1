"""Team access with real unix users: roles from grants, the kernel's uid (never $USER),
token roles over real HTTP, and an audit row for every change, refused ones included.

Needs root (to make users and groups, removed afterwards) and /usr/bin/python3: the
users run the real program from a venv of that Python, since they cannot enter /root.
Two set-ups: a store shared through a group (everyone opens it), and production's, where
the store is the service user's alone and teammates reach the engine over its socket.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import SLOW_PROJECT, Result, api_server, binary, make_project, write_jobs

pytestmark = pytest.mark.e2e

PREFIX = "dbtc"
USERS = {"viewer": f"{PREFIX}_vic", "runner": f"{PREFIX}_rae", "editor": f"{PREFIX}_eda",
         "admin": f"{PREFIX}_ada", "nobody": f"{PREFIX}_nob", "member": f"{PREFIX}_mel"}
TEAM, GROUP = f"{PREFIX}_team", f"{PREFIX}_analytics"


def _run(*argv: str) -> None:
    # The venv must be readable by the test users whatever umask this process was left
    # with (dbt-console's main() sets 007 for what it writes).
    subprocess.run(argv, check=True, capture_output=True, preexec_fn=lambda: os.umask(0o022))


@pytest.fixture(scope="module")
def users():
    if os.geteuid() != 0 or not shutil.which("useradd") or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root, useradd and /usr/bin/python3 to run as real unix users")
    for group in (TEAM, GROUP):
        subprocess.run(["groupadd", group], capture_output=True)
    for user in USERS.values():
        subprocess.run(["useradd", "-M", "-N", "-g", TEAM, user], capture_output=True)
    _run("usermod", "-aG", GROUP, USERS["member"])
    yield USERS
    for user in USERS.values():
        subprocess.run(["userdel", user], capture_output=True)
    for group in (GROUP, TEAM):
        subprocess.run(["groupdel", group], capture_output=True)


@pytest.fixture(scope="module")
def place(users, system_venv):
    """A directory every test user can reach: the session's venv of the system Python
    with this dbt-console in it, and room for a shared home."""
    root = Path(tempfile.mkdtemp(prefix="dbtc-team-"))
    root.chmod(0o755)
    (root / "venv").symlink_to(system_venv)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def shared(place, tmp_path):
    """A store owned by root (so root is its admin), shared with the team's group."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=place))
    project = home / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: p\n")
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: nightly
    project_dir: {project}
    commands: ["dbt build"]
  - name: marts_daily
    project_dir: {project}
    commands: ["dbt build --select marts"]
""")
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    for role in ("viewer", "runner", "editor", "admin"):
        assert binary(home, "access", "grant", USERS[role], role).code == 0
    _run("chgrp", "-R", TEAM, str(home))
    _run("chmod", "-R", "g+rwX", str(home))
    return home


def as_user(home: Path, user: str, *args: str, env: dict | None = None) -> Result:
    venv = home.parent / "venv" / "bin" / "dbt-console"
    command = ["runuser", "-u", user, "--", "env", f"DBT_CONSOLE_HOME={home}",
               *(f"{k}={v}" for k, v in (env or {}).items()), str(venv), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


def audit(home: Path, user: str) -> list[dict]:
    return json.loads(binary(home, "audit", "--user", user, "--json").out)


def test_a_viewer_reads_runs_and_logs_but_may_not_run(shared):
    run_id = binary(shared, "run", "nightly").out.split()[0]
    vic = USERS["viewer"]
    assert as_user(shared, vic, "runs").code == 0
    assert as_user(shared, vic, "logs", run_id).code == 0
    refused = as_user(shared, vic, "run", "nightly")
    assert refused.code == 3, refused.err
    assert refused.err.count("\n") == 1 and "not allowed" in refused.err
    assert "takes the runner role" in refused.err and f"{vic} is viewer" in refused.err
    row = audit(shared, vic)[0]
    assert (row["action"], row["via"], row["outcome"][:8]) == ("runs.run_now", "cli", "refused:")


def test_a_user_outside_the_team_gets_one_line_and_exit_2(shared):
    """nobody is not in the group the store is shared with: no traceback, no pointer to
    a crash.log it could not write."""
    for args in (("jobs", "list"), ("runs",)):
        refused = as_user(shared, "nobody", *args)
        assert refused.code == 2, refused
        assert refused.err.count("\n") == 1 and "permission denied" in refused.err, refused
        assert "Traceback" not in refused.err and "crash.log" not in refused.err


def test_a_runner_runs_and_cancels_but_may_not_edit(shared):
    rae = USERS["runner"]
    ran = as_user(shared, rae, "run", "nightly")
    assert ran.code == 0, ran.err
    run_id = ran.out.split()[0]
    assert as_user(shared, rae, "cancel", run_id).code == 0
    assert as_user(shared, rae, "jobs", "pause", "nightly").code == 3
    runs = json.loads(binary(shared, "runs", "--json").out)
    assert (runs[0]["actor"], runs[0]["status"]) == (rae, "cancelled")
    assert [(r["action"], r["outcome"][:7]) for r in audit(shared, rae)] == [
        ("jobs.set_enabled", "refused"), ("runs.cancel", "done"), ("runs.run_now", "done")]


def test_an_editor_edits_but_may_not_choose_a_new_program(shared):
    eda = USERS["editor"]
    files = shared / "files"  # where the editor can read the jobs files
    files.mkdir()
    assert as_user(shared, eda, "jobs", "pause", "nightly").code == 0
    project = shared / "project"
    same = write_jobs(files / "same.yml", f"""
jobs:
  - name: weekly
    project_dir: {project}
    commands: ["dbt build"]
""")
    assert as_user(shared, eda, "jobs", "import", str(same)).code == 0, "an existing source"
    other = write_jobs(files / "other.yml", f"""
jobs:
  - name: nightly
    project_dir: {project}
    dbt_path: /tmp/evil/dbt
    commands: ["dbt build"]
""")
    refused = as_user(shared, eda, "jobs", "import", str(other))
    assert refused.code == 3 and "only an admin may set dbt_path" in refused.err
    assert "dbt_path" not in binary(shared, "jobs", "show", "nightly").out
    rows = audit(shared, eda)
    assert rows[0]["outcome"].startswith("refused") and rows[0]["action"] == "jobs.import_text"
    assert "weekly: created" in rows[1]["detail"]
    assert rows[2]["target"] == "pause job nightly" and rows[2]["outcome"] == "done"


@pytest.mark.parametrize("name", ["PYTHONPATH", "LD_PRELOAD", "PATH", "GIT_SSH_COMMAND"])
def test_an_editor_may_not_set_what_programs_load(shared, name):
    """A job's env with PYTHONPATH on a dir holding sitecustomize.py ran that code as the
    service user, which reads the store: like dbt_path, only an admin may set it."""
    eda = USERS["editor"]
    files = shared / "files"
    files.mkdir(exist_ok=True)
    loaded = write_jobs(files / "loaded.yml", f"""
jobs:
  - name: nightly
    project_dir: {shared / 'project'}
    commands: ["dbt build"]
    env: {{{name}: /tmp/evil}}
""")
    refused = as_user(shared, eda, "jobs", "import", str(loaded))
    assert refused.code == 3 and "only an admin may set env (what programs load)" in (
        refused.err), refused.err
    assert name not in binary(shared, "jobs", "show", "nightly").out
    assert binary(shared, "jobs", "import", str(loaded)).code == 0  # the owner: admin
    edited = write_jobs(files / "edited.yml", f"""
jobs:
  - name: nightly
    project_dir: {shared / 'project'}
    commands: ["dbt build --select a"]
    env: {{{name}: /tmp/evil}}
""")
    # What an admin set, an editor may keep while editing the rest.
    assert as_user(shared, eda, "jobs", "import", str(edited)).code == 0


def test_serve_refuses_to_start_when_teammates_could_not_reach_its_socket(place):
    """The service user is not in the data directory's group: serve cannot give its
    socket that group. It used to warn and serve only itself; it refuses, saying how."""
    rae = USERS["runner"]  # in TEAM only
    home = Path(tempfile.mkdtemp(prefix="svc-", dir=place))
    _run("chown", f"{rae}:{GROUP}", str(home))
    home.chmod(0o750)
    refused = as_user(home, rae, "serve")
    assert refused.code == 2, refused
    assert f"the group of {home} ({GROUP})" in refused.err and f"usermod -aG {GROUP} {rae}" in (
        refused.err), refused.err
    assert not (home / "engine.sock").exists()
    assert "no engine is running" in as_user(home, rae, "engine", "stop").err  # lease given back


def test_an_admin_grants_and_the_owner_stays_admin(shared):
    ada = USERS["admin"]
    granted = as_user(shared, ada, "access", "grant", USERS["nobody"], "runner",
                      "--jobs", "marts_*")
    assert granted.code == 0, granted.err
    nob = USERS["nobody"]
    assert as_user(shared, nob, "run", "marts_daily").code == 0
    assert as_user(shared, nob, "run", "nightly").code == 3  # not one of its jobs
    assert as_user(shared, nob, "runs").code == 0  # it may still look
    assert as_user(shared, ada, "access", "revoke", "root").code == 2
    assert as_user(shared, USERS["runner"], "access", "grant", nob, "admin").code == 3
    assert as_user(shared, ada, "access", "revoke", ada).code == 0  # the last other admin
    assert "no role" in as_user(shared, ada, "access", "whoami").out


def test_a_group_grant_holds_for_its_members(shared):
    mel = USERS["member"]
    assert as_user(shared, mel, "runs").code == 3
    assert binary(shared, "access", "grant", f"@{GROUP}", "viewer").code == 0
    assert as_user(shared, mel, "runs").code == 0
    assert f"{mel} (user): viewer" in as_user(shared, mel, "access", "whoami").out


def test_setting_user_or_logname_changes_nothing(shared):
    vic = USERS["viewer"]
    pretend = {"USER": "root", "LOGNAME": "root", "USERNAME": "root"}
    assert as_user(shared, vic, "run", "nightly", env=pretend).code == 3
    assert f"{vic} (user): viewer" in as_user(shared, vic, "access", "whoami", env=pretend).out
    assert audit(shared, vic)[0]["who"] == vic


def test_bad_access_input_is_exit_2_with_a_message(shared):
    cases = [
        (("access", "grant", "no_such_user_x", "viewer"), "no unix user named 'no_such_user_x'"),
        (("access", "grant", "@no_such_group_x", "viewer"), "no unix group named"),
        (("access", "grant", USERS["viewer"], "boss"), "unknown role 'boss'"),
        (("access", "revoke", "root"), "owns the store and is always admin"),
        (("access", "grant", "root", "viewer"), "owns the store and is always admin"),
        (("tokens", "create", "bot", "--role", "admin"), "unknown role 'admin'"),
        (("audit", "--since", "yesterday"), "--since 'yesterday'"),
    ]
    for args, message in cases:
        result = binary(shared, *args)
        assert result.code == 2 and message in result.err, (args, result.err)


def test_the_audit_log_cannot_be_changed(shared):
    with sqlite3.connect(shared / "dbt-console.db") as conn:
        with pytest.raises(sqlite3.DatabaseError, match="cannot be changed"):
            conn.execute("DELETE FROM audit")
        with pytest.raises(sqlite3.DatabaseError, match="cannot be changed"):
            conn.execute("UPDATE audit SET outcome = 'done'")


def test_token_roles_over_real_http(shared, monkeypatch):
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(shared))
    viewer = binary(shared, "tokens", "create", "looker", "--role", "viewer").out.strip()
    runner = binary(shared, "tokens", "create", "airflow").out.strip()
    with api_server(viewer) as client:
        job = next(j["id"] for j in client.get("jobs/").json()["data"] if j["name"] == "nightly")
        assert client.get("runs/").status_code == 200
        refused = client.post(f"jobs/{job}/run/", json={"cause": "try"})
        assert refused.status_code == 403
        body = refused.json()
        assert body["status"]["code"] == 403 and not body["status"]["is_success"]
        assert "takes the runner role; looker is viewer" in body["status"]["user_message"]
    with api_server(runner) as client:
        assert client.post(f"jobs/{job}/run/", json={"cause": "go"}).status_code == 200
    rows = audit(shared, "looker")
    assert rows[0]["via"] == "api" and rows[0]["outcome"].startswith("refused")
    assert audit(shared, "airflow")[0]["outcome"] == "done"
    listed = [line.split()[:2] for line in binary(shared, "tokens", "list").out.splitlines()]
    assert ["looker", "viewer"] in listed and ["airflow", "runner"] in listed


@pytest.fixture
def service(place, tmp_path, serving):
    """A production set-up: the store belongs to the service user (root here) and only
    the data directory's group (the team) may enter it, to reach the engine's socket."""
    home = Path(tempfile.mkdtemp(prefix="svc-", dir=place))
    project = make_project(home / "project", SLOW_PROJECT)
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: quick
    project_dir: {project}
    commands: ["dbt parse"]
""")
    assert binary(home, "jobs", "import", str(jobs)).code == 0
    for role in ("viewer", "runner"):
        assert binary(home, "access", "grant", USERS[role], role).code == 0
    _run("chgrp", TEAM, str(home))
    home.chmod(0o750)
    serving(home)
    return home


def test_a_teammate_acts_through_the_engine_and_cannot_open_the_store(service):
    rae, vic = USERS["runner"], USERS["viewer"]
    store = service / "dbt-console.db"
    opened = subprocess.run(
        ["runuser", "-u", rae, "--", "/usr/bin/python3", "-c",
         f"import sqlite3; sqlite3.connect('file:{store}?mode=rw', uri=True)"
         ".execute('select 1')"], capture_output=True, text=True)
    assert opened.returncode != 0 and "unable to open" in opened.stderr
    ran = as_user(service, rae, "run", "quick", "--wait", env={"USER": "root"})
    assert ran.code == 0, ran.err
    assert "Performance info" in ran.out or "parse" in ran.out.lower()
    run = json.loads(binary(service, "runs", "--json").out)[0]
    assert (run["actor"], run["status"]) == (rae, "success")
    assert as_user(service, vic, "run", "quick").code == 3
    assert as_user(service, rae, "jobs", "pause", "quick").code == 3
    assert as_user(service, vic, "logs", str(run["id"])).code == 0
    rows = audit(service, rae)
    assert (rows[0]["who"], rows[0]["via"], rows[0]["outcome"]) == (rae, "cli", "refused: "
                                                                    + rows[0]["outcome"][9:])


TEAMMATE_DASHBOARD = """
import asyncio, json, sys
from dbt_console.config import resolve_paths
from dbt_console.tui.app import DbtConsoleApp
from dbt_console.tui.screens.run import RunScreen
from dbt_console.tui.widgets.log_view import LogView

async def main():
    app = DbtConsoleApp(resolve_paths())
    async with app.run_test(size=(120, 40)) as pilot:
        title = app.title
        await pilot.press("r")
        for _ in range(600):
            await pilot.pause(0.05)
            if isinstance(app.screen, RunScreen) or app._notifications:
                break
        app.open_latest_run("quick")
        await pilot.pause()
        screen = app.screen
        for _ in range(1200):
            await pilot.pause(0.05)
            if getattr(screen, "run", None) and screen.run.status.finished:
                break
        await pilot.pause(0.3)
        print(json.dumps({"title": title, "status": screen.run.status.value,
                          "actor": screen.run.actor, "engine": app._spawned is not None,
                          "lines": screen.query_one(LogView).line_count}))

asyncio.run(main())
"""


def test_a_teammates_dashboard_runs_a_job_and_streams_its_log(service):
    rae = USERS["runner"]
    python = service.parent / "venv" / "bin" / "python"
    done = subprocess.run(["runuser", "-u", rae, "--", "env", f"DBT_CONSOLE_HOME={service}",
                           str(python), "-c", TEAMMATE_DASHBOARD],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["title"] == f"dbt-console · {rae} (runner)"
    assert not seen["engine"], "a teammate's dashboard never starts an engine"
    assert (seen["status"], seen["actor"]) == ("success", rae)
    assert seen["lines"] > 5
