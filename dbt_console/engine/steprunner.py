"""One run's dbt steps as processes: how each starts (warm, cold, or in the process the
step before kept for it), its log pumped into the store, its artifacts collected, and
how it ended, as an Outcome for the run's plan (runplan.py). The executor never sees a
process; the stopper (stopping.py) signals the one that runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console.engine import artifacts, logpump
from dbt_console.engine.dbtlog import first_error
from dbt_console.engine.launcher import Launcher, Process, SubprocessLauncher
from dbt_console.engine.logpump import RunLog, pump
from dbt_console.engine.stopping import CANCEL_EVENT, Stopper
from dbt_console.jobrules import command_argv
from dbt_console.model import Job, RunStatus
from dbt_console.runplan import Kind, Outcome, Step
from dbt_console.store import StepsStore
from dbt_console.store.repos import Repos, joined

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = joined((StepsStore,), logpump.USES)


# dbt says why it could not run among a failed step's last lines.
TAIL_LINES = 500


@dataclass(frozen=True)
class Launchers:
    """How an engine's steps start: `warm` from a helper that has dbt loaded (None: no
    warm starts), `cold` as a process each (jobs with warm: false; run_as's sudo)."""

    warm: Launcher | None = None
    cold: Launcher = field(default_factory=SubprocessLauncher)

    def for_job(self, job: Job) -> Launcher:
        return self.warm if job.warm and self.warm is not None else self.cold


@dataclass(frozen=True)
class Where:
    """Which dbt runs the steps, in which project, with what environment."""

    dbt: str
    project_dir: Path
    run_dir: Path
    env: dict[str, str]


class StepRunner:
    def __init__(self, store: Repos, log: RunLog, stopper: Stopper, launcher: Launcher,
                 where: Where):
        self.store, self.log, self.stopper = store, log, stopper
        self.launcher, self.where = launcher, where
        self.run_id = log.run_id
        self._idx = 0  # the step whose process runs, for the stopper's lines
        self._kept: Process | None = None  # the last step's, kept for the next

    def run(self, step: Step, command: str) -> Outcome:
        """Run `command` as `step` to its end (a step of kind COMPARE gives its command
        here: it is worked out from the results)."""
        idx = self._idx = step.idx
        self.store.start_step(self.run_id, idx, command)
        self.log.progress.start_step(idx)
        self.log.system(idx, f"$ {command}")
        started = time.time()
        try:
            process = self._start([self.where.dbt, *command_argv(command)[1:]], step.keep)
        except OSError as exc:
            self.store.finish_step(self.run_id, idx, RunStatus.ERROR, None)
            return Outcome(idx, None, broke=f"could not start {self.where.dbt}: "
                                            f"{exc.strerror or exc}")
        if process.note:
            self.log.system(idx, process.note)
        self.store.set_step_pid(self.run_id, idx, process.pid)
        self.stopper.attach(process)
        try:
            code = pump(process, self.log, idx, self._tick, self.stopper.words,
                        {CANCEL_EVENT: self.stopper.dbt_cancelled})
        finally:
            self.stopper.attach(None)
        if process.kept:
            self._kept = process
        return self._ended(step, command, code, process.lost, started)

    def close(self) -> None:
        """Let a kept process go: no step follows."""
        if self._kept is not None:
            self._kept.release()
            self._kept = None

    def _start(self, argv: list[str], keep: bool) -> Process:
        after, self._kept = self._kept, None
        where = self.where
        try:
            return ((after and after.follow(argv, where.project_dir, where.env))
                    or self.launcher.start(argv, where.project_dir, where.env, keep))
        finally:
            if after is not None:
                after.release()  # a no-op once it took this step

    def _tick(self) -> None:
        for line in self.stopper.poll():
            self.log.system(self._idx, line, "warn")

    def _ended(self, step: Step, command: str, code: int, lost: str | None,
               started: float) -> Outcome:
        idx, stopper = step.idx, self.stopper
        # Docs compile every node and compare changes run an operation: neither's nodes
        # are results of this run.
        results = (artifacts.collect_step(self.where.run_dir, idx, started)
                   if step.kind in (Kind.DEPS, Kind.COMMAND) else [])
        stopping = stopper.stopping
        status = (RunStatus.SUCCESS if code == 0 and not stopping else
                  RunStatus.CANCELLED if stopper.asked else RunStatus.ERROR)
        self.store.finish_step(self.run_id, idx, status, code, results)
        self.log.system(idx, f"{command} exited with code {code}", "info" if code == 0 else
                        "warn" if stopping else "error")
        stop = stopper.end()
        if lost:
            return Outcome(idx, code, broke=lost, stop=stop)
        if stop is not None and stop.status is RunStatus.CANCELLED and stop.reason is None:
            self.log.system(idx, "run cancelled", "warn")  # no error line will say it
        return Outcome(idx, code, stop=stop,
                       docs_kept=(step.kind is Kind.DOCS and code == 0
                                  and artifacts.keep_docs(self.where.run_dir)),
                       said=self._said(idx) if code != 0 else None)

    def _said(self, idx: int) -> str | None:
        """dbt's own words for why the step failed (a refused connection, a missing
        profile), from its last lines."""
        count = self.store.log_line_count(self.run_id)
        return first_error(self.store.read_log(self.run_id, start=max(0, count - TAIL_LINES)),
                           idx)
