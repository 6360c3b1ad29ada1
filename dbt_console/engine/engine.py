"""The engine: holds the store's lease, fires schedules, and runs the queue.

One loop thread owns the engine's store connection: it turns fires into queued runs,
re-reads jobs when they change, starts queued runs (one per job, a global limit, queue
order) and renews the lease. Each run executes on its own thread.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from dbt_console.config import Paths, Settings
from dbt_console.engine import alerts, retention, runas
from dbt_console.engine.adapters import exclusive_resource
from dbt_console.engine.events import RunEvents
from dbt_console.engine.executor import Executor
from dbt_console.engine.launcher import Launcher
from dbt_console.engine.lease import LeaseKeeper, recover
from dbt_console.engine.notify.notifier import Notifier
from dbt_console.engine.pushes import PushWatcher
from dbt_console.engine.scheduler import Scheduler, TriggerFor, cron_trigger, next_fire
from dbt_console.engine.stepenv import SetupError, find_dbt
from dbt_console.engine.wake import WakeListener
from dbt_console.engine.warm.launcher import Helper, WarmLauncher, remove_stale_temp_dirs
from dbt_console.engine.watchdog import Watchdog
from dbt_console.errors import no_space, no_space_words
from dbt_console.model import Job, Trigger
from dbt_console.store import Store

log = logging.getLogger(__name__)

# The loop wakes at least this often; a fire, a finished run or a stop wakes it at once.
# Other processes' changes (a `run`, a job edit) are seen within one tick.
TICK_SECONDS = 0.25
# How long a run thread may take to wind down after its cancel on stop.
CANCEL_WAIT_SECONDS = 20.0
# How often dead or outdated warm helpers are replaced.
HELPER_CHECK_SECONDS = 2.0
# Retention runs a few minutes after the engine starts, then once a day.
PRUNE_FIRST_SECONDS = 300.0
PRUNE_EVERY_SECONDS = 24 * 3600.0


class Engine:
    def __init__(self, paths: Paths, settings: Settings, kind: str = "serve",
                 launcher: Launcher | None = None, trigger_for: TriggerFor | None = None,
                 events: RunEvents | None = None, only_run: int | None = None):
        self.paths = paths
        # One-run mode (`run --wait` with no engine alive): the same lease, recovery and
        # executor, but no schedules, pushes or other queued runs, and a notifier that
        # sends only that run's deliveries.
        self.only_run = only_run
        self.settings = settings
        self.events = events or RunEvents()
        self.keeper = LeaseKeeper(kind)
        self.watchdog = Watchdog()  # systemd's WatchdogSec=, when serve runs under it
        self.alerts = alerts.AlertWatch(settings.catch_up_grace_minutes)
        self.warm: WarmLauncher | None = None
        # settings.toml's run_as: every step through sudo as that user, never warm (the
        # engine could not signal a helper's steps).
        run_as = runas.configured(settings.run_as, paths)
        if launcher is None and settings.warm_starts and run_as is None:
            launcher = self.warm = WarmLauncher(paths.helper_log, self._helper_changed,
                                                pass_env=settings.pass_env)
        self.executor = Executor(paths, launcher, self.events, settings.pass_env,
                                 cold=runas.RunAsLauncher(run_as) if run_as else None)
        self.scheduler = Scheduler(self._fired,
                                   trigger_for or (lambda j: cron_trigger(j.schedule)))
        self._fires: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # run id -> (job name, what it holds alone or None, its thread)
        self._flights: dict[int, tuple[str, str | None, threading.Thread]] = {}
        self._resources: dict[int, str | None] = {}  # queued run id -> what it would hold
        self._told_waiting: set[int] = set()
        self._loop: threading.Thread | None = None
        self.lost_lease = False
        # Why the engine stopped on its own: its store file was removed or replaced.
        self.store_lost: str | None = None
        self.notifier = Notifier(paths.store, run_id=only_run)
        self.pushes = PushWatcher(paths.store, settings.push_poll_seconds,
                                  lambda run_id: self._wake.set())
        self.events.subscribe(lambda run: self._wake.set() if run.status.finished else None)
        self._nudged = threading.Event()  # by another process: a run queued, a stop asked
        self.nudges = WakeListener(paths.data_dir, self._nudge)

    # --- life cycle -----------------------------------------------------------------

    def start(self) -> list[int]:
        """Take the lease (or raise EngineBusy), recover what a dead engine left, catch up
        missed schedules, then start firing and running. Returns the recovered run ids."""
        with Store(self.paths.store) as store:
            self.keeper.acquire(store)
            orphans = recover(store, self.keeper)
            gone = remove_stale_temp_dirs()
            if gone:
                store.record_event("cleanup", None, f"removed {len(gone)} temporary "
                                   "director(ies) a killed engine left: "
                                   + ", ".join(p.name for p in gone[:5]))
            if self.only_run is None:
                self._catch_up(store)
                jobs = store.list_jobs()
                self.scheduler.sync(jobs)
        if self.only_run is None:
            self._prewarm(jobs)
            self.scheduler.start()
            self.pushes.start()
            self.nudges.start()
        self.notifier.start()
        self._loop = threading.Thread(target=self._run_loop, name="engine", daemon=True)
        self._loop.start()
        return orphans

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop firing and starting runs; let runs in flight finish for up to the grace
        period, then cancel the rest; give the lease back. Nothing stays running."""
        grace = self.settings.stop_grace_seconds if grace_seconds is None else grace_seconds
        self._stopping.set()
        self.executor.stopping.set()
        self._wake.set()
        if self.only_run is None:
            self.scheduler.shutdown()
            self.pushes.stop()
            self.nudges.stop()
        if self._loop is not None:
            self._loop.join()
        deadline = time.monotonic() + grace
        for _, _, thread in list(self._flights.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        for run_id, (_, _, thread) in list(self._flights.items()):
            if thread.is_alive():
                self.executor.cancel(run_id, f"the engine ({self.keeper.lease.kind}) stopped "
                                             f"and its {grace:.0f}s grace for runs in flight "
                                             "ran out")
        for _, _, thread in list(self._flights.values()):
            thread.join(CANCEL_WAIT_SECONDS)
        self.notifier.stop()
        if self.warm is not None:
            self.warm.close()
        if self.store_lost:
            return  # nothing to give back, and no store to make again
        with Store(self.paths.store, must_exist=True) as store:
            # A run whose thread could not even be cancelled must not look alive.
            store.fail_orphans("dbt-console stopped and could not cancel this run in time")
            self.keeper.release(store)

    def wait(self, until: Callable[[], bool]) -> None:
        """Block the calling thread until `until()` is true, the lease is lost or someone
        asked the engine to stop (`stop_asked_by` says who)."""
        while not (self.store_lost or self.lost_lease or self.stop_asked_by or until()):
            time.sleep(0.2)

    @property
    def stop_asked_by(self) -> str | None:
        return self.keeper.stop_asked_by

    def busy(self, store: Store) -> bool:
        """Has it anything to do, now or later: a run in flight or queued, a schedule, a
        git remote to watch? A background engine with none of them may go."""
        return bool(self._flights or store.queued_runs() or self.next_fires()
                    or any(j.watches_remote for j in store.list_jobs()))

    def next_fires(self) -> dict[str, float]:
        return self.scheduler.next_fires()

    # --- the loop -------------------------------------------------------------------

    def _fired(self, job_name: str) -> None:
        self._fires.put((job_name, time.time()))
        self._wake.set()

    def _run_loop(self) -> None:
        with Store(self.paths.store, must_exist=True) as store:
            identity = file_identity(self.paths.store)
            jobs_seen = store.jobs_fingerprint()
            helpers_checked = time.monotonic()
            next_prune = time.monotonic() + PRUNE_FIRST_SECONDS
            told_full = float("-inf")  # when a full disk was last said in the log
            next_alerts = 0.0
            while not self._stopping.is_set():
                if file_identity(self.paths.store) != identity:
                    self.store_lost = (f"the store {self.paths.store} was removed or replaced "
                                       "by another file; stopping (start dbt-console again "
                                       "to use the store that is there now)")
                    log.error(self.store_lost)
                    return
                try:
                    self._drain_fires(store)
                    fingerprint = store.jobs_fingerprint()
                    if fingerprint != jobs_seen and self.only_run is None:
                        jobs_seen = fingerprint
                        jobs = store.list_jobs()
                        self.scheduler.sync(jobs)
                        self._prewarm(jobs)
                    self._dispatch(store)
                    if self.only_run is None and time.monotonic() >= next_alerts:
                        next_alerts = time.monotonic() + alerts.CHECK_SECONDS
                        self.alerts.check(store)
                    if self.only_run is None and time.monotonic() >= next_prune:
                        next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                        threading.Thread(target=self._prune, name="prune", daemon=True).start()
                    if self.warm and time.monotonic() - helpers_checked > HELPER_CHECK_SECONDS:
                        helpers_checked = time.monotonic()
                        self.warm.maintain()
                    self.watchdog.tick()
                    nudged = self._nudged.is_set()
                    self._nudged.clear()
                    if not self.keeper.beat_if_due(store, now=nudged):
                        log.error("the store's lease was taken by another engine; stopping")
                        self.lost_lease = True
                        return
                except Exception as exc:
                    # A bad moment (a locked store, a full disk) must not kill the engine;
                    # try next tick. A full disk is said once a minute, not traced per tick.
                    if not no_space(exc):
                        log.exception("engine loop")
                    elif time.monotonic() - told_full > 60:
                        told_full = time.monotonic()
                        log.error("the store cannot be written: %s",
                                  no_space_words(self.paths.store))
                self._wake.wait(TICK_SECONDS)
                self._wake.clear()

    def _nudge(self) -> None:
        self._nudged.set()
        self._wake.set()

    def _prune(self) -> None:
        """Retention, on a thread of its own: removing thousands of run directories must
        not hold up the loop that starts runs."""
        try:
            with Store(self.paths.store, must_exist=True) as store:
                found = retention.plan(store, self.paths, self.settings)
                if found.run_ids:
                    retention.apply(store, found)
                    store.record_event("prune", None, retention.words(found, "daily"))
        except Exception:
            log.exception("prune")

    def _drain_fires(self, store: Store) -> None:
        fires = []
        while True:
            try:
                fires.append(self._fires.get_nowait())
            except queue.Empty:
                break
        if fires:
            store.enqueue_fires(fires, Trigger.schedule(), "scheduler")

    def _dispatch(self, store: Store) -> None:
        for run_id, (_, _, thread) in list(self._flights.items()):
            if not thread.is_alive():
                del self._flights[run_id]
        limit = self.settings.max_concurrent_runs
        if len(self._flights) >= limit:
            return
        busy = {name for name, _, _ in self._flights.values()}
        busy.update(r.job_name for r in store.runs_in_flight())
        held = {res: run_id for run_id, (_, res, _) in self._flights.items() if res}
        for run_id, job_name in store.queued_runs():
            if len(self._flights) >= limit:
                break
            if self.only_run is not None and run_id != self.only_run:
                continue
            if job_name in busy:
                continue  # one run per job at a time; later ones wait their turn
            resource = self._resource(store, run_id)
            if resource is not None and resource in held:
                self._tell_waiting(store, run_id, resource, held[resource])
                continue
            busy.add(job_name)
            if resource is not None:
                held[resource] = run_id
            self._start_run(run_id, job_name, resource)

    def _start_run(self, run_id: int, job_name: str, resource: str | None) -> None:
        self._resources.pop(run_id, None)
        self._told_waiting.discard(run_id)
        thread = threading.Thread(target=self._execute, args=(run_id,),
                                  name=f"run-{run_id}", daemon=True)
        self._flights[run_id] = (job_name, resource, thread)
        thread.start()

    def _resource(self, store: Store, run_id: int) -> str | None:
        """What a queued run would hold alone (engine/adapters), read once per run."""
        if run_id not in self._resources:
            try:
                job = store.run_job(run_id)
                self._resources[run_id] = exclusive_resource(job, self.paths.workspaces)
            except Exception:  # an unreadable profile must never keep a run from starting
                log.exception("reading the profile of run %s", run_id)
                self._resources[run_id] = None
        return self._resources[run_id]

    def _tell_waiting(self, store: Store, run_id: int, resource: str, holder: int) -> None:
        if run_id not in self._told_waiting:
            self._told_waiting.add(run_id)
            store.note(run_id, f"waiting: run {holder} is writing {resource}, which takes one "
                               "writer at a time; this run starts when it ends", "warn")

    def _execute(self, run_id: int) -> None:
        try:
            self.executor.execute(run_id)
        except Exception:
            log.exception("run %s failed inside dbt-console", run_id)
        finally:
            self._wake.set()

    # --- warm helpers ----------------------------------------------------------------

    def _prewarm(self, jobs: list[Job]) -> None:
        """Start a helper for each dbt the enabled jobs use, so their first run is warm."""
        if self.warm is None:
            return
        dbts = set()
        for job in jobs:
            if job.enabled and job.warm:
                try:
                    dbts.add(find_dbt(job))
                except SetupError:
                    pass  # the run will say so
        self.warm.prewarm(sorted(dbts))

    def _helper_changed(self, helper: Helper) -> None:
        try:
            with Store(self.paths.store, must_exist=True) as store:
                store.record_helper(self.keeper.lease.token, helper.python, helper.pid,
                                    helper.state, helper.dbt_version, helper.detail)
        except Exception:
            log.exception("recording the warm helper for %s", helper.python)

    # --- catching up ---------------------------------------------------------------

    def _catch_up(self, store: Store) -> None:
        """Schedules missed while no engine ran: the newest miss inside the grace window
        is run once (trigger catch-up); older misses are recorded, not run."""
        now = time.time()
        grace = self.settings.catch_up_grace_minutes * 60
        marks = store.schedule_marks()
        fires: list[tuple[str, float]] = []
        for job in store.list_jobs():
            if not job.enabled or job.schedule is None:
                continue
            first_missed = next_fire(job.schedule, marks[job.name])
            if first_missed is None or first_missed > now:
                continue
            recent = next_fire(job.schedule, max(marks[job.name], now - grace))
            if recent is not None and recent <= now:
                fires.append((job.name, now))
                store.record_event("catch-up", job.name,
                                   "missed while no engine ran; running it once now")
            if first_missed < now - grace:
                self.alerts.missed_while_down(store, job, first_missed)
                store.record_event(
                    "missed", job.name,
                    f"fires from {time.strftime('%Y-%m-%d %H:%M', time.localtime(first_missed))}"
                    f" were missed while no engine ran and are older than the "
                    f"{self.settings.catch_up_grace_minutes} min grace window: not run")
        if fires:
            store.enqueue_fires(fires, Trigger.catch_up(), "engine")
        store.mark_schedules({j.name: now for j in store.list_jobs() if j.schedule})


def file_identity(path) -> tuple[int, int] | None:
    """Which file is at `path` (device, inode), or None: gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
