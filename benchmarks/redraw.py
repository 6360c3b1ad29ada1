"""What the dashboard sends down an SSH link (issue 22): the bytes the real app writes to
a real pseudo-terminal, at 80x24 and 200x50.

    python benchmarks/redraw.py [--seconds 10]

1. streaming a run (a fake dbt writes 40 lines/s of ~90 characters), following the log:
   bytes sent / the log's own bytes                     target <= 3x (+ a small constant)
2. idle, nothing changing: the jobs screen, a finished run's screen    target <= 200 B/s
3. over a slow link (200 ms round trip, 512 kbit/s) while a run streams: a key pressed
   (`g`: the log's top, `?`: help, `esc`) to the first bytes of its answer on screen
                                                            target <= round trip + 50 ms
4. `q` on the jobs screen to the process gone (the shell's prompt back)  target <= 0.5 s
The benchmark holds the store's lease itself (no engine: the run is written here).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from dbt_console.config import resolve_paths
from dbt_console.engine.lease import LEASE_TTL_SECONDS, holder_is_dead
from dbt_console.model import Job, RunStatus, Trigger
from dbt_console.store import Lease, Store
from dbt_console.tools.pty_terminal import PtyTerminal

LINES_PER_SECOND = 40
ROUND_TRIP, LINK_BYTES_PER_SECOND = 0.2, 512_000 / 8


class FakeRun:
    """A job, its run claimed and written to here (as an engine would), and the lease held
    so that the dashboard starts no engine of its own."""

    def __init__(self, home: Path):
        os.environ["DBT_CONSOLE_HOME"] = str(home)
        self.paths = resolve_paths()
        self.store = Store(self.paths.store)
        self.store.save_jobs([Job(name="big", commands=("dbt build",), project_dir="/srv")])
        self.run_id = self.store.enqueue_run(self.store.get_job("big"), Trigger.manual(),
                                             "bench").id
        self.store.claim_run(self.run_id)
        self.store.start_step(self.run_id, 1, "dbt build")
        lease = Lease(socket.gethostname(), os.getpid(), uuid.uuid4().hex, "bench",
                      time.time(), time.time())
        assert self.store.acquire_lease(lease, LEASE_TTL_SECONDS, holder_is_dead) is None
        self.token, self.seq, self.log_bytes = lease.token, 0, 0
        self.stop = threading.Event()
        self.writing = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        with Store(self.paths.store) as store:
            beat = 0.0
            while not self.stop.is_set():
                if time.monotonic() - beat > 2:
                    beat = time.monotonic()
                    store.heartbeat(self.token)
                if self.writing.is_set():
                    self._write(store)
                time.sleep(1 / LINES_PER_SECOND)

    def _write(self, store: Store) -> None:
        i = self.seq
        node = f"model.shop.fct_orders_{i:07d}"
        msg = (f"{i:07d} of 9999 OK created sql table model analytics.fct_orders_{i:07d} "
               f"..... [OK in 0.{i % 10}s]")
        store.append_log(self.run_id, i, [("2026-12-02T02:00:00.000000Z", "info", 1,
                                           "LogModelResult", node, "success", msg)],
                         {"step": 1, "done": i, "total": 9999, "failed": 0, "running": []})
        self.log_bytes += len(msg) + 19  # as `dbt-console logs` prints it
        self.seq += 1

    def finish(self) -> None:
        self.writing.clear()
        self.store.finish_run(self.run_id, RunStatus.SUCCESS)

    def close(self) -> None:
        self.stop.set()
        self.store.close()


def dashboard(size, **link) -> PtyTerminal:
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor",
           "XDG_CONFIG_HOME": os.environ["DBT_CONSOLE_HOME"]}
    return PtyTerminal([sys.executable, "-m", "dbt_console"], env, size=size, **link)


def streaming(size, seconds: float) -> tuple[float, float, float, float]:
    """(app B/s, log B/s) while streaming, then idle B/s on the finished run, and on jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        run = FakeRun(Path(tmp))
        try:
            with dashboard(size) as term:
                term.wait_for(b"Quit")
                term.key("enter")  # the job's latest run: ours
                term.wait_for(b"Follow")
                run.writing.set()
                time.sleep(2)  # past the screen's first paint
                start, log_start = time.monotonic(), run.log_bytes
                time.sleep(seconds)
                end, log_end = time.monotonic(), run.log_bytes
                sent = term.bytes_between(start, end)
                run.finish()
                term.quiet_for(5)  # the frames the link's budget held back, then the end
                idle_run = idle(term, seconds)
                since = len(term.output())
                term.key("escape")
                term.wait_for(b"next fire", since=since)
                term.quiet_for(2)
                idle_jobs = idle(term, seconds)
                term.key("q")
        finally:
            run.close()
    return sent / (end - start), (log_end - log_start) / (end - start), idle_run, idle_jobs


def idle(term: PtyTerminal, seconds: float) -> float:
    start = time.monotonic()
    time.sleep(seconds)
    return term.bytes_between(start, time.monotonic()) / seconds


def answered(term: PtyTerminal, key: str, pattern: bytes) -> float:
    """Seconds from pressing `key` to the arrival of the bytes that show `pattern`."""
    pressed = time.monotonic()
    offset = len(term.output())
    term.key(key)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with term._lock:
            chunks = list(term.received)
        position, at = 0, None
        for arrived, chunk in chunks:
            position += len(chunk)
            if position > offset and pattern in b"".join(c for _, c in chunks)[offset:position]:
                at = arrived
                break
        if at is not None and at <= time.monotonic():
            return at - pressed
        time.sleep(0.01)
    raise TimeoutError(f"{pattern!r} never came after {key!r}")


def slow_link(size, rounds: int) -> dict[str, list[float]]:
    """Keys over a 200 ms, 512 kbit/s link while a run streams."""
    times: dict[str, list[float]] = {"g": [], "?": [], "esc": []}
    with tempfile.TemporaryDirectory() as tmp:
        run = FakeRun(Path(tmp))
        try:
            with dashboard(size, round_trip=ROUND_TRIP,
                           bytes_per_second=LINK_BYTES_PER_SECOND) as term:
                term.wait_for(b"Quit")
                run.writing.set()
                for _ in range(rounds):
                    since = len(term.output())
                    term.key("enter")
                    term.wait_for(b"Follow", since=since)
                    time.sleep(3)  # streaming for a while: whatever backlog builds, builds
                    times["g"].append(answered(term, "g", b"0000000 of"))
                    term.key("G")
                    time.sleep(3)
                    times["?"].append(answered(term, "?", b"Keys: "))
                    term.key("escape")
                    time.sleep(3)
                    times["esc"].append(answered(term, "escape", b"next fire"))
                    time.sleep(2)
                term.key("q")
        finally:
            run.close()
    return times


def quitting(rounds: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        run = FakeRun(Path(tmp))
        try:
            for _ in range(rounds):
                with dashboard((80, 24)) as term:
                    term.wait_for(b"Quit")
                    term.quiet_for(1)
                    pressed = term.key("q")
                    term.proc.wait(30)
                    times.append(time.monotonic() - pressed)
        finally:
            run.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for size in ((80, 24), (200, 50)):
        app, log, idle_run, idle_jobs = streaming(size, args.seconds)
        print(f"{size[0]}x{size[1]} streaming: {app / 1000:.1f} KB/s sent for "
              f"{log / 1000:.1f} KB/s of log = {app / log:.2f}x   (target <= 3x)")
        print(f"{size[0]}x{size[1]} idle: finished run {idle_run:.0f} B/s, jobs "
              f"{idle_jobs:.0f} B/s   (target <= 200 B/s)")
    for size in ((80, 24), (200, 50)):
        times = slow_link(size, args.rounds)
        words = ", ".join(f"{k} median {statistics.median(v) * 1000:.0f} ms (max "
                          f"{max(v) * 1000:.0f})" for k, v in times.items())
        print(f"{size[0]}x{size[1]} over {ROUND_TRIP * 1000:.0f} ms / 512 kbit/s: {words}   "
              f"(target <= {(ROUND_TRIP + 0.05) * 1000:.0f} ms)")
    times = quitting(max(3, args.rounds))
    print(f"quit: q to the process gone, median {statistics.median(times) * 1000:.0f} ms "
          f"(max {max(times) * 1000:.0f})   (target <= 500 ms)")


if __name__ == "__main__":
    main()
