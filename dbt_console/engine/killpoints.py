"""Named moments at which a test may kill the engine with kill -9 (DBT_CONSOLE_KILL_AT=NAME
in its environment): windows a few milliseconds wide, which no condition on the store can
catch from outside. Unset, as it always is outside the tests, each is one dict lookup."""

from __future__ import annotations

import os
import signal

RUN_ENDED = "run-ended"  # the run's end and its effects committed; nothing after done
DELIVERY_ANSWERED = "delivery-answered"  # a receiver said 2xx; not recorded yet


def reach(name: str) -> None:
    if os.environ.get("DBT_CONSOLE_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
