"""Steps as another unix user (settings.toml's run_as), the shared-server set-up README
recommends: dbt, and whatever SQL a job runs, cannot read the store or the engine's
environment, while its log, its cancel and the engine's clean-up work as before.

Real users and a real sudoers rule (root makes them and removes them after); the engine
runs as a service user that is not root, from a venv of /usr/bin/python3
(conftest.system_venv), as the README's steps set it up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import SLOW_PROJECT, Result, make_project, wait_for

SERVICE, RUNNER = "dbtc_svc", "dbtc_dbt"
SUDOERS = Path("/etc/sudoers.d/dbtc-run-as-test")
CANARY = "engine-canary-5d1f"
STORE_CANARY = "store-canary-93ab"


@pytest.fixture(scope="module")
def accounts():
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("sudo"):
        pytest.skip("needs root, useradd and sudo to run steps as another real user")
    for user in (SERVICE, RUNNER):
        subprocess.run(["userdel", "-r", user], capture_output=True)  # a killed session's
    subprocess.run(["useradd", "--system", "-M", "-U", SERVICE], check=True)
    subprocess.run(["useradd", "--system", "--create-home", "-U", RUNNER], check=True)
    subprocess.run(["usermod", "-aG", RUNNER, SERVICE], check=True)
    yield
    SUDOERS.unlink(missing_ok=True)
    subprocess.run(["pkill", "-KILL", "-u", RUNNER], capture_output=True)
    subprocess.run(["pkill", "-KILL", "-u", SERVICE], capture_output=True)
    for user in (SERVICE, RUNNER):
        subprocess.run(["userdel", "-r", user], capture_output=True)


def allow_sudo() -> None:
    SUDOERS.write_text(f"{SERVICE} ALL=({RUNNER}) NOPASSWD:SETENV: ALL\n")
    SUDOERS.chmod(0o440)


@pytest.fixture
def home(accounts, system_venv):
    """The service user's data directory, as README's steps make it (others may pass
    through it, nothing in it is theirs to read), and a project the run user may write."""
    root = Path(tempfile.mkdtemp(prefix="dbtc-runas-"))
    root.chmod(0o755)
    data = root / "data"
    subprocess.run(["install", "-d", "-o", SERVICE, "-g", SERVICE, "-m", "0751", str(data)],
                   check=True)
    project = make_project(root / "project", {
        **SLOW_PROJECT,
        "models/ok.sql": "select 1 as x\n",
    })
    subprocess.run(["chown", "-R", f"{SERVICE}:{RUNNER}", str(project)], check=True)
    subprocess.run(["chmod", "-R", "g+rwX,g+s,o-rwx", str(project)], check=True)
    (root / "venv").symlink_to(system_venv)
    yield data
    subprocess.run(["pkill", "-KILL", "-u", RUNNER], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def as_service(home: Path, *args: str, env: dict | None = None,
               timeout: float = 300) -> Result:
    exe = home.parent / "venv" / "bin" / "dbt-console"
    done = subprocess.run(
        ["runuser", "-u", SERVICE, "--", "env", f"DBT_CONSOLE_HOME={home}",
         *(f"{k}={v}" for k, v in (env or {}).items()), str(exe), *args],
        capture_output=True, text=True, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)


def write_as_service(path: Path, text: str) -> None:
    subprocess.run(["runuser", "-u", SERVICE, "--", "tee", str(path)], input=text,
                   text=True, capture_output=True, check=True)


def import_jobs(home: Path, jobs: str) -> None:
    path = home.parent / "jobs.yml"
    path.write_text(jobs)
    path.chmod(0o644)
    done = as_service(home, "jobs", "import", str(path))
    assert done.code == 0, done.err


class Engine:
    """`dbt-console serve` as the service user, with a secret in its environment."""

    def __init__(self, home: Path):
        exe = home.parent / "venv" / "bin" / "dbt-console"
        self.proc = subprocess.Popen(
            ["runuser", "-u", SERVICE, "--", "env", f"DBT_CONSOLE_HOME={home}",
             f"DBTC_SECRET={CANARY}", str(exe), "serve"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        for line in self.proc.stdout:
            self.lines.append(line)
            if "engine running (pid " in line:
                self.pid = int(line.split("(pid ", 1)[1].split(")")[0])
                return
        self.proc.wait()
        self.code = self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            subprocess.run(["kill", "-TERM", str(self.pid)])
            self.proc.wait(timeout=120)


@pytest.mark.e2e
def test_serve_refuses_a_run_as_it_cannot_use_and_says_what_to_do(home):
    write_as_service(home / "settings.toml", 'run_as = "dbtc_nosuchuser"\n')
    refused = as_service(home, "serve")
    assert refused.code == 2 and "no such unix user" in refused.err, refused
    write_as_service(home / "settings.toml", f'run_as = "{RUNNER}"\n')
    SUDOERS.unlink(missing_ok=True)
    refused = as_service(home, "serve")
    assert refused.code == 2, refused
    assert f"sudo may not run commands as {RUNNER}" in refused.err, refused.err
    assert f"{SERVICE} ALL=({RUNNER}) NOPASSWD:SETENV: ALL" in refused.err
    assert "Traceback" not in refused.err and refused.err.count("\n") == 1


@pytest.mark.e2e
def test_dbt_runs_as_the_run_user_and_reads_neither_the_store_nor_the_engine(home):
    allow_sudo()
    write_as_service(home / "settings.toml", f'run_as = "{RUNNER}"\n')
    project = home.parent / "project"
    store = home / "dbt-console.db"
    engine = Engine(home)  # first: a job below reads its /proc/PID/environ
    try:
        assert engine.proc.poll() is None, "".join(engine.lines)
        environ = f"/proc/{engine.pid}/environ"
        import_jobs(home, f"""
jobs:
  - name: build
    project_dir: {project}
    commands: ["dbt run --select ok"]
    env: {{KEPT: {STORE_CANARY}}}
  - name: store
    project_dir: {project}
    commands: ["dbt show --inline \\"select content from read_blob('{store}')\\""]
  - name: environ
    project_dir: {project}
    commands: ["dbt show --inline \\"select content from read_text('{environ}')\\""]
""")
        built = as_service(home, "run", "build", "--wait")
        assert built.code == 0, built.out + built.err
        assert f"as unix user {RUNNER}" in built.out
        assert (project / "slow.duckdb").owner() == RUNNER  # dbt wrote it, as that user
        for job, path in (("store", store), ("environ", environ)):
            tried = as_service(home, "run", job, "--wait")
            assert tried.code == 1, tried.out + tried.err
            assert "permission denied" in tried.out.lower(), tried.out
            assert CANARY not in tried.out and STORE_CANARY not in tried.out
            assert str(path) in tried.out
    finally:
        engine.stop()
    runs = json.loads(as_service(home, "runs", "--json").out)
    # The engine may remove what dbt wrote (retention does): group-writable, shared.
    run_dir = home / "runs" / str(runs[-1]["id"])
    assert (run_dir / "target" / "run_results.json").is_file()
    removed = subprocess.run(["runuser", "-u", SERVICE, "--", "rm", "-r", str(run_dir)],
                             capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr


@pytest.mark.e2e
def test_a_cancel_and_a_killed_engine_stop_the_run_users_dbt(home):
    """The engine may not signal another user's processes: sudo passes a cancel on, and
    the next engine stops what a killed one left running the same way."""
    allow_sudo()
    write_as_service(home / "settings.toml", f'run_as = "{RUNNER}"\n')
    import_jobs(home, f"""
jobs:
  - name: slow
    project_dir: {home.parent / "project"}
    commands: ["dbt run --select slow"]
""")

    def started(run_id: str) -> None:
        try:
            wait_for(lambda: "START sql table model main.slow" in as_service(home, "logs",
                                                                           run_id).out, 120,
                     "the slow model to start")
        except AssertionError:
            raise AssertionError(as_service(home, "logs", run_id).out + "".join(
                engine.lines) + as_service(home, "status").out) from None
        assert subprocess.run(["pgrep", "-u", RUNNER, "-f", "dbt"]).returncode == 0

    def ended(status: str) -> None:
        wait_for(lambda: json.loads(as_service(home, "runs", "--json").out)[0]["status"]
                 == status, 120, f"the run to end {status}")
        wait_for(lambda: subprocess.run(["pgrep", "-u", RUNNER]).returncode == 1, 60,
                 "no process of the run user left")

    engine = Engine(home)
    try:
        run_id = as_service(home, "run", "slow").out.split()[0]
        started(run_id)
        assert as_service(home, "cancel", run_id).code == 0
        ended("cancelled")
        run_id = as_service(home, "run", "slow").out.split()[0]
        started(run_id)
        os.kill(engine.pid, signal.SIGKILL)
        engine.proc.wait(timeout=60)
        engine = Engine(home)
        ended("error")
    finally:
        engine.stop()


@pytest.mark.unit
def test_run_as_must_name_a_user_other_than_root_and_the_engines(tmp_path):
    from dbt_console.config import Paths, load_settings
    from dbt_console.engine.runas import RunAs, configured
    from dbt_console.errors import UserError

    paths = Paths(tmp_path, tmp_path)
    for bad in ('"a b"', "1", '["x"]', '"x;rm"'):
        paths.settings_file.write_text(f"run_as = {bad}\n")
        with pytest.raises(UserError, match="run_as must be a unix user name"):
            load_settings(paths)
    paths.settings_file.write_text('run_as = "dbtrun"\n')
    assert load_settings(paths).run_as == "dbtrun"
    assert configured("", paths) is None
    assert "may not be root" in RunAs.named("root").problem()
    me = RunAs("me", os.geteuid(), os.getegid(), "/")
    if os.geteuid() != 0:
        assert "the user the engine runs as" in me.problem()
    stranger = RunAs("stranger", 54321, 54321, "/")  # in no group of ours
    assert "must be in stranger's group" in stranger.problem()


@pytest.mark.unit
def test_a_step_goes_through_sudo_with_its_own_environment_at_the_run_users_home():
    from dbt_console.engine.runas import RunAs

    run_as = RunAs("dbtrun", 990, 990, "/home/dbtrun")
    argv = run_as.sudo(["/opt/venv/bin/dbt", "run", "--select", "a b"])
    assert argv[:6] == ["sudo", "-n", "-E", "-u", "dbtrun", "--"]
    assert argv[-4:] == ["/opt/venv/bin/dbt", "run", "--select", "a b"]  # no shell words
    env = run_as.env({"HOME": "/var/lib/dbt-console", "USER": "dbtconsole", "K": "v"})
    assert env == {"HOME": "/home/dbtrun", "USER": "dbtrun", "LOGNAME": "dbtrun", "K": "v"}

