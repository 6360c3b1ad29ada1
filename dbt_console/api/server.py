"""Serving the API beside the engine: uvicorn in a child process of `dbt-console serve`,
on a socket serve binds first (a taken port fails before the engine starts)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time

from dbt_console.config import Paths
from dbt_console.errors import UserError

START_SECONDS = 15.0


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT, [v6]:PORT or PORT alone (on 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        raise UserError(f"--api {text!r}: give HOST:PORT (e.g. 127.0.0.1:8765) or a port")
    return host or "127.0.0.1", int(port)


class ApiServer:
    def __init__(self, paths: Paths, account_id: int, address: str,
                 cert: str | None = None, key: str | None = None, metrics_only: bool = False):
        try:
            import starlette  # noqa: F401 - only checked here; the worker imports them
            import uvicorn  # noqa: F401
        except ImportError as exc:
            raise UserError(f"the API needs the api extra: pip install 'dbt-console[api]' "
                            f"({exc.name} is missing)") from None
        if bool(cert) != bool(key):
            raise UserError("--tls-cert and --tls-key go together: give both, or neither")
        if cert:
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                raise UserError(f"--tls-cert {cert} / --tls-key {key}: cannot load them: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
        host, port = parse_address(address)
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            # proto given, not 0: asyncio sets TCP_NODELAY on accepted connections only
            # when it is IPPROTO_TCP; without it each response waits ~40 ms for an ACK.
            self.sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.sock.listen(128)
        except OSError as exc:
            raise UserError(f"cannot serve the API on {host}:{port}: "
                            f"{exc.strerror or exc}") from None
        self.port = self.sock.getsockname()[1]
        # Runs' href links point here; a wildcard address is reached by the host's name.
        named = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
        root = f"{'https' if cert else 'http'}://{named}:{self.port}"
        self.url = f"{root}/metrics" if metrics_only else f"{root}/api/v2/accounts/{account_id}/"
        # Its own process: the engine's log pumps keep a core busy while dbt talks, and
        # polls answered from the same interpreter would wait on its lock.
        self.argv = [sys.executable, "-m", "dbt_console.api.worker", str(paths.data_dir),
                     str(paths.config_dir), str(account_id), str(self.sock.fileno()),
                     cert or "", key or "", self.url, *(["metrics"] if metrics_only else [])]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, pass_fds=[self.sock.fileno()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + START_SECONDS
        ready = self.proc.stdout.readline()  # "ready", or nothing when it died
        if ready.strip() != "ready" or time.monotonic() > deadline:
            self.stop()
            raise UserError(f"the API did not start on {self.url}: see the lines above")
        self.sock.close()  # the worker holds its own copy

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()
