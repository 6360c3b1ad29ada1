"""systemd's notify protocol, for `Type=notify` and `WatchdogSec=` in the unit: READY=1
once serve holds the store, WATCHDOG=1 from the engine's loop, so a loop that stops
ticking gets serve restarted. A datagram to $NOTIFY_SOCKET; nothing without it."""

from __future__ import annotations

import os
import socket
import time


class Watchdog:
    def __init__(self):
        self.address = os.environ.get("NOTIFY_SOCKET") or None
        usec = os.environ.get("WATCHDOG_USEC", "")
        # Ping at half the interval systemd allows, as sd_watchdog_enabled() advises.
        self.every = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._last = 0.0
        self._ready = False  # pings start once serve said it is ready

    def _send(self, message: str) -> None:
        if self.address is None:
            return
        address = self.address
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), address)
            except OSError:
                pass  # systemd gone or not listening: nothing to tell

    def ready(self) -> None:
        self._send("READY=1")
        self._ready = True

    def tick(self) -> None:
        if self._ready and self.every is not None and time.monotonic() - self._last >= (
                self.every):
            self._last = time.monotonic()
            self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")
