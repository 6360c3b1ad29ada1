"""The real dashboard in a pseudo-terminal, for tests and benchmarks that need what a user's
terminal receives: every byte the app writes (with when it arrived), keys sent as a
terminal sends them, and optionally a slow link between the two (a round trip and a
bandwidth, as over SSH from far away).

    with PtyTerminal(["dbt-console"], env, size=(80, 24)) as term:
        term.wait_for(b"Quit")
        term.key("q")
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Mapping, Sequence

KEYS = {"enter": b"\r", "escape": b"\x1b", "down": b"\x1b[B", "up": b"\x1b[A",
        "end": b"\x1b[F", "home": b"\x1b[H", "tab": b"\t"}


class PtyTerminal:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], size=(80, 24),
                 round_trip: float = 0.0, bytes_per_second: float | None = None):
        self.size = size
        self.round_trip = round_trip
        self.rate = bytes_per_second
        self._master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.proc = subprocess.Popen(
            list(argv), env=dict(env), stdin=slave, stdout=slave, stderr=slave,
            preexec_fn=lambda: os.login_tty(0), close_fds=True)  # our own tty
        os.close(slave)
        self.received: list[tuple[float, bytes]] = []  # (arrived at, bytes), in order
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> PtyTerminal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self) -> None:
        """Read what the app writes; on a slow link, no faster than the bandwidth (the
        app's writes then wait, as they do behind a slow SSH connection), each chunk
        arriving half a round trip later."""
        budget_at = time.monotonic()
        while True:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    if self.proc.poll() is not None:
                        return
                    continue
                # On a slow link small reads, so that each byte's arrival is its own
                # (a 4 KB read at 64 KB/s would date its first byte 60 ms late).
                chunk = os.read(self._master, 256 if self.rate else 4096)
            except OSError:
                return
            if not chunk:
                return
            now = time.monotonic()
            if self.rate:
                budget_at = max(budget_at, now) + len(chunk) / self.rate
                time.sleep(max(0.0, budget_at - now))
                now = budget_at
            with self._lock:
                self.received.append((now + self.round_trip / 2, chunk))

    def key(self, *keys: str) -> float:
        """Send keys (names in KEYS, else the characters); returns when they reach the app
        (half a round trip after now)."""
        data = b"".join(KEYS.get(k, k.encode()) for k in keys)
        if self.round_trip:
            time.sleep(self.round_trip / 2)
        os.write(self._master, data)
        return time.monotonic()

    def bytes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(len(b) for at, b in self.received if start <= at < end)

    def output(self) -> bytes:
        with self._lock:
            return b"".join(b for _, b in self.received)

    def first_byte_after(self, start: float, timeout: float = 30) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                later = [at for at, _ in self.received if at > start]
            if later and later[0] <= time.monotonic():
                return later[0]
            time.sleep(0.005)
        return None

    def wait_for(self, text: bytes, timeout: float = 60, since: int = 0) -> None:
        """Until `text` is in the output (from byte `since`: len(output()) before a key)."""
        deadline = time.monotonic() + timeout
        while text not in self.output()[since:]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not seen in {timeout:.0f}s; last output: "
                                   f"{self.output()[-400:]!r}")
            time.sleep(0.05)

    def quiet_for(self, seconds: float, timeout: float = 60) -> None:
        """Wait until nothing arrived for `seconds` (the screen settled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.received[-1][0] if self.received else 0.0
            if time.monotonic() - last >= seconds:
                return
            time.sleep(0.02)
        raise TimeoutError("the screen did not settle")

    def close(self) -> None:
        if self.proc.poll() is None:  # nothing to restore: the terminal goes with it
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        os.close(self._master)
