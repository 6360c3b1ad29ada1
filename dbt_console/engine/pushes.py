"""Runs when branches move: continuous deployment and continuous integration.

The engine's push thread asks each on_push job's remote for its branch head, and each CI
job's remote for all its branch heads (git ls-remote: no objects are fetched, so polling
every minute costs a round trip), and hands what it saw to the store, which queues the
runs and coalesces pushes that land while one waits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dbt_console import ci
from dbt_console.engine.workspace import WorkspaceError, remote_head, remote_heads
from dbt_console.model import Job
from dbt_console.store import EventsStore, JobsStore, QueueStore
from dbt_console.store.repos import Repos, opened

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (EventsStore, QueueStore, JobsStore)


log = logging.getLogger(__name__)


class PushWatcher:
    def __init__(self, store_path: Path, every_seconds: float,
                 on_queued: Callable[[int], None]):
        self.store_path = store_path
        self.every = every_seconds
        self.on_queued = on_queued
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_poll: dict[str, float] = {}
        self._last_error: dict[str, str] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="pushes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        with opened(self.store_path, USES) as store:
            seen, jobs = None, []
            while not self._stop.is_set():
                try:
                    fingerprint = store.jobs_fingerprint()
                    if fingerprint != seen:
                        seen = fingerprint
                        jobs = [j for j in store.list_jobs() if j.watches_remote]
                    for job in jobs:
                        if self._stop.is_set():
                            break
                        if time.monotonic() - self._last_poll.get(job.name, -1e9) >= self.every:
                            self._last_poll[job.name] = time.monotonic()
                            (self.poll_ci if job.ci else self.poll)(store, job)
                except Exception:
                    log.exception("push polling")  # a locked store: try again next round
                self._stop.wait(min(1.0, self.every))

    def poll(self, store: Repos, job: Job) -> None:
        sha = self._read(store, job, lambda: remote_head(job.git.url, job.git.branch))
        if sha is None:
            return
        run_id = store.record_push(job.name, sha, "push")
        if run_id is not None:
            self.on_queued(run_id)

    def poll_ci(self, store: Repos, job: Job) -> None:
        heads = self._read(store, job, lambda: remote_heads(job.git.url))
        if heads is None:
            return
        matching = {b: sha for b, sha in heads.items() if ci.matches(job.ci, b, job.git.branch)}
        for run_id in store.record_ci_heads(job.name, matching, "push"):
            self.on_queued(run_id)

    def _read(self, store: Repos, job: Job, read):
        try:
            found = read()
        except WorkspaceError as exc:
            # Said once per new problem, not once a minute for as long as it lasts.
            if self._last_error.get(job.name) != str(exc):
                self._last_error[job.name] = str(exc)
                store.record_event("push-poll", job.name, f"cannot read the branch head: {exc}")
            return None
        if self._last_error.pop(job.name, None):
            store.record_event("push-poll", job.name, "the branch head can be read again")
        return found
