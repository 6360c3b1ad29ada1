"""A run's dbt docs: where they are kept, which run has them, and serving them.

Only the three files the docs site needs are kept and served. dbt's own `docs serve`
serves the whole target directory, compiled SQL and run results included; on a shared
production box that is more than a docs reader should see.
"""

from __future__ import annotations

import http.server
import socketserver
from functools import partial
from pathlib import Path

from dbt_console.errors import NotFound, UserError
from dbt_console.model import Run
from dbt_console.store import Store

DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
# How many of a job's newest runs are looked through for the latest docs.
SEARCH_RUNS = 500


def docs_dir(run_dir: Path | str) -> Path:
    return Path(run_dir) / "docs"


def has_docs(run: Run) -> bool:
    return bool(run.run_dir) and all((docs_dir(run.run_dir) / f).is_file() for f in DOCS_FILES)


def find_docs(store: Store, job_name: str, run_id: int | None = None) -> Run:
    """The run whose docs to serve: the given one, else the job's newest run with docs.
    A UserError says how to get docs when there are none."""
    job = store.get_job(job_name)
    if run_id is not None:
        run = store.get_run(run_id)
        if run.job_name != job.name:
            raise UserError(f"run {run_id} is a run of {run.job_name}, not of {job.name}")
        if not has_docs(run):
            raise NotFound(f"run {run_id} of {job.name} has no docs" + (
                "" if job.generate_docs else f": set generate_docs: true on {job.name}"))
        return run
    for run in store.list_runs(job.name, limit=SEARCH_RUNS):
        if has_docs(run):
            return run
    if not job.generate_docs:
        raise NotFound(f"{job.name} has no docs: set generate_docs: true on the job (its "
                       "runs then end with dbt docs generate), then run it")
    raise NotFound(f"{job.name} has no run with docs yet: run it (dbt-console run "
                   f"{job.name} --wait)")


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
