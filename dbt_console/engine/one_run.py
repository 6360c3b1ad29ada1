"""`run --wait` when no engine is alive: this process becomes the engine for that one run,
with the same lease, recovery and executor as `serve`, then gives the store back."""

from __future__ import annotations

from dataclasses import dataclass

from dbt_console.config import Paths, load_settings
from dbt_console.engine import parts
from dbt_console.engine.engine import Engine
from dbt_console.engine.lease import EngineBusy
from dbt_console.store import LogsStore, RunsStore
from dbt_console.store.repos import opened

# The store's concerns start() uses (repos.py); finish() sends as the notifier does.
USES = (RunsStore, LogsStore)


@dataclass
class OneRun:
    engine: Engine
    run_id: int
    warm: object | None  # the imports-only warm launcher, when the job has later steps

    def cancel(self) -> None:
        """Ctrl-C: dbt gets SIGINT and stops cleanly."""
        self.engine.executor.cancel(self.run_id)

    def finish(self) -> None:
        """The run has ended: give the store back. No engine will come by to send this
        run's notifications now, so they are tried here once; whatever fails stays queued,
        with its retries, for the next engine."""
        from dbt_console.engine.notify import notifier
        from dbt_console.engine.notify.notifier import send_due

        self.engine.stop(grace_seconds=0)
        if self.warm is not None:
            self.warm.close()
        with opened(self.engine.paths.store, notifier.USES) as store:
            send_due(store, self.run_id, self.engine.settings.smtp)


def start(paths: Paths, run_id: int) -> OneRun | None:
    """An engine running only this run, started; None when another engine took the store
    meanwhile (it will run it)."""
    settings = load_settings(paths)
    with opened(paths.store, USES, must_exist=False) as store:
        job = store.run_job(run_id)
        # run_as: every step through sudo, none warm (runas.py says why).
        warm, why = _warm_for(paths, job, settings.warm_starts and not settings.run_as,
                              settings.pass_env)
        if why:
            store.note(run_id, why)
    engine = Engine(paths, settings, parts.for_one_run(paths, settings, run_id, warm))
    try:
        engine.start()
    except EngineBusy:
        if warm is not None:
            warm.close()
        return None
    return OneRun(engine, run_id, warm)


def _warm_for(paths: Paths, job, warm_starts: bool, pass_env: tuple[str, ...]):
    """A helper that only imports dbt starts beside the first step and is ready for the
    second (the first runs cold); with it, why there is none (for the run's log). A job
    of one dbt step gains nothing from it and gets none."""
    from dbt_console.engine.stepenv import SetupError, find_dbt
    from dbt_console.engine.warm.launcher import WarmLauncher

    if not job.warm or not warm_starts:
        return None, None  # the job or the settings say so: nothing to explain
    # The docs step is a step too, and so is a CI run's compare changes.
    if len(job.commands) + job.generate_docs + (job.ci is not None) < 2:
        return None, ("no warm start with no engine running: this run has one dbt step, "
                      "and a helper would be ready only after it")
    try:
        dbt = find_dbt(job)
    except SetupError:
        return None, None  # the run says so
    launcher = WarmLauncher(paths.helper_log, imports_only=True, pass_env=pass_env)
    launcher.prewarm([dbt])
    return launcher, None
