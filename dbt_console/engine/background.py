"""The background engine: what the dashboard starts when it finds no engine, so that runs
outlive the window and the SSH connection it came over. It is `dbt-console serve
--background` in a session of its own (no terminal, so no hangup reaches it), writing to
engine.log in the data directory, and it goes away by itself once idle."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from dbt_console.config import Paths
from dbt_console.errors import UserError
from dbt_console.store import JobsStore, RunsStore
from dbt_console.store.repos import opened

# What Engine.busy reads.
BUSY_USES = (RunsStore, JobsStore)

# How often an idle engine asks the store whether it still has nothing to do.
IDLE_CHECK_SECONDS = 5.0


def log_path(paths: Paths) -> os.PathLike:
    return paths.data_dir / "engine.log"


def spawn(paths: Paths) -> int:
    """Start a background engine and return its pid; it takes the lease itself (and
    leaves quietly when another engine got there first)."""
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path(paths), "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dbt_console", "serve", "--background"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=paths.data_dir)
    return process.pid


class IdleTimer:
    """A background engine's way out: nothing queued or running, no schedule and no git
    remote to watch (Engine.busy), for `seconds` in a row."""

    def __init__(self, engine, store_path, seconds: float):
        self.engine = engine
        self.store_path = store_path
        self.seconds = seconds
        self._idle_since: float | None = None
        self._checked = 0.0

    def expired(self) -> bool:
        now = time.monotonic()
        if now - self._checked < min(IDLE_CHECK_SECONDS, max(self.seconds, 0.5)):
            return self._over(now)
        self._checked = now
        if self.engine.store_lost:
            return True
        try:
            with opened(self.store_path, BUSY_USES) as store:
                busy = self.engine.busy(store)
        except UserError:  # the store is gone: the engine's loop says so and stops
            return True
        if busy:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        return self._over(now)

    def _over(self, now: float) -> bool:
        return self._idle_since is not None and now - self._idle_since >= self.seconds
