"""One attempt at a CI report: the commit status, then (once the run ended) the pull
request's comment, created the first time and edited after. GitHub and GitLab differ only
in paths, words and the token's header; each is a _Host.

Every request is safe to repeat, so a retried delivery does it all again: the status is
set (not added), and the comment is found again by its hidden marker."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from dbt_console.ci import ReportSpec
from dbt_console.engine.notify.send import (
    RESPONSE_CHARS,
    TIMEOUT_SECONDS,
    Attempt,
    MissingSecret,
    resolve,
)

MAX_PAGES = 20  # comments are listed 100 a page: a pull request with 2,000 is rare


class HostError(Exception):
    def __init__(self, what: str, response: httpx.Response):
        super().__init__(f"{what} → {response.status_code}")
        self.response = response


@dataclass(frozen=True)
class _Host:
    statuses: str  # path of the sha's statuses
    pulls: str  # open pull requests of a branch: path, with the branch in the query
    comments: str  # a pull request's comments (number filled in)
    comment: str  # one comment (number and id filled in)
    edit_method: str
    states: dict[str, str]
    status_body: Callable[[str, str, str], dict]  # context, state, description
    auth: Callable[[str], dict[str, str]]  # the token -> headers


GITHUB = _Host("/repos/{repo}/statuses/{sha}", "/repos/{repo}/pulls",
               "/repos/{repo}/issues/{number}/comments",
               "/repos/{repo}/issues/comments/{id}", "PATCH",
               {"pending": "pending", "success": "success", "failure": "failure",
                "error": "error"},
               lambda ctx, st, text: {"state": st, "context": ctx, "description": text},
               lambda token: {"Authorization": f"Bearer {token}",
                              "Accept": "application/vnd.github+json",
                              "X-GitHub-Api-Version": "2022-11-28"})
GITLAB = _Host("/projects/{repo}/statuses/{sha}", "/projects/{repo}/merge_requests",
               "/projects/{repo}/merge_requests/{number}/notes",
               "/projects/{repo}/merge_requests/{number}/notes/{id}", "PUT",
               {"pending": "pending", "success": "success", "failure": "failed",
                "error": "failed"},
               lambda ctx, st, text: {"state": st, "name": ctx, "description": text},
               lambda token: {"PRIVATE-TOKEN": token})
HOSTS = {"github": GITHUB, "gitlab": GITLAB}


def masked_target(spec: ReportSpec) -> str:
    """Where it goes, for lists beside the kind (github, gitlab): the repository."""
    return spec.repo


def attempt(spec: ReportSpec, body: str) -> Attempt:
    report = json.loads(body)
    host = HOSTS[spec.type]
    try:
        headers = host.auth(resolve(spec.token))
    except MissingSecret as exc:
        return Attempt(False, None, f"{spec.type} {spec.repo}: token: {exc}", None)
    # GitLab names a project by its id or its URL-encoded path.
    repo = quote(spec.repo, safe="") if spec.type == "gitlab" else spec.repo
    try:
        with httpx.Client(base_url=spec.base_url, headers=headers,
                          timeout=TIMEOUT_SECONDS) as client:
            said = _status(client, host, repo, report)
            if report.get("comment"):
                said += "; " + _comment(client, host, spec.type, repo, report)
    except HostError as exc:
        return Attempt(False, exc.response.status_code, f"{spec.type} {spec.repo}: {exc}",
                       exc.response.text[:RESPONSE_CHARS])
    except httpx.HTTPError as exc:
        return Attempt(False, None, f"{spec.type} {spec.repo}: {type(exc).__name__}", None)
    return Attempt(True, 200, None, said)


def _checked(response: httpx.Response, what: str) -> httpx.Response:
    if not 200 <= response.status_code < 300:
        raise HostError(what, response)
    return response


def _status(client: httpx.Client, host: _Host, repo: str, report: dict) -> str:
    path = host.statuses.format(repo=repo, sha=report["sha"])
    state = host.states[report["state"]]
    _checked(client.post(path, json=host.status_body(report["context"], state,
                                                     report["description"])),
             f"POST {path}")
    return f"status {state} on {report['sha'][:12]}"


def _comment(client: httpx.Client, host: _Host, kind: str, repo: str, report: dict) -> str:
    number = _open_pull(client, host, kind, repo, report["branch"])
    if number is None:
        return f"no open pull request for {report['branch']}: status only"
    path = host.comments.format(repo=repo, number=number)
    mine = _find_comment(client, path, report["marker"])
    if mine is None:
        _checked(client.post(path, json={"body": report["comment"]}), f"POST {path}")
        return f"comment added to #{number}"
    edit = host.comment.format(repo=repo, number=number, id=mine)
    _checked(client.request(host.edit_method, edit, json={"body": report["comment"]}),
             f"{host.edit_method} {edit}")
    return f"comment {mine} on #{number} edited"


def _open_pull(client: httpx.Client, host: _Host, kind: str, repo: str,
               branch: str) -> int | None:
    path = host.pulls.format(repo=repo)
    if kind == "gitlab":
        params = {"source_branch": branch, "state": "opened"}
    else:  # GitHub wants owner:branch; a fork's pull request has another owner
        params = {"head": f"{repo.split('/')[0]}:{branch}", "state": "open"}
    found = _checked(client.get(path, params=params), f"GET {path}").json()
    if not found:
        return None
    return found[0]["iid" if kind == "gitlab" else "number"]


def _find_comment(client: httpx.Client, path: str, marker: str) -> int | None:
    url: str | None = path
    params: dict | None = {"per_page": 100}
    for _ in range(MAX_PAGES):
        if url is None:
            break
        response = _checked(client.get(url, params=params), f"GET {path}")
        for item in response.json():
            if marker in (item.get("body") or ""):
                return item["id"]
        url, params = response.links.get("next", {}).get("url"), None
    return None
