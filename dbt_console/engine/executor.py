"""One run, start to end: claim it, prepare the workspace, run each step as its own dbt
process, pump the log into the store, collect node results, decide the status.

`execute` blocks on the caller's thread; `cancel` may be called from any other thread.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console import rundir
from dbt_console.config import Paths
from dbt_console.engine import artifacts, ci_run
from dbt_console.engine.events import RunEvents
from dbt_console.engine.launcher import Launcher, Process, SubprocessLauncher
from dbt_console.engine.logpump import RunLog, pump
from dbt_console.engine.workspace import WorkspaceError, prepare
from dbt_console.jobrules import command_argv
from dbt_console.model import ENV_REF_RE, Job, Run, RunStatus
from dbt_console.store import Store

# Cancel escalation: SIGINT lets dbt cancel its queries and write run_results.json (it
# exits within a second); SIGTERM kills it with no artifacts; SIGKILL if even that fails.
# SIGINT is repeated first: one that lands while a node is between starting and sending
# its query cancels nothing, and the query then runs to its end.
CANCEL_SIGNALS = ((0.0, signal.SIGINT), (2.0, signal.SIGINT), (5.0, signal.SIGINT),
                  (10.0, signal.SIGTERM), (15.0, signal.SIGKILL))
# How often a run looks in the store for a cancel asked by another process.
CANCEL_POLL_SECONDS = 0.5
# A job's timeout_minutes are minutes of this many seconds (tests shorten it).
SECONDS_PER_MINUTE = 60.0
DEPS_MARKER = ".dbt-console-deps"
DOCS_COMMAND = "dbt docs generate"


class SetupError(Exception):
    """A step could not be started; the message is the run's failure reason."""


@dataclass
class _Flight:
    """What the executor knows about one run in flight."""

    run_id: int
    deadline: float | None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    process: Process | None = None
    stop_started: float | None = None
    signals_sent: int = 0
    timed_out: bool = False

    def tick(self) -> None:
        now = time.monotonic()
        if self.stop_started is None:
            if self.deadline is not None and now >= self.deadline:
                self.timed_out = True
            elif not self.cancel_requested.is_set():
                return
            self.stop_started = now
        proc = self.process
        if proc is None:
            return
        elapsed = now - self.stop_started
        for i, (after, sig) in enumerate(CANCEL_SIGNALS):
            if self.signals_sent == i and elapsed >= after:
                proc.signal_group(sig)
                self.signals_sent += 1

    @property
    def stopping(self) -> bool:
        return self.stop_started is not None


class Executor:
    def __init__(self, paths: Paths, launcher: Launcher | None = None,
                 events: RunEvents | None = None):
        self.paths = paths
        self.launcher = launcher or SubprocessLauncher()
        self.cold = SubprocessLauncher()  # for jobs with warm: false
        self.events = events or RunEvents()
        self._flights: dict[int, _Flight] = {}
        self._lock = threading.Lock()

    def cancel(self, run_id: int) -> bool:
        """Ask a run in flight here to stop. False when it is not running here."""
        with self._lock:
            flight = self._flights.get(run_id)
        if flight is None:
            return False
        flight.cancel_requested.set()
        flight.tick()
        return True

    def execute(self, run_id: int) -> Run:
        """Run a queued run to its end and return it. A run someone else already claimed
        is left alone and returned as it is."""
        with Store(self.paths.store) as store:
            if not store.claim_run(run_id):
                return store.get_run(run_id)
            job = store.run_job(run_id)
            deadline = (time.monotonic() + job.timeout_minutes * SECONDS_PER_MINUTE
                        if job.timeout_minutes else None)
            flight = _Flight(run_id, deadline)
            with self._lock:
                self._flights[run_id] = flight
            try:
                self._emit(store, run_id)
                status, reason = self._run(store, job, flight)
            except BaseException as exc:
                # Whatever went wrong, the run must not stay 'running' with no one on it.
                store.finish_run(run_id, RunStatus.ERROR, f"dbt-console failed: {exc!r}")
                raise
            finally:
                with self._lock:
                    self._flights.pop(run_id, None)
            store.finish_run(run_id, status, reason)
            store.compact_log(run_id)
            run = self._emit(store, run_id)
            if job.ci is not None:
                ci_run.finished(store, job, run)
            for downstream in store.enqueue_downstream(run):
                self.events.emit(downstream)
            return run

    def _emit(self, store: Store, run_id: int) -> Run:
        from dbt_console.engine.notify.notifier import queue_for

        run = store.get_run(run_id)
        if run.status is RunStatus.RUNNING or run.status.finished:
            queue_for(store, run)  # rows only: sending never holds up the run
        self.events.emit(run)
        return run

    def _run(self, store: Store, job: Job, flight: _Flight) -> tuple[RunStatus, str | None]:
        run_id = flight.run_id
        run_dir = self.paths.run_dir(run_id)
        rundir.target(run_dir).mkdir(parents=True, exist_ok=True)
        rundir.logs(run_dir).mkdir(parents=True, exist_ok=True)
        store.update_run(run_id, run_dir=str(run_dir))
        log = RunLog(store, run_id)

        def fail(reason: str) -> tuple[RunStatus, str]:
            log.system(0, reason, "error")
            return RunStatus.ERROR, reason

        asked = store.get_run(run_id)  # a CI run or an API call may name a branch and sha
        try:
            ws = prepare(job, self.paths.workspaces, lambda msg: log.system(0, msg),
                         asked.git_branch, asked.git_sha)
        except WorkspaceError as exc:
            return fail(str(exc))
        store.update_run(run_id, git_sha=ws.git_sha, git_branch=ws.git_branch)
        if artifacts.seed_partial_parse(store.last_run_dir(job.name, run_id), run_dir):
            log.system(0, "reusing the previous run's parse (partial parsing)")
        try:
            dbt = find_dbt(job)
            env = step_env(job, run_id, run_dir, ws.project_dir)
            env.update(cloud_env(job, asked, ws.git_sha, store.run_cause(run_id)))
            commands, docs = list(job.commands), job.generate_docs
            if job.ci is not None:
                ci_plan = ci_run.plan(store, job, asked, ws.project_dir, run_dir,
                                      lambda msg, level: log.system(0, msg, level))
                commands, docs = ci_plan.commands, docs and ci_plan.docs
                env.update(ci_plan.env)
        except (SetupError, ci_run.CiSetupError) as exc:
            return fail(str(exc))

        last_poll = [0.0]

        def tick() -> None:
            now = time.monotonic()
            if now - last_poll[0] >= CANCEL_POLL_SECONDS:
                last_poll[0] = now
                if store.cancel_requested(run_id):
                    flight.cancel_requested.set()
            flight.tick()

        deps_marker = deps_needed(ws.project_dir)
        if deps_marker is not None:
            commands.insert(0, "dbt deps")
        docs_step = None
        if docs:
            commands.append(DOCS_COMMAND)
            docs_step = len(commands)
        nodes_failed = False
        for idx, command in enumerate(commands, start=1):
            if nodes_failed and idx != docs_step:
                continue
            if store.cancel_requested(run_id):
                flight.cancel_requested.set()
            if flight.cancel_requested.is_set():
                log.system(idx, "cancelled before this step started", "warn")
                return RunStatus.CANCELLED, None
            argv = [dbt, *command_argv(command)[1:]]
            store.start_step(run_id, idx, command)
            log.progress.start_step(idx)
            log.system(idx, f"$ {command}")
            started = time.time()
            launcher = self.launcher if job.warm else self.cold
            try:
                flight.process = launcher.start(argv, ws.project_dir, env)
            except OSError as exc:
                store.finish_step(run_id, idx, RunStatus.ERROR, None)
                return fail(f"could not start {dbt}: {exc.strerror or exc}")
            if flight.process.note:
                log.system(idx, flight.process.note)
            store.set_step_pid(run_id, idx, flight.process.pid)
            if idx == 1:
                self._emit(store, run_id)  # starting -> running
            code = pump(flight.process, log, idx, tick)
            lost, flight.process = flight.process.lost, None
            # The docs step compiles every node; those are not results of this run.
            results = [] if idx == docs_step else artifacts.collect_step(run_dir, idx, started)
            ok = code == 0 and not flight.stopping
            step_status = (RunStatus.SUCCESS if ok else RunStatus.CANCELLED
                           if flight.cancel_requested.is_set() else RunStatus.ERROR)
            store.finish_step(run_id, idx, step_status, code, results)
            log.system(idx, f"{command} exited with code {code}",
                       "info" if code == 0 else "error")
            if lost:
                return fail(lost)
            if flight.timed_out:
                return fail(f"timed out after {job.timeout_minutes} min")
            if flight.cancel_requested.is_set():
                log.system(idx, "run cancelled", "warn")
                return RunStatus.CANCELLED, None
            if idx == docs_step:
                if code == 0 and artifacts.keep_docs(run_dir):
                    log.system(idx, "docs kept with the run: dbt-console docs "
                                    f"{job.name} --run {run_id} serves them")
                elif not nodes_failed:
                    return fail(f"dbt docs generate failed (exit code {code}): the commands "
                                "succeeded but the docs could not be generated")
                break
            if code != 0:
                if code == 1 and docs_step is not None:
                    # As dbt Cloud does: docs still describe a project whose nodes failed.
                    nodes_failed = True
                    continue
                if command == "dbt deps":
                    return fail(
                        f"dbt deps failed (exit code {code}): the packages this project "
                        "declares are not installed and could not be fetched (dbt deps needs "
                        "network access to the package hub or the packages' git hosts)")
                if code == 1:
                    return RunStatus.ERROR, None  # nodes failed: node results say which
                return fail(f"dbt could not run '{command}' (exit code {code}): "
                            "dbt's own error is in the log above")
            if command == "dbt deps":
                deps_marker.write_text(deps_fingerprint(ws.project_dir))
        # Nodes failed: node results say which.
        return (RunStatus.ERROR, None) if nodes_failed else (RunStatus.SUCCESS, None)


def find_dbt(job: Job) -> str:
    """The dbt executable for a job: its dbt_path, else the dbt installed beside this
    Python (the [duckdb] extra puts it there), else the first dbt on PATH."""
    if job.dbt_path:
        path = Path(job.dbt_path).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SetupError(f"dbt not found at {path} (the job's dbt_path)")
        return str(path)
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise SetupError("dbt not found: not installed beside this Python nor on PATH; "
                         "install dbt-core and an adapter, or set the job's dbt_path")
    return found


def step_env(job: Job, run_id: int, run_dir: Path, project_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in job.env.items():
        ref = ENV_REF_RE.match(value)
        if ref:
            if ref[1] not in os.environ:
                raise SetupError(f"env.{key}: ${{{ref[1]}}} is not set in the environment "
                                 "of the process running the job")
            value = os.environ[ref[1]]
        env[key] = value
    env.update({
        "DBT_TARGET_PATH": str(rundir.target(run_dir)),
        "DBT_LOG_PATH": str(rundir.logs(run_dir)),
        "DBT_LOG_FORMAT": "json",
        # With JSON on stdout dbt writes its debug file log as JSON too, which costs ~0.1 s
        # per start; the text format is what people read in logs/dbt.log anyway.
        "DBT_LOG_FORMAT_FILE": "debug",
        "DBT_USE_COLORS": "false",
        # Python block-buffers a pipe; unbuffered, each log line arrives as dbt writes it.
        "PYTHONUNBUFFERED": "1",
        "DBT_CONSOLE_RUN_ID": str(run_id),
        "DBT_CONSOLE_JOB": job.name,
    })
    if job.profiles_dir:
        env["DBT_PROFILES_DIR"] = str(Path(job.profiles_dir).expanduser())
    elif (project_dir / "profiles.yml").is_file():
        env["DBT_PROFILES_DIR"] = str(project_dir)
    if job.target:
        env["DBT_TARGET"] = job.target
    return env


def cloud_env(job: Job, run: Run, sha: str | None, cause: str | None) -> dict[str, str]:
    """The variables dbt Cloud sets for every run, so macros written for it keep working."""
    return {
        "DBT_CLOUD_JOB_ID": str(job.id or ""),
        "DBT_CLOUD_RUN_ID": str(run.id),
        "DBT_CLOUD_RUN_REASON_CATEGORY": run.trigger.reason_category,
        "DBT_CLOUD_RUN_REASON": cause or run.trigger.words(run.actor),
        "DBT_CLOUD_GIT_SHA": sha or "",
    }


PACKAGE_FILES = ("packages.yml", "dependencies.yml", "package-lock.yml")


def deps_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        path = project_dir / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def deps_needed(project_dir: Path) -> Path | None:
    """The marker file to write after `dbt deps` when the project declares packages that
    are not installed as declared; None when deps can be skipped. Skipping saves a dbt
    start per run and lets a server with no network run a project whose packages are in."""
    package_files = [project_dir / n for n in ("packages.yml", "dependencies.yml")]
    if not any(p.is_file() for p in package_files):
        return None
    import yaml

    declared = False
    for name in ("packages.yml", "dependencies.yml"):
        try:
            data = yaml.safe_load((project_dir / name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        declared = declared or bool(isinstance(data, dict) and data.get("packages"))
    if not declared:
        return None
    install_dir = "dbt_packages"
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
        install_dir = project.get("packages-install-path") or install_dir
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    marker = project_dir / install_dir / DEPS_MARKER
    if marker.is_file() and marker.read_text() == deps_fingerprint(project_dir):
        return None
    marker.parent.mkdir(parents=True, exist_ok=True)
    return marker
