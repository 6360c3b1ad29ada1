"""What a CI run tells the git host: the commit status (state and a line under 140
characters) and the pull request's comment, in Markdown GitHub and GitLab both render.
Pure: no I/O (engine/notify/gitreport.py sends it)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from dbt_console.ci.compare import ModelDiff, cells, differing_words
from dbt_console.humanize import node_name
from dbt_console.model import FAILED_NODE, NodeResult, Run, RunStatus

DESCRIPTION_CHARS = 140
COMMENT_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
NODES_LISTED = 200
PASSED = ("success", "pass")


def context(job_name: str) -> str:
    return f"dbt-console/{job_name}"


def marker(job_name: str) -> str:
    """Hidden in the comment, so the next run finds and edits it instead of adding one."""
    return f"<!-- dbt-console ci report: {job_name} -->"


def state(run: Run, nodes: list[NodeResult]) -> str:
    """GitHub's words (gitreport maps them to GitLab's): failure when nodes failed,
    error when dbt could not run or the run was cancelled."""
    if not run.status.finished:
        return "pending"
    if run.status is RunStatus.SUCCESS:
        return "success"
    if run.status is RunStatus.ERROR and any(n.status in FAILED_NODE for n in nodes):
        return "failure"
    return "error"


def description(run: Run, nodes: list[NodeResult], diffs: list[ModelDiff]) -> str:
    if run.status is RunStatus.QUEUED:
        text = "queued"
    elif not run.status.finished:
        text = "running"
    elif run.status is RunStatus.CANCELLED:
        text = run.error or "cancelled"
    else:
        text = _outcome(nodes) or run.error or run.status.value
        if run.status is RunStatus.ERROR and run.error and not _failed(nodes):
            text = run.error
        changed = sum(d.differs for d in diffs)
        if changed:
            text += f"; {differing_words(changed)} from production"
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS - 1] + "…"


def _failed(nodes: list[NodeResult]) -> list[NodeResult]:
    return [n for n in _last(nodes) if n.status in FAILED_NODE]


def _last(nodes: list[NodeResult]) -> list[NodeResult]:
    """Each node once, as its last step left it."""
    return list({n.unique_id: n for n in nodes}.values())


def _outcome(nodes: list[NodeResult]) -> str:
    last = _last(nodes)
    counts = Counter("passed" if n.status in PASSED else "failed" if n.status in FAILED_NODE
                     else "warned" if n.status == "warn" else "skipped" for n in last)
    words = ", ".join(f"{counts[w]} {w}" for w in ("passed", "failed", "warned", "skipped")
                      if counts[w])
    failed = _failed(nodes)
    if failed:
        words += ": " + ", ".join(node_name(n.unique_id) for n in failed[:3])
    return words


def payload(job_name: str, run: Run, nodes: list[NodeResult], diffs: list[ModelDiff],
            compared_with: int | None) -> dict[str, Any]:
    """A report delivery's body: the status, and once the run ended, the comment."""
    return {
        "sha": run.git_sha, "branch": run.git_branch, "context": context(job_name),
        "state": state(run, nodes), "description": description(run, nodes, diffs),
        "marker": marker(job_name),
        "comment": comment(job_name, run, nodes, diffs, compared_with)
        if run.status.finished else None,
    }


def comment(job_name: str, run: Run, nodes: list[NodeResult], diffs: list[ModelDiff],
            compared_with: int | None) -> str:
    icon = {"success": "✅", "failure": "❌"}.get(state(run, nodes), "⚠️")
    lines = [marker(job_name),
             f"### {icon} dbt-console CI `{job_name}`: {run.status.value}",
             f"Run {run.id} of `{run.git_branch}` at `{(run.git_sha or '')[:12]}`: "
             f"{description(run, nodes, diffs)}. Full log: `dbt-console logs {run.id}`", ""]
    if run.error and run.status is not RunStatus.SUCCESS:
        lines += [f"> {run.error}", ""]
    lines += _failures(nodes) + _compare(diffs, compared_with) + _built(nodes)
    text = "\n".join(lines)
    return text if len(text) <= COMMENT_CHARS else text[:COMMENT_CHARS] + "\n\n… (cut)"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")[:300]


def _failures(nodes: list[NodeResult]) -> list[str]:
    failed = _failed(nodes)
    if not failed:
        return []
    rows = [f"| `{node_name(n.unique_id)}` | {n.status} | {_cell(n.message)} |" for n in failed]
    return ["#### Failures", "| node | status | message |", "|---|---|---|", *rows, ""]


def _compare(diffs: list[ModelDiff], compared_with: int | None) -> list[str]:
    if compared_with is None:
        return []
    head = f"#### Compare changes with production (run {compared_with})"
    if not diffs:
        return [head, "No modified model was built.", ""]
    rows = []
    for d in diffs:
        rows_cell, columns, keyed = cells(d)
        rows.append(f"| `{d.name}` | {rows_cell} | {_cell(columns)} | {_cell(keyed)} |")
    return [head, "| model | rows (production → branch) | columns | rows by key |",
            "|---|---|---|---|", *rows, ""]


def _built(nodes: list[NodeResult]) -> list[str]:
    last = _last(nodes)
    if not last:
        return []
    kinds = Counter(n.resource_type or "node" for n in last)
    summary = ", ".join(f"{n} {kind}{'s' * (n != 1)}" for kind, n in sorted(kinds.items()))
    rows = [f"| `{node_name(n.unique_id)}` | {n.resource_type} | {n.status} |"
            for n in last[:NODES_LISTED]]
    more = [f"… and {len(last) - NODES_LISTED} more"] if len(last) > NODES_LISTED else []
    return [f"<details><summary>Built: {summary}</summary>", "",
            "| node | type | status |", "|---|---|---|", *rows, *more, "", "</details>"]


def body_of(delivery) -> dict:
    """What a report delivery carries (its state, sha...), or {} for an unreadable one."""
    try:
        return json.loads(delivery.request_body)
    except ValueError:
        return {}


def reported(delivery) -> str:
    """A report delivery in a few words: the state it carries, and whether it got there."""
    state = body_of(delivery).get("state", "?")
    return state if delivery.status == "delivered" else f"{state} ({delivery.status})"
