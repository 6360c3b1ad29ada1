"""The bodies hooks send. Webhooks use dbt Cloud's webhook shape, so receivers written for
it work unchanged; Slack gets Block Kit; PagerDuty Events API v2. Pure: no I/O."""

from __future__ import annotations

import socket
import uuid
from datetime import datetime, timezone
from typing import Any

from dbt_console.model import Hook, Run, RunStatus

MESSAGE_CHARS = 500
FAILED_NODES = 20
# dbt Cloud's run status codes and words.
STATUS_CODE = {RunStatus.QUEUED: 1, RunStatus.STARTING: 2, RunStatus.RUNNING: 3,
               RunStatus.SUCCESS: 10, RunStatus.ERROR: 20, RunStatus.CANCELLED: 30}
STATUS_WORD = {RunStatus.SUCCESS: "Success", RunStatus.ERROR: "Errored",
               RunStatus.CANCELLED: "Cancelled"}
EVENT_TYPE = {"started": "job.run.started", "succeeded": "job.run.completed",
              "warned": "job.run.completed", "errored": "job.run.errored",
              "cancelled": "job.run.cancelled"}


def event_of(run: Run, counts: dict[str, int]) -> str | None:
    """The hook event a run's status is, or None for statuses hooks do not hear."""
    if run.status is RunStatus.RUNNING:
        return "started"
    if run.status is RunStatus.SUCCESS:
        return "warned" if counts.get("warn") else "succeeded"
    return {RunStatus.ERROR: "errored", RunStatus.CANCELLED: "cancelled"}.get(run.status)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _trim(text: str | None) -> str | None:
    if text is None or len(text) <= MESSAGE_CHARS:
        return text
    return text[:MESSAGE_CHARS] + "…"


def webhook(hook: Hook, index: int, run: Run, event: str, counts: dict[str, int],
            failed: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    status = STATUS_WORD.get(run.status, "Running")
    return {
        "accountId": 1,
        "webhooksID": f"{run.job_name}#{index}",
        "eventId": uuid.uuid4().hex,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "eventType": EVENT_TYPE[event],
        "webhookName": hook.options.get("name") or f"{run.job_name} {hook.type} #{index}",
        "data": {
            "jobId": str(run.job_id or ""),
            "jobName": run.job_name,
            "runId": str(run.id),
            "runStatus": status,
            "runStatusCode": STATUS_CODE.get(run.status, 3),
            "runStatusMessage": status if not run.error else f"{status}: {run.error}",
            "runReason": f"{run.trigger} by {run.actor}",
            "runStartedAt": _iso(run.started_at),
            "runFinishedAt": _iso(run.finished_at),
            "runErroredAt": _iso(run.finished_at) if run.status is RunStatus.ERROR else None,
            "durationSeconds": None if run.duration is None else round(run.duration, 3),
            "gitSha": run.git_sha,
            "gitBranch": run.git_branch,
            "warnings": counts.get("warn", 0),
            "nodeCounts": counts,
            "failedNodes": [{"uniqueId": uid, "status": st, "message": _trim(msg)}
                            for uid, st, msg in failed[:FAILED_NODES]],
            "logs": f"dbt-console logs {run.id}",
        },
    }


def slack(run: Run, event: str, counts: dict[str, int],
          failed: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    mark = {"succeeded": ":white_check_mark:", "warned": ":warning:", "errored": ":x:",
            "cancelled": ":no_entry_sign:", "started": ":arrow_forward:"}[event]
    title = f"{mark} {run.job_name}: run {run.id} {event}"
    duration = "" if run.duration is None else f"{run.duration:.0f}s"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Job*\n{run.job_name}"},
            {"type": "mrkdwn", "text": f"*Status*\n{run.status.value}"},
            {"type": "mrkdwn", "text": f"*Duration*\n{duration or '-'}"},
            {"type": "mrkdwn", "text": f"*Trigger*\n{run.trigger}"},
        ]},
    ]
    if run.error:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"*Why*\n{_trim(run.error)}"}})
    for uid, status, message in failed[:5]:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"*{status}* `{uid}`\n{_trim(message) or ''}"[:2900]}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"`dbt-console logs {run.id}`"}]})
    return {"text": title, "blocks": blocks}


def pagerduty(routing_key: str, run: Run, event: str,
              failed: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """trigger on an error, resolve on the job's next success; one incident per job."""
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if event in ("succeeded", "warned") else "trigger",
        "dedup_key": f"dbt-console/{run.job_name}",
    }
    if body["event_action"] == "trigger":
        body["payload"] = {
            "summary": f"dbt job {run.job_name} run {run.id} {event}"
                       + (f": {run.error}" if run.error else "")[:1000],
            "source": socket.gethostname(),
            "severity": "error",
            "timestamp": _iso(run.finished_at or run.started_at),
            "component": run.job_name,
            "custom_details": {
                "run_id": run.id, "trigger": run.trigger, "git_sha": run.git_sha,
                "failed_nodes": [{"unique_id": u, "status": s, "message": _trim(m)}
                                 for u, s, m in failed[:FAILED_NODES]],
                "logs": f"dbt-console logs {run.id}",
            },
        }
    return body
