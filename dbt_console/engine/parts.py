"""What an engine is made of. `serve` and a one-run engine (`run --wait` with no engine
alive) run the same loop, lease, recovery and executor; they differ only in the parts
made here: serve fires schedules, watches pushes and other processes' nudges, checks
alerts and prunes; a one-run engine starts its own run and sends only its deliveries.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dbt_console.config import Paths, Settings
from dbt_console.engine import alerts, retention, runas
from dbt_console.engine.events import RunEvents
from dbt_console.engine.executor import Executor
from dbt_console.engine.lease import LeaseKeeper
from dbt_console.engine.notify import reminders
from dbt_console.engine.notify.notifier import Notifier
from dbt_console.engine.pushes import PushWatcher
from dbt_console.engine.scheduler import TriggerFor, cron_trigger
from dbt_console.engine.schedules import Schedules
from dbt_console.engine.steprunner import Launchers
from dbt_console.engine.wake import WakeListener
from dbt_console.engine.warm.launcher import Helper, WarmLauncher
from dbt_console.store import EventsStore, LeaseStore
from dbt_console.store.repos import Repos, joined, opened

log = logging.getLogger(__name__)

# Retention runs a few minutes after the engine starts, then once a day.
PRUNE_FIRST_SECONDS = 300.0
PRUNE_EVERY_SECONDS = 24 * 3600.0


class Doorbell:
    """How parts wake the engine's loop at once: a schedule fired, a push seen, a run
    ended, another process nudged (a run queued, a stop asked). Any thread rings it."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.nudged = threading.Event()
        self.fires: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()

    def ring(self, *_) -> None:
        self.wake.set()

    def fired(self, job_name: str) -> None:
        self.fires.put((job_name, time.time()))
        self.wake.set()

    def nudge(self) -> None:
        self.nudged.set()
        self.wake.set()


@dataclass
class Chore:
    """Work the loop does now and then (`every` seconds, the first after `first`)."""

    name: str
    first: float
    every: float
    do: Callable[[Repos], None]
    uses: tuple[type, ...]  # the store's concerns `do` is given (repos.py)
    own_thread: bool = False  # long work (removing run directories) must not hold the loop


@dataclass
class Parts:
    keeper: LeaseKeeper
    doorbell: Doorbell
    events: RunEvents
    executor: Executor
    notifier: Notifier
    schedules: Schedules | None = None  # None: it fires and catches up nothing
    watchers: tuple = ()  # started and stopped with the engine (start(), stop())
    chores: tuple[Chore, ...] = ()
    warm: WarmLauncher | None = None
    takes: Callable[[int], bool] = field(default=lambda run_id: True)  # queued runs it starts


def for_serve(paths: Paths, settings: Settings, kind: str = "serve",
              trigger_for: TriggerFor | None = None, api_url: str | None = None) -> Parts:
    """Every part: what `serve` (and its background form) runs; `api_url`: the API's root
    when it serves one (emails link their run there)."""
    keeper, doorbell, events = LeaseKeeper(kind), Doorbell(), RunEvents()
    warm = (WarmLauncher(paths.helper_log, _recorder(paths, keeper), pass_env=settings.pass_env)
            if settings.warm_starts and not settings.run_as else None)
    launchers = _launchers(paths, settings, warm)
    watch = alerts.AlertWatch(settings.catch_up_grace_minutes)
    schedules = Schedules(doorbell.fired, trigger_for or (lambda j: cron_trigger(j.schedule)),
                          settings, watch, warm)
    return Parts(
        keeper, doorbell, events, Executor(paths, launchers, events, settings.pass_env),
        Notifier(paths.store, smtp_defaults=settings.smtp, api_url=api_url), schedules,
        watchers=(PushWatcher(paths.store, settings.push_poll_seconds, doorbell.ring),
                  WakeListener(paths.data_dir, doorbell.nudge)),
        chores=(Chore("alerts", 0.0, alerts.CHECK_SECONDS, watch.check, alerts.USES),
                Chore("reminders", reminders.CHECK_SECONDS, reminders.CHECK_SECONDS,
                      reminders.check, reminders.USES),
                Chore("prune", PRUNE_FIRST_SECONDS, PRUNE_EVERY_SECONDS,
                      lambda store: _prune(store, paths, settings), PRUNE_USES,
                      own_thread=True)),
        warm=warm)


def for_one_run(paths: Paths, settings: Settings, run_id: int,
                warm: WarmLauncher | None) -> Parts:
    """Only what runs `run_id` and sends its deliveries (`warm`: a helper started beside
    its first step, for the later ones; one_run.py)."""
    keeper, doorbell, events = LeaseKeeper("run --wait"), Doorbell(), RunEvents()
    return Parts(keeper, doorbell, events,
                 Executor(paths, _launchers(paths, settings, warm), events, settings.pass_env),
                 Notifier(paths.store, run_id=run_id, smtp_defaults=settings.smtp),
                 takes=lambda queued: queued == run_id)


def _launchers(paths: Paths, settings: Settings, warm: WarmLauncher | None) -> Launchers:
    """settings.toml's run_as: every step through sudo as that user, never warm (the
    engine could not signal a helper's steps); it is checked here, before anything runs."""
    run_as = runas.configured(settings.run_as, paths)
    if run_as is not None:
        return Launchers(cold=runas.RunAsLauncher(run_as))
    return Launchers(warm)


def _recorder(paths: Paths, keeper: LeaseKeeper) -> Callable[[Helper], None]:
    """Keeps each warm helper's state in the store (status shows them)."""
    def record(helper: Helper) -> None:
        try:
            with opened(paths.store, (LeaseStore,)) as store:
                store.record_helper(keeper.lease.token, helper.python, helper.pid,
                                    helper.state, helper.dbt_version, helper.detail)
        except Exception:
            log.exception("recording the warm helper for %s", helper.python)
    return record


# The store's concerns the chores and the helper recorder below use (repos.py).
USES = (EventsStore, LeaseStore)
PRUNE_USES = joined(retention.USES, (EventsStore,))


def _prune(store: Repos, paths: Paths, settings: Settings) -> None:
    found = retention.plan(store, paths, settings)
    if found.run_ids:
        retention.apply(store, found)
        store.record_event("prune", None, retention.words(found, "daily"))
