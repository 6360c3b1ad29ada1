"""Serving the API beside the engine: uvicorn on a thread of `dbt-console serve`."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

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
    def __init__(self, store_path: Path, account_id: int, address: str,
                 cert: str | None = None, key: str | None = None):
        try:
            import uvicorn

            from dbt_console.api.app import build_app
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
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.sock.listen(128)
        except OSError as exc:
            raise UserError(f"cannot serve the API on {host}:{port}: "
                            f"{exc.strerror or exc}") from None
        self.port = self.sock.getsockname()[1]
        self.url = f"{'https' if cert else 'http'}://{host}:{self.port}/api/v2/accounts/{account_id}/"
        config = uvicorn.Config(build_app(store_path, account_id), ssl_certfile=cert,
                                ssl_keyfile=key, log_level="warning", access_log=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="api", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise UserError(f"the API did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
