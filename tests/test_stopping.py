"""The signals a stopping dbt gets, in time (engine/stopping.py): repeats of SIGINT end a
dbt that runs on, and never land while dbt is cancelling its queries. The clock is given;
dbt's start of a cancel is its run_results.json being rewritten, as dbt does."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from dbt_console.engine.launcher import SubprocessLauncher, restore_default_sigint
from dbt_console.engine.stopping import Escalation

pytestmark = pytest.mark.real

INT, TERM, KILL = signal.SIGINT, signal.SIGTERM, signal.SIGKILL


def sent(escalation: Escalation, times: list[float]) -> list:
    return [(t, s) for t in times if (s := escalation.due(t)) is not None]


def test_dbt_that_ignores_the_first_sigint_gets_repeats_then_sigterm(tmp_path):
    stop = Escalation(tmp_path / "run_results.json", began=100.0)
    ticks = [100 + t / 10 for t in range(0, 200)]
    assert sent(stop, ticks) == [(100.0, INT), (102.0, INT), (105.0, INT), (110.0, TERM),
                                 (115.0, KILL)]


def test_no_repeat_while_dbt_cancels_its_queries(tmp_path):
    results = tmp_path / "run_results.json"
    results.write_text("{}")
    os.utime(results, ns=(1, 1))  # a step before the stop wrote it
    stop = Escalation(results, began=100.0)
    assert stop.due(100.0) is INT
    results.write_text('{"results": []}')  # dbt began its cancel
    assert stop.cancelling()
    assert [stop.due(t) for t in (102.0, 103.0, 104.9)] == [None, None, None]
    stop.cancel_reported = True  # "CANCEL query ..." came: the cancel is done
    assert not stop.cancelling()
    assert stop.due(105.0) is INT  # dbt still runs after its cancel: the next repeat goes


def test_sigterm_comes_even_when_the_cancel_never_ends(tmp_path):
    results = tmp_path / "run_results.json"
    stop = Escalation(results, began=0.0)
    assert stop.due(0.0) is INT
    results.write_text("{}")  # begun, and no query ever reported cancelled
    assert sent(stop, [2.0, 5.0, 9.9, 10.0, 14.0, 15.0]) == [(10.0, TERM), (15.0, KILL)]


def test_dbt_started_from_a_process_that_ignores_sigint_still_gets_it(tmp_path):
    """A script's `cmd &` (a CI runner, a cron wrapper) starts us with SIGINT ignored, and
    a child inherits that: a cold dbt then shrugged off every cancel until SIGTERM, and the
    warehouse's query outlived it (issue 21's cold timeout, in CI). The commands that
    start an engine give SIGINT back first; making a launcher changes nothing."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        launcher = SubprocessLauncher()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # no side effect
        restore_default_sigint()  # what serve and run --wait do first
        proc = launcher.start(
            [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT))"],
            tmp_path, {"PATH": os.environ.get("PATH", "")})
        said = b""
        while chunk := os.read(proc.stdout_fd(), 4096):
            said += chunk
        assert proc.wait(30) == 0
    finally:
        signal.signal(signal.SIGINT, before)
    assert b"default_int_handler" in said, said  # not SIG_IGN (printed as 1)
