"""A stand-in for GitHub's and GitLab's REST APIs on 127.0.0.1: the calls a CI report
makes (commit statuses, open pull/merge requests of a branch, listing, creating and
editing comments), answered as the real ones answer them, with their paging (a Link
header) and their errors: 401 for a wrong token, and 500s on demand. It records every
request. The hosts themselves cannot be reached from the tests: this is the one mock."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class GitHost:
    def __init__(self, kind: str, repo: str, token: str):
        self.kind, self.repo, self.token = kind, repo, token
        self.requests: list[dict] = []
        self.statuses: list[dict] = []  # {"sha", "state", "context", "description"}
        self.pulls: dict[str, int] = {}  # open pull requests: head branch -> number
        self.comments: dict[int, list[dict]] = {}  # number -> [{"id", "body"}]
        self.fail_next: list[int] = []  # status codes to answer before answering well
        self._next_id = 1000
        self._lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                code, answer, headers = host.answer(
                    self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()})
                data = json.dumps(answer).encode()
                self.send_response(code)
                for key, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = self.url + ("/api/v4" if kind == "gitlab" else "")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def open_pull(self, branch: str, number: int, other_comments: int = 0) -> None:
        self.pulls[branch] = number
        self.comments[number] = [{"id": i + 1, "body": f"a teammate's comment {i}"}
                                 for i in range(other_comments)]

    def mine(self, number: int) -> list[dict]:
        return [c for c in self.comments.get(number, []) if "dbt-console" in c["body"]]

    def answer(self, method: str, path: str, body, headers: dict) -> tuple[int, object, dict]:
        """(status code, JSON answer, headers); `headers` have lower-case names."""
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append({"method": method, "path": parts.path, "query": query,
                                  "body": body, "headers": headers})
            if self.fail_next:
                return self.fail_next.pop(0), {"message": "Server Error"}, {}
            if not self._authorized(headers):
                return 401, {"message": "Bad credentials" if self.kind == "github"
                             else "401 Unauthorized"}, {}
            route = self._github if self.kind == "github" else self._gitlab
            return route(method, parts.path, query, body)

    def _authorized(self, headers: dict) -> bool:
        if self.kind == "github":
            return headers.get("authorization") == f"Bearer {self.token}"
        return headers.get("private-token") == self.token

    def _github(self, method, path, query, body):
        prefix = f"/repos/{self.repo}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        rest = path[len(prefix):].split("/")[1:]
        if method == "POST" and rest[0] == "statuses":
            return self._status(rest[1], body["state"], body["context"], body)
        if method == "GET" and rest == ["pulls"]:
            owner, _, branch = query.get("head", "").partition(":")
            found = [{"number": n} for b, n in self.pulls.items()
                     if b == branch and owner == self.repo.split("/")[0]]
            return 200, found, {}
        if rest[:1] == ["issues"] and rest[2:] == ["comments"]:
            return self._comments(method, int(rest[1]), query, body, path)
        if method == "PATCH" and rest[:2] == ["issues", "comments"]:
            return self._edit(int(rest[2]), body)
        return 404, {"message": "Not Found"}, {}

    def _gitlab(self, method, path, query, body):
        prefix = f"/api/v4/projects/{self.repo.replace('/', '%2F')}"
        if not path.startswith(prefix):
            return 404, {"message": "404 Project Not Found"}, {}
        rest = [unquote(p) for p in path[len(prefix):].split("/")[1:]]
        if method == "POST" and rest[0] == "statuses":
            return self._status(rest[1], body["state"], body["name"], body)
        if method == "GET" and rest == ["merge_requests"]:
            found = [{"iid": n} for b, n in self.pulls.items()
                     if b == query.get("source_branch") and query.get("state") == "opened"]
            return 200, found, {}
        if rest[:1] == ["merge_requests"] and rest[2:] == ["notes"]:
            return self._comments(method, int(rest[1]), query, body, path)
        if method == "PUT" and rest[:1] == ["merge_requests"] and rest[2:3] == ["notes"]:
            return self._edit(int(rest[3]), body)
        return 404, {"message": "404 Not Found"}, {}

    def _status(self, sha, state, context, body):
        self.statuses.append({"sha": sha, "state": state, "context": context,
                              "description": body.get("description", "")})
        return 201, {"id": len(self.statuses), "state": state}, {}

    def _comments(self, method, number, query, body, path):
        if number not in self.comments:
            return 404, {"message": "Not Found"}, {}
        if method == "POST":
            self._next_id += 1
            self.comments[number].append({"id": self._next_id, "body": body["body"]})
            return 201, self.comments[number][-1], {}
        per_page, page = int(query.get("per_page", 20)), int(query.get("page", 1))
        items = self.comments[number][(page - 1) * per_page:page * per_page]
        headers = {}
        if page * per_page < len(self.comments[number]):
            headers["Link"] = f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return 200, items, headers

    def _edit(self, comment_id, body):
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    comment["body"] = body["body"]
                    return 200, comment, {}
        return 404, {"message": "Not Found"}, {}
