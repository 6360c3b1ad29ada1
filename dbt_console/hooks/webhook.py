"""A webhook in dbt Cloud's shape, so receivers written for dbt Cloud work unchanged,
signed with HMAC-SHA256 of the exact body when it has a secret."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timezone
from typing import Any

from dbt_console.hooks.common import FAILED_NODES, STATUS_CODE, STATUS_WORD, iso, trim
from dbt_console.hooks.kind import Alert, HookKind, Notice
from dbt_console.model import Hook, RunStatus

EVENT_TYPE = {"started": "job.run.started", "succeeded": "job.run.completed",
              "warned": "job.run.completed", "errored": "job.run.errored",
              "cancelled": "job.run.cancelled",
              # dbt-console's run alerts (a job's sla:): not dbt Cloud's, named alike
              "late": "job.run.late", "slow": "job.run.slow", "missed": "job.run.missed"}


def body(hook: Hook, index: int, notice: Notice) -> dict[str, Any]:
    run, event, counts, failed = notice.run, notice.event, notice.counts, notice.failed
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
            "runStartedAt": iso(run.started_at),
            "runFinishedAt": iso(run.finished_at),
            "runErroredAt": iso(run.finished_at) if run.status is RunStatus.ERROR else None,
            "durationSeconds": None if run.duration is None else round(run.duration, 3),
            "gitSha": run.git_sha,
            "gitBranch": run.git_branch,
            "warnings": counts.get("warn", 0),
            "nodeCounts": counts,
            "failedNodes": [{"uniqueId": uid, "status": st, "message": trim(msg)}
                            for uid, st, msg in failed[:FAILED_NODES]],
            "logs": f"dbt-console logs {run.id}",
        },
    }


def sign(data: bytes, secret: str) -> str:
    """dbt Cloud's signature: hex HMAC-SHA256 of the exact body, no prefix."""
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def alert_body(hook: Hook, index: int, alert: Alert) -> dict[str, Any]:
    return {
        "accountId": 1,
        "webhooksID": f"{alert.job_name}#{index}",
        "eventId": uuid.uuid4().hex,
        "timestamp": datetime.fromtimestamp(alert.at, timezone.utc).isoformat(),
        "eventType": EVENT_TYPE[alert.event],
        "webhookName": hook.options.get("name") or f"{alert.job_name} {hook.type} #{index}",
        "data": {"jobName": alert.job_name, "alert": alert.event, "reason": alert.detail,
                 "runId": None if alert.run_id is None else str(alert.run_id)},
    }


def prepare(hook: Hook, text: str, resolve) -> tuple[str, dict[str, str]]:
    if not hook.options.get("secret"):
        return text, {}
    header = hook.options.get("header") or "Authorization"
    return text, {header: sign(text.encode(), resolve(hook.options["secret"]))}


KIND = HookKind("webhook", frozenset({"url"}), frozenset({"secret", "header", "events", "name"}),
                ("url", "secret"), body, alert_body, prepare)
