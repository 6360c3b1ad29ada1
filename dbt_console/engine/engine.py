"""The engine: holds the store's lease, fires schedules, and runs the queue.

One loop thread owns the engine's store connection: it turns fires into queued runs,
re-reads jobs when they change, starts queued runs (one per job, a global limit, queue
order), does its parts' chores and renews the lease. Each run executes on its own
thread. What it fires, watches and runs comes from its parts (parts.py): serve's, or a
one-run engine's.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from dbt_console.config import Paths, Settings
from dbt_console.engine import lease, outbox, schedules
from dbt_console.engine import parts as made
from dbt_console.engine.adapters import exclusive_resource
from dbt_console.engine.lease import recover
from dbt_console.engine.parts import Parts
from dbt_console.engine.warm.launcher import remove_stale_temp_dirs
from dbt_console.engine.watchdog import Watchdog
from dbt_console.errors import no_space, no_space_words
from dbt_console.model import Trigger
from dbt_console.store import (
    EventsStore,
    JobsStore,
    LogsStore,
    QueueStore,
    RunsStore,
    Store,
)
from dbt_console.store.repos import Repos, joined, opened

log = logging.getLogger(__name__)

# The store's concerns the loop and the parts it hands its store to use (repos.py); the
# chores it does on the loop add theirs (Chore.uses).
USES = joined((EventsStore, RunsStore, JobsStore, QueueStore, LogsStore), lease.USES,
              outbox.USES, schedules.USES)

# The loop wakes at least this often; a fire, a finished run or a stop wakes it at once.
# Other processes' changes (a `run`, a job edit) are seen within one tick.
TICK_SECONDS = 0.25
# How long a run thread may take to wind down after its cancel on stop.
CANCEL_WAIT_SECONDS = 20.0
# How often dead or outdated warm helpers are replaced.
HELPER_CHECK_SECONDS = 2.0


class Engine:
    def __init__(self, paths: Paths, settings: Settings, parts: Parts | None = None):
        """An engine of `parts` (parts.py: serve's, or a one-run engine's); serve's when
        none are given."""
        self.paths = paths
        self.settings = settings
        self.parts = parts = parts or made.for_serve(paths, settings)
        self.events, self.keeper, self.executor = parts.events, parts.keeper, parts.executor
        self.watchdog = Watchdog()  # systemd's WatchdogSec=, when serve runs under it
        self._wake = parts.doorbell.wake
        self._stopping = threading.Event()
        # Owned by the loop thread (and stop(), once the loop has ended): run id -> (job
        # name, what it holds alone or None, its thread). `busy` reads a copy.
        self._flights: dict[int, tuple[str, str | None, threading.Thread]] = {}
        self._flights_lock = threading.Lock()  # for writes, and reads off the loop thread
        self._resources: dict[int, str | None] = {}  # queued run id -> what it would hold
        self._told_waiting: set[int] = set()
        self._loop: threading.Thread | None = None
        self.lost_lease = False
        # Why the engine stopped on its own: its store file was removed or replaced.
        self.store_lost: str | None = None
        self.events.subscribe(lambda run: self._wake.set() if run.status.finished else None)

    # --- life cycle -----------------------------------------------------------------

    def start(self) -> list[int]:
        """Take the lease (or raise EngineBusy), recover what a dead engine left, catch up
        missed schedules, then start firing and running. Returns the recovered run ids."""
        parts = self.parts
        with Store(self.paths.store, upgrade=True) as whole:
            self.keeper.acquire(whole.only(*lease.USES))
            # An older store: migrated only now, no other engine on it.
            whole.upgrade(f"the engine ({self.keeper.lease.kind}, pid {os.getpid()})")
            store = whole.only(*USES)
            orphans = recover(store, self.keeper)
            gone = remove_stale_temp_dirs()
            if gone:
                store.record_event("cleanup", None, f"removed {len(gone)} temporary "
                                   "director(ies) a killed engine left: "
                                   + ", ".join(p.name for p in gone[:5]))
            if parts.schedules is not None:
                parts.schedules.start(store)
        for watcher in parts.watchers:
            watcher.start()
        parts.notifier.start()
        self._loop = threading.Thread(target=self._run_loop, name="engine", daemon=True)
        self._loop.start()
        return orphans

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop firing and starting runs; let runs in flight finish for up to the grace
        period, then cancel the rest; give the lease back. Nothing stays running."""
        parts = self.parts
        grace = self.settings.stop_grace_seconds if grace_seconds is None else grace_seconds
        self._stopping.set()
        self.executor.stopping.set()
        self._wake.set()
        if parts.schedules is not None:
            parts.schedules.stop()
        for watcher in parts.watchers:
            watcher.stop()
        if self._loop is not None:
            self._loop.join()  # from here on, this thread owns the flights
        deadline = time.monotonic() + grace
        for _, _, thread in self._in_flight().values():
            thread.join(max(0.0, deadline - time.monotonic()))
        for run_id, (_, _, thread) in self._in_flight().items():
            if thread.is_alive():
                self.executor.cancel(run_id, f"the engine ({self.keeper.lease.kind}) stopped "
                                             f"and its {grace:.0f}s grace for runs in flight "
                                             "ran out")
        for _, _, thread in self._in_flight().values():
            thread.join(CANCEL_WAIT_SECONDS)
        parts.notifier.stop()
        if parts.warm is not None:
            parts.warm.close()
        if self.store_lost:
            return  # nothing to give back, and no store to make again
        with opened(self.paths.store, USES) as store:
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

    def busy(self, store: Repos) -> bool:
        """Has it anything to do, now or later: a run in flight or queued, a schedule, a
        git remote to watch? A background engine with none of them may go."""
        return bool(self._in_flight() or store.queued_runs() or self.next_fires()
                    or any(j.watches_remote for j in store.list_jobs()))

    def next_fires(self) -> dict[str, float]:
        schedules = self.parts.schedules
        return schedules.next_fires() if schedules is not None else {}

    def _in_flight(self) -> dict[int, tuple[str, str | None, threading.Thread]]:
        """A copy of the runs in flight, for any thread."""
        with self._flights_lock:
            return dict(self._flights)

    # --- the loop -------------------------------------------------------------------

    def _fired(self, job_name: str) -> None:
        self._fires.put((job_name, time.time()))
        self._wake.set()

    def _run_loop(self) -> None:
        uses = joined(USES, *(c.uses for c in self.parts.chores if not c.own_thread))
        with opened(self.paths.store, uses) as store:
            identity = file_identity(self.paths.store)
            self._jobs_seen = store.jobs_fingerprint()
            now = time.monotonic()
            self._due = {chore.name: now + chore.first for chore in self.parts.chores}
            self._helpers_checked = now
            told_full = float("-inf")  # when a full disk was last said in the log
            while not self._stopping.is_set():
                if file_identity(self.paths.store) != identity:
                    self.store_lost = (f"the store {self.paths.store} was removed or replaced "
                                       "by another file; stopping (start dbt-console again "
                                       "to use the store that is there now)")
                    log.error(self.store_lost)
                    return
                try:
                    if not self._tick(store):
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

    def _tick(self, store: Repos) -> bool:
        """One turn of the loop; False when the lease was lost."""
        parts = self.parts
        self._drain_fires(store)
        fingerprint = store.jobs_fingerprint()
        if fingerprint != self._jobs_seen and parts.schedules is not None:
            self._jobs_seen = fingerprint
            parts.schedules.jobs_changed(store.list_jobs())
        self._dispatch(store)
        now = time.monotonic()
        for chore in parts.chores:
            if now >= self._due[chore.name]:
                self._due[chore.name] = now + chore.every
                self._do(chore, store)
        if parts.warm and now - self._helpers_checked > HELPER_CHECK_SECONDS:
            self._helpers_checked = now
            parts.warm.maintain()
        self.watchdog.tick()
        nudged = parts.doorbell.nudged.is_set()
        parts.doorbell.nudged.clear()
        return self.keeper.beat_if_due(store, now=nudged)

    def _do(self, chore: made.Chore, store: Repos) -> None:
        if not chore.own_thread:
            chore.do(store)
            return

        def alone() -> None:
            try:
                with opened(self.paths.store, chore.uses) as own:
                    chore.do(own)
            except Exception:
                log.exception(chore.name)

        threading.Thread(target=alone, name=chore.name, daemon=True).start()

    def _drain_fires(self, store: Repos) -> None:
        fires = []
        while True:
            try:
                fires.append(self.parts.doorbell.fires.get_nowait())
            except queue.Empty:
                break
        if fires:
            store.enqueue_fires(fires, Trigger.schedule(), "scheduler")

    def _dispatch(self, store: Repos) -> None:
        with self._flights_lock:
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
            if not self.parts.takes(run_id) or job_name in busy:
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
        with self._flights_lock:
            self._flights[run_id] = (job_name, resource, thread)
        thread.start()

    def _resource(self, store: Repos, run_id: int) -> str | None:
        """What a queued run would hold alone (engine/adapters), read once per run."""
        if run_id not in self._resources:
            try:
                job = store.run_job(run_id)
                self._resources[run_id] = exclusive_resource(job, self.paths.workspaces)
            except Exception:  # an unreadable profile must never keep a run from starting
                log.exception("reading the profile of run %s", run_id)
                self._resources[run_id] = None
        return self._resources[run_id]

    def _tell_waiting(self, store: Repos, run_id: int, resource: str, holder: int) -> None:
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


def file_identity(path) -> tuple[int, int] | None:
    """Which file is at `path` (device, inode), or None: gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
