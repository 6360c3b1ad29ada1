"""Shared fixtures. Nothing here touches the real home: every test gets its own
DBT_CONSOLE_HOME, and dbt's anonymous usage tracking is off (there is no network)."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from dbt_console.cli import main
from dbt_console.config import Paths, resolve_paths
from dbt_console.store import Store

pytest_plugins = ["tiers"]  # the tiers by cost, and the unit tier's guard

os.environ["DO_NOT_TRACK"] = "1"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
# Every step cold unless a test is about warm starts (the warm_starts fixture): a helper
# costs more than the one or two steps of a test save. Helpers were a third of the
# suite's CPU (132 of them, 5.6 s each, for 48 warm steps: CONTRIBUTING, Tests).
os.environ["DBT_CONSOLE_WARM_STARTS"] = "false"


def _sigint_as_serve_has_it() -> None:
    """Tests run executors and engines in this process; serve and run --wait give SIGINT
    back to the dbt they start (an xdist worker may have it ignored, and its dbt
    children then shrug off a cancel's SIGINT): this process does the same."""
    from dbt_console.engine.launcher import restore_default_sigint

    restore_default_sigint()


_sigint_as_serve_has_it()


@pytest.fixture
def warm_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm starts as users get them: settings.toml decides (true unless it says no)."""
    monkeypatch.delenv("DBT_CONSOLE_WARM_STARTS")


@pytest.fixture(scope="session", autouse=True)
def a_known_terminal(tmp_path_factory: pytest.TempPathFactory):
    """Tests see the dashboard as a full-colour UTF-8 terminal shows it whatever the
    machine running them has (a test that needs NO_COLOR or 16 colours sets them), and
    keep their dashboard preferences (theme, mouse) away from the user's own."""
    saved = {k: os.environ.get(k) for k in ("TERM", "COLORTERM", "NO_COLOR",
                                             "XDG_CONFIG_HOME")}
    os.environ.update(TERM="xterm-256color", COLORTERM="truecolor",
                      XDG_CONFIG_HOME=str(tmp_path_factory.mktemp("xdg-config")))
    os.environ.pop("NO_COLOR", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def reap_stray_dbt(tmp_path_factory: pytest.TempPathFactory):
    """A failing test can leave a slow dbt running in its own session (a test's process
    groups are not ours). At the end, stop every dbt whose run directory is under this
    session's temp dir, and warm steps whose helper died."""
    yield
    import signal

    base = str(tmp_path_factory.getbasetemp()).encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            env = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
            parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        # A warm step keeps its helper's environment in /proc; once its helper is gone it
        # is a stray whatever it ran.
        orphaned_warm_step = b"engine/warm/helper.py" in cmdline and parent == "1"
        # A background engine a test's dashboard started outlives the test by design.
        background = b"serve\x00--background" in cmdline and b"DBT_CONSOLE_HOME=" + base in env
        if b"DBT_TARGET_PATH=" + base in env or orphaned_warm_step or background:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DBT_CONSOLE_HOME", str(home))
    # The dashboard's own preferences (dashboard.toml: the theme) are per test too: a test
    # that picked the light theme made every later dashboard of its worker light (found
    # by running the suite in a random order).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return home


@pytest.fixture
def paths(home: Path) -> Paths:
    return resolve_paths()


@pytest.fixture
def store(paths: Paths):
    with Store(paths.store) as s:
        yield s


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture):
    """dbt-console's main() in this process, as a user would call it."""

    def run(*args: str) -> Result:
        umask = os.umask(0o022)
        os.umask(umask)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own exits
            code = exc.code
        finally:
            os.umask(umask)  # main() sets the process's; this process lives on
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def binary(home: Path, *args: str, timeout: float = 300, **kwargs) -> Result:
    """The installed program in a child process, with DBT_CONSOLE_HOME=home."""
    env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "dbt_console", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@contextmanager
def tmux_dashboard(home: Path, name: str, size: tuple[int, int] = (80, 24),
                   exe: Path | None = None):
    """The installed binary (or `exe`) in a real tmux terminal of `size`, on `home`;
    yields its session's name and a function returning what the screen shows."""
    session = f"dbt-console-{name}-{os.getpid()}"
    exe = exe or Path(sys.executable).parent / "dbt-console"  # the script pip installs
    assert exe.is_file()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(size[0]), "-y",
                    str(size[1]), f"DBT_CONSOLE_HOME={home} {exe}"], check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                              capture_output=True, text=True).stdout

    try:
        yield session, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def stop_engine(home: Path) -> None:
    """Stop the engine of `home` (a dashboard's background engine outlives the test
    otherwise), waiting until it let go of the store."""
    result = binary(home, "engine", "stop")
    assert result.code == 0 or "no engine is running" in result.err, result.err


def made_once(factory: pytest.TempPathFactory, name: str, make) -> str:
    """What `make()` returns (a string: a path), made once for the whole session: the
    first xdist worker to ask makes it, under a lock, in the directory all workers share;
    the others wait and read what it wrote."""
    import fcntl

    shared = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-of-USER/pytest-N: every worker's basetemp's parent
    done = shared / f"{name}.ready"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            done.write_text(make(shared))
    return done.read_text()


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo home where nightly (success) and ride_audit (fails on purpose) have each run
    once, through the real binary. Tests read it; tests that change things use their own
    copy (copy_home). Made once for the whole session (made_once)."""

    def make(shared: Path) -> str:
        home = shared / "demo-home"
        if home.exists():  # a worker died building it
            import shutil

            shutil.rmtree(home)
        home.mkdir()
        assert binary(home, "demo", "--no-tui").code == 0
        nightly = binary(home, "run", "nightly", "--wait")
        assert nightly.code == 0, nightly.out + nightly.err
        audit = binary(home, "run", "ride_audit", "--wait")
        assert audit.code == 1, audit.out + audit.err
        return str(home)

    return Path(made_once(tmp_path_factory, "demo-home", make))


@pytest.fixture(scope="session")
def system_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv of /usr/bin/python3 with this dbt-console (installed from the source tree,
    as a user installs it) and dbt-duckdb, for tests that run the program as other unix
    users: the suite's Python lives under /root, which they cannot enter. Made once for
    the session (made_once); it is held while any worker runs, and the next session
    removes those no one holds."""
    import tempfile

    if not Path("/usr/bin/python3").exists():
        pytest.skip("needs /usr/bin/python3 to run the program as other unix users")

    def make(shared: Path) -> str:
        _remove_unused_venvs()
        root = Path(tempfile.mkdtemp(prefix="dbtc-venv-"))
        root.chmod(0o755)
        _hold(root)
        return str(_system_venv(root / "venv"))

    venv = Path(made_once(tmp_path_factory, "system-venv", make))
    _hold(venv.parent)
    return venv


_held: dict[Path, object] = {}  # root -> its open lock file, held until this process exits


def _hold(root: Path) -> None:
    import fcntl

    if root not in _held:
        _held[root] = handle = open(root / "in-use", "a")
        fcntl.flock(handle, fcntl.LOCK_SH)


def _remove_unused_venvs() -> None:
    import fcntl
    import shutil
    import tempfile

    for root in Path(tempfile.gettempdir()).glob("dbtc-venv-*"):
        try:
            with open(root / "in-use", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a running session holds it (or it is not ours to open)
        shutil.rmtree(root, ignore_errors=True)


def _system_venv(venv: Path) -> Path:
    """The dependencies are this suite's own, reached through a .pth when /usr/bin/python3
    is the same minor version (a full install of dbt takes minutes); else installed."""
    import sysconfig

    quiet = {"preexec_fn": lambda: os.umask(0o022), "check": True, "capture_output": True}
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], **quiet)
    python = venv / "bin" / "python"
    version, purelib = subprocess.run(
        [str(python), "-c", "import sys, sysconfig; print(sys.version_info[:2]); "
         "print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    source = str(Path(__file__).parent.parent)
    if version != str(sys.version_info[:2]):
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"{source}[duckdb]"],
                       **quiet)
        return venv
    (Path(purelib) / "suite-deps.pth").write_text(
        sysconfig.get_path("purelib") + "\n")
    wheels = venv.parent / "wheels"  # built by the suite's Python, which has the setuptools
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(wheels), source], **quiet)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    *map(str, wheels.glob("*.whl"))], **quiet)
    dbt = venv / "bin" / "dbt"  # the script pip would have made with dbt-core
    dbt.write_text(f"#!{python}\nimport sys\nfrom dbt.cli.main import cli\n"
                   "sys.exit(cli())\n")
    dbt.chmod(0o755)
    return venv


def copy_home(home: Path, tmp_path: Path) -> Path:
    """A copy of a dbt-console home (store, runs, demo project) to change freely, as if
    made in its own place: the paths its store holds (jobs' project_dir, runs' snapshots,
    compiled SQL, the project's key) name the copy, so that its runs write the copy's
    DuckDB files, never the shared demo's (another worker's tests read and copy it)."""
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    repoint_store(copy / "dbt-console.db", home, copy)
    return copy


def repoint_store(store: Path, old: Path, new: Path) -> None:
    """Every path under `old` that the store holds now names the same place under `new`
    (a copied home, or a copied directory holding a home and its git remote)."""
    import sqlite3

    conn = sqlite3.connect(store)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                             "'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            if table == "audit":  # append-only by trigger: what was done where, then
                continue
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")
                       if c[2].upper() == "TEXT"]
            for column in columns:
                conn.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?) "
                             f"WHERE instr({column}, ?) > 0", (str(old), str(new), str(old)))
        conn.commit()
    finally:
        conn.close()


def write_jobs(path: Path, text: str) -> Path:
    """A jobs file. A project_dir must be a dbt project on this machine and a dbt_path a
    dbt (import refuses others), so each `project_dir: /srv/NAME` in the text becomes a
    stub project under the test's own directory, and `dbt_path: /opt/dbt/bin/dbt` a
    wrapper there that runs the real dbt."""
    import re

    root = path.parent / "srv"
    for name in set(re.findall(r"project_dir: /srv/([\w-]+)", text)):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "dbt_project.yml").write_text("name: stub\n", encoding="utf-8")
    text = text.replace("project_dir: /srv/", f"project_dir: {root}/")
    if "dbt_path: /opt/dbt/bin/dbt" in text:
        wrapper = root / "opt-dbt" / "dbt"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        wrapper.write_text(f'#!/bin/sh\nexec {Path(sys.executable).parent / "dbt"} "$@"\n')
        wrapper.chmod(0o755)
        text = text.replace("dbt_path: /opt/dbt/bin/dbt", f"dbt_path: {wrapper}")
    path.write_text(text, encoding="utf-8")
    return path


SLOW_PROJECT = {
    "dbt_project.yml": "name: slow\nversion: '1.0.0'\nprofile: slow\nconfig-version: 2\n"
                       "flags: {send_anonymous_usage_stats: false}\n",
    "profiles.yml": "slow:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                    "      path: slow.duckdb\n      threads: 1\n",
    # A query DuckDB needs minutes for, and stops at once when dbt cancels it.
    "models/slow.sql": "{{ config(materialized='table') }}\n"
                       "select count(*) as n from range(1000000000000) a(i) where i % 7 = 3\n",
}


def make_project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


class Serving:
    """`dbt-console serve` as a real child process on a store."""

    def __init__(self, home: Path, settings: str = "", args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None):
        import time

        if settings:
            home.mkdir(parents=True, exist_ok=True)
            (home / "settings.toml").write_text(settings)
        env = {**os.environ, "DBT_CONSOLE_HOME": str(home), **(env or {})}
        self.api_url: str | None = None
        self.metrics_url: str | None = None
        self.proc = subprocess.Popen([sys.executable, "-m", "dbt_console", "serve", *args],
                                     env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("serve exited: " + "".join(self.lines))
            self.lines.append(line)
            if line.startswith("API "):
                self.api_url = line.split(" on ", 1)[1].strip()
            if line.startswith("metrics "):
                self.metrics_url = line.split(" on ", 1)[1].strip()
            if all(given not in args or url for given, url in (
                    ("--api", self.api_url), ("--metrics", self.metrics_url))) and (
                    "engine running" in "".join(self.lines)):
                return
        raise AssertionError("serve did not start: " + "".join(self.lines))

    def stop(self, sig=None, timeout: float = 60) -> str:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
        rest, _ = self.proc.communicate(timeout=timeout)
        return "".join(self.lines) + rest


@pytest.fixture
def serving():
    started: list[Serving] = []

    def start(home: Path, settings: str = "", args: tuple[str, ...] = (),
              env: dict[str, str] | None = None) -> Serving:
        started.append(Serving(home, settings, args, env))
        return started[-1]

    yield start
    for serve in started:
        if serve.proc.poll() is None:
            serve.proc.kill()
            serve.proc.wait()


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def runs_json(home: Path) -> list[dict]:
    import json

    result = binary(home, "runs", "--json", "--limit", "100")
    assert result.code == 0, result.err
    return json.loads(result.out)


def import_jobs(home: Path, folder: Path, text: str) -> None:
    """Write a jobs file in folder and import it into home's store, as a user would."""
    path = write_jobs(folder / "jobs.yml", text)
    result = binary(home, "jobs", "import", str(path))
    assert result.code == 0, result.err


def slow_home(tmp_path: Path, extra_jobs: str = "") -> Path:
    """A home at tmp_path/home with jobs slow (a model DuckDB needs minutes for) and quick."""
    home = tmp_path / "home"
    project = make_project(tmp_path / "slow", SLOW_PROJECT)
    import_jobs(home, tmp_path, f"""
jobs:
  - name: slow
    project_dir: {project}
    commands: ["dbt run"]
  - name: quick
    project_dir: {project}
    commands: ["dbt parse"]
{extra_jobs}""")
    return home


def branch_remote(tmp_path: Path, branch: str, bare: Path | None = None) -> tuple[Path, str]:
    """A bare repository (made when not given) with `branch` pushed to it at a commit of
    its own; returns the repository and the branch's sha."""
    work = tmp_path / f"work-{branch.replace('/', '-')}"
    bare = bare or tmp_path / "remote.git"
    if not bare.exists():
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    run = functools.partial(subprocess.run, check=True, capture_output=True, text=True, cwd=work)
    work.mkdir()
    run(["git", "init", "-q", "-b", branch])
    (work / "README").write_text(branch)
    run(["git", "add", "README"])
    run(["git", "-c", "user.name=Ada", "-c", "user.email=a@example.org", "commit", "-qm", branch])
    run(["git", "push", "-q", str(bare), branch])
    return bare, run(["git", "rev-parse", "HEAD"]).stdout.strip()


@contextmanager
def api_server(token: str):
    """The API app served over real HTTP by uvicorn in a thread of this process, with no
    engine beside it (runs stay where actions leave them); a client holding `token`."""
    import uvicorn

    from dbt_console.api.app import build_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(build_app(resolve_paths(), 1), lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30, what="the API to serve")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v2/accounts/1/"
    try:
        with httpx.Client(base_url=url, timeout=30,
                          headers={"Authorization": f"Token {token}"}) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


# --- the API, as its clients reach it -------------------------------------------------

def token(home: Path, name: str = "airflow", role: str = "runner") -> str:
    made = binary(home, "tokens", "create", name, "--role", role)
    assert made.code == 0, made.err
    return made.out.strip()


def api_client(serve, secret: str, **kwargs) -> httpx.Client:
    return httpx.Client(base_url=serve.api_url, timeout=30, **kwargs,
                        headers={"Authorization": f"Token {secret}"})


@pytest.fixture
def demo_api(demo_runs, tmp_path, serving):
    """The session's demo (run 1 nightly success, run 2 ride_audit error) behind the API."""
    home = copy_home(demo_runs, tmp_path)
    secret = token(home)
    serve = serving(home, args=("--api", "127.0.0.1:0"))
    with api_client(serve, secret) as client:
        yield home, client


def job_id(client: httpx.Client, name: str) -> int:
    jobs = client.get("jobs/", params={"name__icontains": name}).json()["data"]
    return next(j["id"] for j in jobs if j["name"] == name)


def wait_complete(client: httpx.Client, run_id: int, timeout: float = 180) -> dict:
    def done():
        data = client.get(f"runs/{run_id}/").json()["data"]
        return data if data["is_complete"] else None
    return wait_for(done, timeout=timeout, what=f"run {run_id} to complete")


# --- a receiver of hooks ----------------------------------------------------------

class Receiver:
    """An HTTP server that records requests and answers with scripted status codes."""

    def __init__(self, port: int = 0, statuses: list[int] | None = None):
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"nope")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = []

    def start(port: int = 0, statuses=None) -> Receiver:
        started.append(Receiver(port, statuses))
        return started[-1]

    yield start
    for r in started:
        r.close()


@pytest.fixture
def smtp_server():
    """Start real SMTP servers on 127.0.0.1 (tests/smtpserver.py); stopped afterwards."""
    from smtpserver import SmtpServer

    started = []

    def start(**options) -> SmtpServer:
        started.append(SmtpServer(**options).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


# --- a real PostgreSQL server -----------------------------------------------------------

@pytest.fixture(scope="session")
def pg_cluster():
    """PostgreSQL 15 for the session, one cluster per worker (tests/pgserver.py); skipped
    where it cannot run."""
    import pgserver

    why = pgserver.available()
    if why:
        pytest.skip(why)
    server = pgserver.make()
    yield server
    server.remove()


@pytest.fixture
def postgres(pg_cluster):
    """The cluster, with a database of this test's own made from the template (empty,
    owned by the tests' role): nothing one test builds is seen by the next."""
    own = pg_cluster.new_database()
    yield own
    own.drop()


async def workers_done(app) -> None:
    """Wait for the app's workers, but for run screens' watchers and their log views'
    page readers: they live until their screen goes. (Textual's wait_for_complete waits
    for all of them when given none.)"""
    others = [w for w in app.workers if w.group not in ("watch", "log-pages")]
    if others:
        await app.workers.wait_for_complete(others)
