"""One run, start to end: claim it, prepare the workspace, then a short loop: ask the
run's plan (runplan.py) what comes next, have the step runner run it, repeat until the
plan says how the run ends; then record the end.

`execute` blocks on the caller's thread; `cancel` may be called from any other thread.
"""

from __future__ import annotations

import threading
import time

from dbt_console import rundir
from dbt_console.config import Paths
from dbt_console.engine import ci_run, compare_step, killpoints, outbox, setup, steprunner
from dbt_console.engine.events import RunEvents
from dbt_console.engine.logpump import RunLog
from dbt_console.engine.stepenv import deps_fingerprint, deps_needed
from dbt_console.engine.steprunner import Launchers, StepRunner, Where
from dbt_console.engine.stopping import Stopper
from dbt_console.model import CLONE_STEP, DEPS_STEP, PROFILE_STEP, Job, Run, RunStatus
from dbt_console.runplan import End, Kind, Outcome, Plan, Step, next_step
from dbt_console.store import LogsStore, RunsStore
from dbt_console.store.repos import Repos, joined, opened

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = joined((RunsStore, LogsStore), outbox.USES, setup.USES, steprunner.USES,
              compare_step.USES, ci_run.USES)


# A job's timeout_minutes are minutes of this many seconds (tests shorten it).
SECONDS_PER_MINUTE = 60.0


class Executor:
    def __init__(self, paths: Paths, launchers: Launchers | None = None,
                 events: RunEvents | None = None, pass_env: tuple[str, ...] = ()):
        self.paths = paths
        self.pass_env = pass_env  # settings.toml's: more of our environment for dbt
        self.stopping = threading.Event()  # the engine stops: no run waits for disk space
        self.launchers = launchers or Launchers()
        self.events = events or RunEvents()
        self._stoppers: dict[int, Stopper] = {}  # runs in flight here; _lock guards it
        self._lock = threading.Lock()

    def cancel(self, run_id: int, why: str | None = None) -> bool:
        """Ask a run in flight here to stop (`why` is said in its log and kept as its
        reason). False when it is not running here."""
        stopper = self.stopper(run_id)
        if stopper is None:
            return False
        stopper.ask(why=why)
        return True

    def stopper(self, run_id: int) -> Stopper | None:
        """What stops a run in flight here (a cancel, its deadline), or None."""
        with self._lock:
            return self._stoppers.get(run_id)

    def execute(self, run_id: int) -> Run:
        """Run a queued run to its end and return it. A run someone else already claimed
        is left alone and returned as it is."""
        with opened(self.paths.store, USES) as store:
            if not store.claim_run(run_id):
                return store.get_run(run_id)
            job = store.run_job(run_id)
            stopper = self._stopper(store, job, run_id)
            with self._lock:
                self._stoppers[run_id] = stopper
            try:
                self._emit(store, run_id)
                end = self._run(store, job, run_id, stopper)
            except BaseException as exc:
                # Whatever went wrong, the run must not stay 'running' with no one on it
                # (on a full disk this may fail too: the next engine's recovery ends it).
                outbox.end_failed(store, run_id, exc, self.paths.data_dir, self.stopping)
                raise
            finally:
                with self._lock:
                    self._stoppers.pop(run_id, None)
            run, chained = outbox.end_run(store, run_id, end.status, end.reason)
            killpoints.reach(killpoints.RUN_ENDED)
            self.events.emit(run)
            store.compact_log(run_id)
            if job.ci is not None:
                ci_run.finished(store, job, run)
            for downstream in chained:
                self.events.emit(downstream)
            return run

    def _stopper(self, store: Repos, job: Job, run_id: int) -> Stopper:
        deadline = (time.monotonic() + job.timeout_minutes * SECONDS_PER_MINUTE
                    if job.timeout_minutes else None)

        def asked_elsewhere() -> str | None:
            if not store.cancel_requested(run_id):
                return None
            return store.cancel_requester(run_id) or ""

        return Stopper(deadline, job.timeout_minutes,
                       rundir.run_results(self.paths.run_dir(run_id)), asked_elsewhere)

    def _emit(self, store: Repos, run_id: int) -> Run:
        """A run that started: its `started` deliveries (rows only: sending never holds
        up the run), and its watchers told."""
        from dbt_console.engine.notify.notifier import queue_for

        run = store.get_run(run_id)
        if run.status is RunStatus.RUNNING:
            queue_for(store, run)
        self.events.emit(run)
        return run

    def _run(self, store: Repos, job: Job, run_id: int, stopper: Stopper) -> End:
        run_dir = self.paths.run_dir(run_id)
        rundir.target(run_dir).mkdir(parents=True, exist_ok=True)
        rundir.logs(run_dir).mkdir(parents=True, exist_ok=True)
        store.update_run(run_id, run_dir=str(run_dir))
        log = RunLog(store, run_id)
        try:
            plan, where, compare_with = self._set_up(store, job, run_id, run_dir, log)
        except setup.SetupFailed as failed:
            log.system(failed.step, failed.reason, "error")
            return End(RunStatus.ERROR, failed.reason)
        runner = StepRunner(store, log, stopper, self.launchers.for_job(job), where)
        try:
            end = self._steps(store, job, plan, runner, compare_with)
        finally:
            runner.close()
        if end.reason is not None:
            log.system(0, end.reason, "error" if end.status is RunStatus.ERROR else "warn")
        return end

    def _set_up(self, store: Repos, job: Job, run_id: int, run_dir, log: RunLog
                ) -> tuple[Plan, Where, int | None]:
        """Set-up steps 1 and 2: the workspace, then the dbt, environment and commands;
        and whether step 3's `dbt deps` is needed."""
        run = store.get_run(run_id)  # a CI run or an API call may name a branch and sha
        with setup.step(store, run_id, CLONE_STEP, setup.project_step_name(job)):
            self._emit(store, run_id)  # starting -> running
            ws = setup.project(store, self.paths.workspaces, job, run, run_dir, log)
        with setup.step(store, run_id, PROFILE_STEP, setup.PROFILE_STEP_NAME):
            setting = setup.profile(store, job, run, ws, run_dir, log, self.pass_env)
        deps = deps_needed(ws.project_dir) is not None
        if not deps:
            with setup.step(store, run_id, DEPS_STEP, "dbt deps"):
                log.system(DEPS_STEP, "no packages to install: none declared, or installed "
                                      "as declared by an earlier run")
        plan = Plan(tuple(setting.commands), setting.docs, setting.compare_with is not None,
                    deps)
        return (plan, Where(setting.dbt, ws.project_dir, run_dir, setting.env),
                setting.compare_with)

    def _steps(self, store: Repos, job: Job, plan: Plan, runner: StepRunner,
               compare_with: int | None) -> End:
        """Each step the plan says, until it says how the run ends."""
        done: list[Outcome] = []
        log = runner.log
        while isinstance(step := next_step(plan, done), Step):
            runner.stopper.poll(now=True)
            stop = runner.stopper.end()
            if stop is not None:
                log.system(step.idx, f"{runner.stopper.words()} before this step started",
                           "warn")
                return stop if stop.status is RunStatus.ERROR else End(RunStatus.CANCELLED)
            if step.kind is Kind.COMPARE:
                done.append(compare_step.run(store, runner, step, compare_with, log))
                continue
            outcome = runner.run(step, step.command)
            done.append(outcome)
            if step.kind is Kind.DEPS and outcome.code == 0 and outcome.stop is None:
                marker = deps_needed(runner.where.project_dir)
                if marker is not None:
                    marker.write_text(deps_fingerprint(runner.where.project_dir))
            if outcome.docs_kept:
                log.system(step.idx, "docs kept with the run: dbt-console docs "
                                     f"{job.name} --run {runner.run_id} serves them")
        return step
