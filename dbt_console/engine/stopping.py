"""Which signal a stopping run's dbt gets, and when (a cancel, a timeout, a shutdown).

SIGINT lets dbt cancel its queries and write run_results.json (it exits within a
second); SIGTERM kills it with no artifacts; SIGKILL if even that fails. SIGINT is
repeated while dbt runs on: one that lands while a node is between starting and sending
its query cancels nothing, and on DuckDB, whose queries run inside dbt, only a second
SIGINT ends that query.

A repeat must never land while dbt is cancelling: it interrupts the cancel, and a
warehouse's query then outlives dbt (a repeat 20 ms after the first left PostgreSQL's
`pg_sleep` running four times in five). dbt starts its cancel by writing
run_results.json and reports each query it cancelled (CANCEL_EVENT); a repeat due
between the two is skipped. A loaded machine can stretch that window past the first
repeat.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console import runplan
from dbt_console.runplan import End

SIGNALS = ((0.0, signal.SIGINT), (2.0, signal.SIGINT), (5.0, signal.SIGINT),
           (10.0, signal.SIGTERM), (15.0, signal.SIGKILL))
# The dbt event for each query its cancel stopped ("CANCEL query model.x").
CANCEL_EVENT = "LogCancelLine"
# How often a run looks in the store for a cancel asked by another process.
CANCEL_POLL_SECONDS = 0.5


def _mtime(path: Path | None) -> int | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except OSError:
        return None


@dataclass
class Escalation:
    """The signals for one stop, begun at `began` (monotonic)."""

    results: Path | None  # where dbt writes run_results.json
    began: float = field(default_factory=time.monotonic)
    sent: int = 0  # how far into SIGNALS
    cancel_reported: bool = False
    _results_before: int | None = None

    def __post_init__(self) -> None:
        self._results_before = _mtime(self.results)

    def due(self, now: float) -> signal.Signals | None:
        """The signal to send now, if any. A repeat whose time comes while dbt cancels is
        skipped (dbt usually ends right after its cancel; the next repeat is there if
        not); SIGTERM and SIGKILL are never skipped."""
        due = [i for i, (after, _) in enumerate(SIGNALS) if now - self.began >= after]
        if not due or due[-1] < self.sent:
            return None
        self.sent = due[-1] + 1
        sig = SIGNALS[due[-1]][1]
        if sig == signal.SIGINT and due[-1] > 0 and self.cancelling():
            return None
        return sig

    def cancelling(self) -> bool:
        """dbt began its cancel (it rewrote run_results.json) and has not reported a
        query cancelled yet."""
        return not self.cancel_reported and _mtime(self.results) != self._results_before


def stop_now(proc, results: Path | None = None) -> None:
    """Stop a step whose run can no longer be followed (the store cannot be written: a
    full disk), by the same signals as a cancel, waiting between them here: a dbt left
    running would hold its warehouse's locks (a DuckDB file) until the engine stops."""
    stop = Escalation(results)
    while proc.poll() is None:
        sig = stop.due(time.monotonic())
        if sig is not None:
            try:
                proc.signal_group(sig)
            except ProcessLookupError:
                return
        try:
            proc.wait(timeout=0.2)
        except Exception:  # subprocess.TimeoutExpired, or the warm path's own
            continue


class Stopper:
    """Everything about stopping one run, behind one lock: a cancel (asked on any thread,
    or found in the store by `poll`), its deadline, and the signals to the process of the
    step that runs. The run's own thread attaches each step's process and polls; another
    thread may only `ask`."""

    def __init__(self, deadline: float | None, timeout_minutes: int | None,
                 results: Path | None, asked_elsewhere: Callable[[], str | None]):
        self._lock = threading.Lock()
        self._deadline, self._minutes = deadline, timeout_minutes
        self._results = results  # dbt's run_results.json, which it writes as it stops
        # Who asked for a cancel in the store (another process; "" when it does not say),
        # or None: no one asked.
        self._asked_elsewhere = asked_elsewhere
        self._polled = float("-inf")
        self._asked = self._timed_out = False
        self._why: str | None = None  # a cancel's reason, when not a user's
        self._by: str | None = None  # who asked for the cancel, when a user did
        self._escalation: Escalation | None = None
        self._process = None
        self._sent: list[str] = []  # what was done to stop dbt, not yet in the log

    def ask(self, why: str | None = None, by: str | None = None) -> None:
        """A cancel: `why` when the engine asks, `by` whom when a person does."""
        with self._lock:
            self._asked = True
            self._why, self._by = self._why or why, self._by or by
            self._tick(time.monotonic())

    def set_deadline(self, deadline: float | None) -> None:
        """When the run times out (monotonic; None: never), from now on."""
        with self._lock:
            self._deadline = deadline
            self._tick(time.monotonic())

    def attach(self, process) -> None:
        """The step's process, which gets the signals (None: no step runs)."""
        with self._lock:
            self._process = process
            self._tick(time.monotonic())

    def poll(self, now: bool = False) -> list[str]:
        """Look for a cancel asked elsewhere (at most every CANCEL_POLL_SECONDS unless
        `now`), send what is due, and return the lines the log should say about it."""
        moment = time.monotonic()
        if now or moment - self._polled >= CANCEL_POLL_SECONDS:
            self._polled = moment
            by = self._asked_elsewhere()
            if by is not None:
                self.ask(by=by or None)
        with self._lock:
            self._tick(moment)
            said, self._sent = self._sent, []
        return said

    def dbt_cancelled(self) -> None:
        """dbt reported a query it cancelled: its cancel is done."""
        with self._lock:
            if self._escalation is not None:
                self._escalation.cancel_reported = True

    def _tick(self, now: float) -> None:
        if self._escalation is None:
            if self._deadline is not None and now >= self._deadline:
                self._timed_out = True
            elif not self._asked:
                return
            self._escalation = Escalation(self._results, now)
        sig = self._escalation.due(now) if self._process is not None else None
        if sig is not None:
            self._process.signal_group(sig)
            # The log says why a query outlived its run, or why dbt had no time to clean up.
            self._sent.append(f"sent {sig.name} to dbt {now - self._escalation.began:.1f} s "
                              "after the stop began")

    @property
    def asked(self) -> bool:
        with self._lock:
            return self._asked

    @property
    def stopping(self) -> bool:
        with self._lock:
            return self._escalation is not None

    def end(self) -> End | None:
        """How the run ends because of the stop, or None: nothing stops it."""
        with self._lock:
            if self._timed_out:
                return runplan.timed_out(self._minutes)
            if self._asked:
                return runplan.cancelled(self._why, self._by)
            return None

    def words(self) -> str:
        """Why the run is stopping, for the line dbt's interrupted traceback folds into."""
        with self._lock:
            if self._timed_out:
                return "run timed out"
            if self._why:
                return f"run cancelled: {self._why}"
            return f"run cancelled by {self._by}" if self._by else "run cancelled"
