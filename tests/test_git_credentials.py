"""Credentials in a git job's URL: they reach git (a real HTTP git server that demands
them) and are found nowhere but the store: not in the clone's .git/config, the run's
files or its log."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from test_git_jobs import make_remote

from conftest import binary, import_jobs, write_jobs

pytestmark = pytest.mark.real

SECRET = "can@ry-s3cret"  # '@' travels %-encoded in the URL and decoded to git


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class GitOverHttp:
    """`git http-backend` behind HTTP basic auth, serving the bare repos under root."""

    def __init__(self, root: Path, user: str, password: str):
        self.root = root
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.refused = 0
        self.server = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def app(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != self.expected:
            self.refused += 1
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi = {key: environ.get(key, "") for key in (
            "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE",
            "HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL")}
        out = subprocess.run(["git", "http-backend"], input=body, capture_output=True,
                             env={**cgi, "GIT_PROJECT_ROOT": str(self.root),
                                  "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "ada",
                                  "PATH": os.environ["PATH"]}).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        headers = [tuple(line.split(": ", 1)) for line in head.decode().split("\r\n") if line]
        status = next((v for k, v in headers if k == "Status"), "200 OK")
        start_response(status, [(k, v) for k, v in headers if k != "Status"])
        return [payload]

    def close(self) -> None:
        self.server.shutdown()


def test_url_credentials_reach_git_and_stay_out_of_every_file(tmp_path):
    bare, _ = make_remote(tmp_path)
    server = GitOverHttp(bare.parent, "ada", SECRET)
    try:
        url = f"http://ada:{SECRET.replace('@', '%40')}@127.0.0.1:{server.port}/{bare.name}"
        home = tmp_path / "home"
        import_jobs(home, tmp_path, f"""
jobs:
  - name: from-http
    git: {{url: "{url}", branch: main, subdirectory: analytics/pedalshare}}
    commands: ["dbt parse"]
""")
        for _ in range(2):  # a clone, then a fetch into it
            run = binary(home, "run", "from-http", "--wait")
            assert run.code == 0, run.out + run.err
        config = (home / "workspaces" / "from-http" / ".git" / "config").read_text()
        assert f"url = http://127.0.0.1:{server.port}/{bare.name}" in config
        leaks = [p for p in home.rglob("*") if p.is_file()
                 and not p.name.startswith("dbt-console.db") and b"s3cret" in p.read_bytes()]
        assert leaks == []
        assert "s3cret" not in binary(home, "logs", "2").out
        assert server.refused >= 1  # git asked without them first: the server did check

        # A wrong password: the run fails with git's reason, the password nowhere.
        wrong = write_jobs(tmp_path / "wrong.yml", f"""
jobs:
  - name: wrong-password
    git: {{url: "{url.replace('s3cret', 'n0pe')}", branch: main}}
    commands: ["dbt parse"]
""")
        assert binary(home, "jobs", "import", str(wrong)).code == 0
        failed = binary(home, "run", "wrong-password", "--wait")
        assert failed.code == 1 and "Authentication failed" in failed.out + failed.err
        shown = failed.out + failed.err + binary(home, "logs", "3").out
        assert "n0pe" not in shown and "ada:" not in shown
    finally:
        server.close()
