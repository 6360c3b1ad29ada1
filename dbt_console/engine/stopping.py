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
import time
from dataclasses import dataclass, field
from pathlib import Path

SIGNALS = ((0.0, signal.SIGINT), (2.0, signal.SIGINT), (5.0, signal.SIGINT),
           (10.0, signal.SIGTERM), (15.0, signal.SIGKILL))
# The dbt event for each query its cancel stopped ("CANCEL query model.x").
CANCEL_EVENT = "LogCancelLine"


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
