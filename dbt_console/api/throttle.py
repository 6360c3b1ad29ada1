"""Failed API tokens, per source address: each is audited while there are few, and
answered more slowly once there are many. A token is 256 random bits, so guessing is
hopeless anyway; the delay keeps a scanner from filling the log and the CPU, and the
audit rows show an admin who tried."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

WINDOW_SECONDS = 15 * 60   # failures older than this are forgotten
FREE_FAILURES = 5          # answered at once; then 2, 4, 8 s... up to MAX_DELAY
MAX_DELAY_SECONDS = 10.0
MAX_ADDRESSES = 10_000     # the oldest address is forgotten past this


class FailedTokens:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()  # first, count
        self._lock = threading.Lock()

    def failed(self, address: str) -> int:
        """Count a failure from `address`; how many it has made in the window."""
        now = self._clock()
        with self._lock:
            first, count = self._seen.pop(address, (now, 0))
            if now - first > WINDOW_SECONDS:
                first, count = now, 0
            self._seen[address] = (first, count + 1)
            while len(self._seen) > MAX_ADDRESSES:
                self._seen.popitem(last=False)
            return count + 1


def delay(failures: int) -> float:
    """How long the answer to the failures-th failure waits."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_SECONDS, 2.0 ** (failures - FREE_FAILURES))


def audited(failures: int) -> bool:
    """Each of the first few failures is a row of the audit log; after them, the 8th,
    16th, 32nd...: a scan leaves a handful of rows, not one per try."""
    return failures <= FREE_FAILURES or failures & (failures - 1) == 0
