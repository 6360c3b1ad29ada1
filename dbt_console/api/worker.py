"""The API's process: uvicorn on the socket `dbt-console serve --api` bound for it.

    python -m dbt_console.api.worker DATA_DIR CONFIG_DIR ACCOUNT_ID FD CERT KEY URL [metrics]

It prints "ready" once serving, and stops when serve stops it or when serve is gone (its
stdin, a pipe from serve, reaches end of file), so it never outlives the engine.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import uvicorn

from dbt_console.api.app import build_app
from dbt_console.config import Paths


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        print("ready", flush=True)


def main() -> None:
    data_dir, config_dir, account, fd, cert, key, url = sys.argv[1:8]
    paths = Paths(data_dir=Path(data_dir), config_dir=Path(config_dir))
    app = build_app(paths, int(account), metrics_only=sys.argv[8:9] == ["metrics"], url=url)
    config = uvicorn.Config(app, ssl_certfile=cert or None,
                            ssl_keyfile=key or None, log_level="warning", access_log=False,
                            lifespan="off")
    server = _Server(config)

    def watch_parent() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=watch_parent, daemon=True).start()
    server.run(sockets=[socket.socket(fileno=int(fd))])


if __name__ == "__main__":
    main()
