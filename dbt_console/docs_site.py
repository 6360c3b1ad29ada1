"""Serving a run's dbt docs (actions/docs.py finds the run that has them).

Only the three files the docs site needs are kept and served. dbt's own `docs serve`
serves the whole target directory, compiled SQL and run results included; on a shared
production box that is more than a docs reader should see.
"""

from __future__ import annotations

import http.server
import socketserver
from functools import partial
from pathlib import Path

from dbt_console.errors import UserError
from dbt_console.rundir import DOCS_FILES


class _DocsHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?", 1)[0].lstrip("/") not in ("", *DOCS_FILES):
            self.send_error(404, "only the docs site is served here")
            return
        super().do_GET()

    do_HEAD = do_GET

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's name
        pass  # a docs reader's every request is no news


class DocsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def how_to_reach(port: int) -> tuple[str, str]:
    """The URL on this machine, and the ssh line that brings it to a laptop."""
    import getpass
    import socket

    url = f"http://127.0.0.1:{port}/"
    return url, (f"ssh -L {port}:127.0.0.1:{port} {getpass.getuser()}@{socket.getfqdn()}"
                 f"   then open {url}")


def docs_server(directory: Path, port: int, host: str = "127.0.0.1") -> DocsServer:
    """A server for one run's docs on host:port (0: any free port), not yet serving."""
    try:
        return DocsServer((host, port), partial(_DocsHandler, directory=str(directory)))
    except OSError as exc:
        raise UserError(f"cannot serve docs on {host}:{port}: {exc.strerror or exc} "
                        "(choose another with --port)") from None
