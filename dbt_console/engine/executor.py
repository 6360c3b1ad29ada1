"""One run, start to end: claim it, prepare the workspace, run each step as its own dbt
process, pump the log into the store, collect node results, decide the status.

`execute` blocks on the caller's thread; `cancel` may be called from any other thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console import rundir
from dbt_console.config import Paths
from dbt_console.engine import artifacts, ci_run, compare_step, killpoints, outbox, setup
from dbt_console.engine.dbtlog import first_error
from dbt_console.engine.events import RunEvents
from dbt_console.engine.launcher import Launcher, Process, SubprocessLauncher
from dbt_console.engine.logpump import RunLog, pump
from dbt_console.engine.stepenv import deps_fingerprint, deps_needed
from dbt_console.engine.stopping import CANCEL_EVENT, Escalation
from dbt_console.jobrules import command_argv
from dbt_console.model import (
    CLONE_STEP,
    DEPS_STEP,
    DOCS_COMMAND,
    FIRST_COMMAND_STEP,
    PROFILE_STEP,
    Job,
    Run,
    RunStatus,
)
from dbt_console.store import Store

# How often a run looks in the store for a cancel asked by another process.
CANCEL_POLL_SECONDS = 0.5
# A job's timeout_minutes are minutes of this many seconds (tests shorten it).
SECONDS_PER_MINUTE = 60.0


@dataclass
class _Flight:
    """What the executor knows about one run in flight."""

    run_id: int
    deadline: float | None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    process: Process | None = None
    kept: Process | None = None  # the last command's process, kept for compare changes
    step: int = 0  # the step whose process runs
    results: Path | None = None  # dbt's run_results.json, which it writes as it stops
    stopping_dbt: Escalation | None = None
    signals: list[tuple[str, float]] = field(default_factory=list)  # sent: name, when
    _ticking: threading.Lock = field(default_factory=threading.Lock)
    timed_out: bool = False
    why: str | None = None  # a cancel's reason, when not a user's
    by: str | None = None  # who asked for the cancel, when a user did

    def stopped_words(self) -> str:
        """Why the run is stopping, for the line dbt's interrupted traceback folds into."""
        if self.timed_out:
            return "run timed out"
        if self.why:
            return f"run cancelled: {self.why}"
        return f"run cancelled by {self.by}" if self.by else "run cancelled"

    def tick(self) -> None:
        """Stop dbt when the run should stop (any thread may call it)."""
        with self._ticking:
            self._tick(time.monotonic())

    def _tick(self, now: float) -> None:
        if self.stopping_dbt is None:
            if self.deadline is not None and now >= self.deadline:
                self.timed_out = True
            elif not self.cancel_requested.is_set():
                return
            self.stopping_dbt = Escalation(self.results, now)
        proc = self.process
        sig = self.stopping_dbt.due(now) if proc is not None else None
        if sig is not None:
            proc.signal_group(sig)
            self.signals.append((sig.name, now - self.stopping_dbt.began))

    def dbt_cancelled(self) -> None:
        """dbt reported a query it cancelled: its cancel is done."""
        if self.stopping_dbt is not None:
            self.stopping_dbt.cancel_reported = True

    @property
    def stop_started(self) -> float | None:
        return self.stopping_dbt.began if self.stopping_dbt else None

    @property
    def stopping(self) -> bool:
        return self.stopping_dbt is not None


class _Stop(Exception):
    """The run ends here, with this status (and, for an error, why)."""

    def __init__(self, status: RunStatus, reason: str | None = None):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class _Plan:
    project_dir: Path
    run_dir: Path
    dbt: str
    env: dict[str, str]
    commands: list[str]
    docs_step: int | None
    compare_with: int | None = None  # CI: the production run whose relations it compares

    @property
    def compare_step(self) -> int:
        return FIRST_COMMAND_STEP + len(self.commands)


class Executor:
    def __init__(self, paths: Paths, launcher: Launcher | None = None,
                 events: RunEvents | None = None, pass_env: tuple[str, ...] = (),
                 cold: Launcher | None = None):
        self.paths = paths
        self.pass_env = pass_env  # settings.toml's: more of our environment for dbt
        self.stopping = threading.Event()  # the engine stops: no run waits for disk space
        self.cold = cold or SubprocessLauncher()  # for jobs with warm: false
        self.launcher = launcher or self.cold
        self.events = events or RunEvents()
        self._flights: dict[int, _Flight] = {}
        self._lock = threading.Lock()

    def cancel(self, run_id: int, why: str | None = None) -> bool:
        """Ask a run in flight here to stop (`why` is said in its log and kept as its
        reason). False when it is not running here."""
        with self._lock:
            flight = self._flights.get(run_id)
        if flight is None:
            return False
        flight.why = why
        flight.cancel_requested.set()
        flight.tick()
        return True

    def execute(self, run_id: int) -> Run:
        """Run a queued run to its end and return it. A run someone else already claimed
        is left alone and returned as it is."""
        with Store(self.paths.store, must_exist=True) as store:
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
                # Whatever went wrong, the run must not stay 'running' with no one on it
                # (on a full disk this may fail too: the next engine's recovery ends it).
                outbox.end_failed(store, run_id, exc, self.paths.data_dir, self.stopping)
                raise
            finally:
                with self._lock:
                    self._flights.pop(run_id, None)
                if flight.kept is not None:
                    flight.kept.release()
            run, chained = outbox.end_run(store, run_id, status, reason)
            killpoints.reach(killpoints.RUN_ENDED)
            self.events.emit(run)
            store.compact_log(run_id)
            if job.ci is not None:
                ci_run.finished(store, job, run)
            for downstream in chained:
                self.events.emit(downstream)
            return run

    def _emit(self, store: Store, run_id: int) -> Run:
        """A run that started: its `started` deliveries (rows only: sending never holds
        up the run), and its watchers told."""
        from dbt_console.engine.notify.notifier import queue_for

        run = store.get_run(run_id)
        if run.status is RunStatus.RUNNING:
            queue_for(store, run)
        self.events.emit(run)
        return run

    def _run(self, store: Store, job: Job, flight: _Flight) -> tuple[RunStatus, str | None]:
        run_dir = self.paths.run_dir(flight.run_id)
        flight.results = rundir.run_results(run_dir)
        rundir.target(run_dir).mkdir(parents=True, exist_ok=True)
        rundir.logs(run_dir).mkdir(parents=True, exist_ok=True)
        store.update_run(flight.run_id, run_dir=str(run_dir))
        log = RunLog(store, flight.run_id)
        try:
            plan = self._plan(store, job, flight.run_id, run_dir, log)
            return self._steps(store, job, flight, plan, log)
        except setup.SetupFailed as failed:
            log.system(failed.step, failed.reason, "error")
            return RunStatus.ERROR, failed.reason
        except _Stop as stop:
            if stop.reason is not None:
                log.system(0, stop.reason, "error" if stop.status is RunStatus.ERROR else "warn")
            return stop.status, stop.reason

    def _plan(self, store: Store, job: Job, run_id: int, run_dir: Path, log: RunLog) -> _Plan:
        """Set-up steps 1 and 2: the workspace, then the dbt, environment and commands."""
        run = store.get_run(run_id)  # a CI run or an API call may name a branch and sha
        with setup.step(store, run_id, CLONE_STEP, setup.project_step_name(job)):
            self._emit(store, run_id)  # starting -> running
            ws = setup.project(store, self.paths.workspaces, job, run, run_dir, log)
        with setup.step(store, run_id, PROFILE_STEP, setup.PROFILE_STEP_NAME):
            setting = setup.profile(store, job, run, ws, run_dir, log, self.pass_env)
        commands = setting.commands + ([DOCS_COMMAND] if setting.docs else [])
        docs_step = FIRST_COMMAND_STEP + len(commands) - 1 if setting.docs else None
        return _Plan(ws.project_dir, run_dir, setting.dbt, setting.env, commands, docs_step,
                     setting.compare_with)

    def _deps(self, store: Store, job: Job, flight: _Flight, plan: _Plan, log: RunLog,
              tick: Callable[[], None]) -> None:
        """Set-up step 3: `dbt deps` when the packages declared are not installed."""
        marker = deps_needed(plan.project_dir)
        if marker is None:
            with setup.step(store, flight.run_id, DEPS_STEP, "dbt deps"):
                log.system(DEPS_STEP, "no packages to install: none declared, or installed "
                                      "as declared by an earlier run")
            return
        code = self._step(store, job, flight, plan, log, DEPS_STEP, "dbt deps", tick)
        if code != 0:
            self._judge_failure(store, flight.run_id, DEPS_STEP, "dbt deps", code)
        marker.write_text(deps_fingerprint(plan.project_dir))

    def _ticker(self, store: Store, flight: _Flight, log: RunLog) -> Callable[[], None]:
        last_poll, said = [0.0], [0]

        def tick() -> None:
            now = time.monotonic()
            if now - last_poll[0] >= CANCEL_POLL_SECONDS:
                last_poll[0] = now
                if store.cancel_requested(flight.run_id):
                    flight.by = flight.by or store.cancel_requester(flight.run_id)
                    flight.cancel_requested.set()
            flight.tick()
            while said[0] < len(flight.signals):
                # What was done to stop dbt, and when: the log says why a query outlived
                # its run, or why dbt had no time to clean up.
                name, after = flight.signals[said[0]]
                said[0] += 1
                log.system(flight.step, f"sent {name} to dbt {after:.1f} s after the stop "
                                        "began", "warn")
        return tick

    def _steps(self, store: Store, job: Job, flight: _Flight, plan: _Plan,
               log: RunLog) -> tuple[RunStatus, str | None]:
        tick = self._ticker(store, flight, log)
        self._deps(store, job, flight, plan, log, tick)
        nodes_failed, failure = False, None
        for idx, command in enumerate(plan.commands, start=FIRST_COMMAND_STEP):
            if nodes_failed and idx != plan.docs_step:
                continue
            if store.cancel_requested(flight.run_id):
                flight.by = flight.by or store.cancel_requester(flight.run_id)
                flight.cancel_requested.set()
            if flight.cancel_requested.is_set():
                log.system(idx, f"{flight.stopped_words()} before this step started", "warn")
                return RunStatus.CANCELLED, None
            # Compare changes then runs in the last command's dbt process, which has the
            # project loaded already (a warm start that can keep its process).
            keep = plan.compare_with is not None and idx == plan.compare_step - 1
            code = self._step(store, job, flight, plan, log, idx, command, tick, keep)
            if idx == plan.docs_step:
                self._judge_docs(job, flight.run_id, plan, log, idx, code, nodes_failed)
                break
            if code != 0:
                if code == 1 and plan.docs_step is not None:
                    # As dbt Cloud does: docs still describe a project whose nodes failed.
                    nodes_failed = True
                    continue
                failure = self._judge_failure(store, flight.run_id, idx, command, code)
                break
        if plan.compare_with is not None:
            self._compare(store, job, flight, plan, log, tick)
        # Nodes failed: node results say which.
        return failure or ((RunStatus.ERROR, None) if nodes_failed else (RunStatus.SUCCESS, None))

    def _compare(self, store: Store, job: Job, flight: _Flight, plan: _Plan, log: RunLog,
                 tick: Callable[[], None]) -> None:
        """CI's compare changes: whatever goes wrong is a line in the log, never the run's
        outcome (a cancel or a timeout still ends the run)."""
        idx = plan.compare_step
        todo = compare_step.todo(plan.run_dir, store.node_results(flight.run_id),
                                 store.node_results(plan.compare_with))
        if todo is None:
            log.system(idx - 1, "compare changes: no model the branch modified was built")
            store.save_compare(flight.run_id, plan.compare_with, [])
            return
        since = store.log_line_count(flight.run_id)
        try:
            code = self._step(store, job, flight, plan, log, idx, todo.command, tick)
        except _Stop as stop:
            if flight.cancel_requested.is_set() or flight.timed_out:
                raise  # asked to stop: the run ends here, as at any step
            log.system(idx, f"compare changes could not run: {stop.reason}", "warn")
            code = -1
        diffs = compare_step.found(store, flight.run_id, idx, todo, since)
        measured = sum(d.note != compare_step.NOT_MEASURED for d in diffs)
        if code != 0 or measured < len(diffs):
            log.system(idx, f"compare changes measured {measured} of {len(diffs)} modified "
                            "models (the step's error is above); the run's outcome does not "
                            "depend on it", "warn")
        else:
            log.system(idx, f"compare changes: {sum(d.differs for d in diffs)} of "
                            f"{len(diffs)} modified models differ from production "
                            f"(dbt-console compare {flight.run_id})")
        store.save_compare(flight.run_id, plan.compare_with, diffs)

    def _step(self, store: Store, job: Job, flight: _Flight, plan: _Plan, log: RunLog,
              idx: int, command: str, tick: Callable[[], None], keep: bool = False) -> int:
        """Run one step to its end; its exit code, or _Stop when the run ends here. A
        kept process (flight.kept) runs it if it can; with `keep`, this step's may be kept."""
        run_id = flight.run_id
        flight.step = idx
        store.start_step(run_id, idx, command)
        log.progress.start_step(idx)
        log.system(idx, f"$ {command}")
        started = time.time()
        launcher = self.launcher if job.warm else self.cold
        argv, after, flight.kept = [plan.dbt, *command_argv(command)[1:]], flight.kept, None
        try:
            flight.process = ((after and after.follow(argv, plan.project_dir, plan.env))
                              or launcher.start(argv, plan.project_dir, plan.env, keep))
        except OSError as exc:
            store.finish_step(run_id, idx, RunStatus.ERROR, None)
            raise _Stop(RunStatus.ERROR,
                        f"could not start {plan.dbt}: {exc.strerror or exc}") from None
        finally:
            if after is not None:
                after.release()  # a no-op once it took this step
        if flight.process.note:
            log.system(idx, flight.process.note)
        store.set_step_pid(run_id, idx, flight.process.pid)
        code = pump(flight.process, log, idx, tick, flight.stopped_words,
                    {CANCEL_EVENT: flight.dbt_cancelled})
        if flight.process.kept:
            flight.kept = flight.process
        lost, flight.process = flight.process.lost, None
        # The docs step compiles every node; those are not results of this run.
        results = ([] if idx in (plan.docs_step, plan.compare_step)
                   else artifacts.collect_step(plan.run_dir, idx, started))
        ok = code == 0 and not flight.stopping
        step_status = (RunStatus.SUCCESS if ok else RunStatus.CANCELLED
                       if flight.cancel_requested.is_set() else RunStatus.ERROR)
        store.finish_step(run_id, idx, step_status, code, results)
        log.system(idx, f"{command} exited with code {code}", "info" if code == 0 else
                   "warn" if flight.stop_started is not None else "error")
        if lost:
            raise _Stop(RunStatus.ERROR, lost)
        if flight.timed_out:
            raise _Stop(RunStatus.ERROR, f"timed out after {job.timeout_minutes} min")
        if flight.cancel_requested.is_set():
            if flight.why is None and flight.by is None:
                log.system(idx, "run cancelled", "warn")  # no error line will say it
            raise _Stop(RunStatus.CANCELLED, f"cancelled: {flight.why}" if flight.why else
                        f"cancelled by {flight.by}" if flight.by else None)
        return code

    @staticmethod
    def _judge_docs(job: Job, run_id: int, plan: _Plan, log: RunLog, idx: int, code: int,
                    nodes_failed: bool) -> None:
        if code == 0 and artifacts.keep_docs(plan.run_dir):
            log.system(idx, "docs kept with the run: dbt-console docs "
                            f"{job.name} --run {run_id} serves them")
        elif not nodes_failed:
            raise _Stop(RunStatus.ERROR, f"dbt docs generate failed (exit code {code}): the "
                                         "commands succeeded but the docs could not be generated")

    @staticmethod
    def _judge_failure(store: Store, run_id: int, idx: int, command: str,
                       code: int) -> tuple[RunStatus, str | None]:
        if code == 1 and command != "dbt deps":
            return RunStatus.ERROR, None  # nodes failed: node results say which
        # dbt's own words (a refused connection, a missing profile) are the reason; they
        # are among the step's last lines.
        tail = store.read_log(run_id, start=max(0, store.log_line_count(run_id) - 500))
        said = first_error(tail, idx)
        if command == "dbt deps":
            raise _Stop(RunStatus.ERROR,
                        f"dbt deps failed (exit code {code}): " + (said or (
                            "the packages this project declares are not installed and could "
                            "not be fetched (dbt deps needs network access to the package hub "
                            "or the packages' git hosts)")))
        raise _Stop(RunStatus.ERROR, f"dbt could not run '{command}' (exit code {code}): "
                                     + (said or "dbt's own error is in the log above"))
