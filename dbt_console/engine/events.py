"""Run state changes inside one process: the seam hooks and the engine listen on.
Other processes learn of changes through the store, not through this."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dbt_console.model import Run

log = logging.getLogger(__name__)

Listener = Callable[[Run], None]


class RunEvents:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, run: Run) -> None:
        for listener in self._listeners:
            try:
                listener(run)
            except Exception:
                # A broken listener (a hook) must never break the run it listens to.
                log.exception("run event listener failed for run %s", run.id)
