"""PagerDuty Events API v2: trigger on a failure, resolve on the job's next success; one
incident per job. The routing key goes into the body only when it is sent, so a literal
key is never stored in a delivery row."""

from __future__ import annotations

import json
import socket
from typing import Any

from dbt_console.hooks.common import FAILED_NODES, iso, trim
from dbt_console.hooks.kind import Alert, HookKind, Notice
from dbt_console.model import Hook

URL = "https://events.pagerduty.com/v2/enqueue"
KEY_PLACEHOLDER = "(added when sent)"
RESOLVES = ("succeeded", "warned")


def body(hook: Hook, index: int, notice: Notice) -> dict[str, Any]:
    run, event, failed = notice.run, notice.event, notice.failed
    out: dict[str, Any] = {
        "routing_key": KEY_PLACEHOLDER,
        "event_action": "resolve" if event in RESOLVES else "trigger",
        "dedup_key": f"dbt-console/{run.job_name}",
    }
    if out["event_action"] == "trigger":
        out["payload"] = {
            "summary": f"dbt job {run.job_name} run {run.id} {event}"
                       + (f": {run.error}" if run.error else "")[:1000],
            "source": socket.gethostname(),
            "severity": "error",
            "timestamp": iso(run.finished_at or run.started_at),
            "component": run.job_name,
            "custom_details": {
                "run_id": run.id, "trigger": str(run.trigger), "git_sha": run.git_sha,
                "failed_nodes": [{"unique_id": u, "status": s, "message": trim(m)}
                                 for u, s, m in failed[:FAILED_NODES]],
                "logs": f"dbt-console logs {run.id}",
            },
        }
    return out


ALERT_WORDS = {"late": "is late", "slow": "is running slow", "missed": "missed a scheduled run"}


def alert_body(hook: Hook, index: int, alert: Alert) -> dict[str, Any]:
    """The job's one incident (the dedup key of its failures): its next success resolves
    it, whatever opened it."""
    return {
        "routing_key": KEY_PLACEHOLDER,
        "event_action": "trigger",
        "dedup_key": f"dbt-console/{alert.job_name}",
        "payload": {
            "summary": f"dbt job {alert.job_name} {ALERT_WORDS[alert.event]}: "
                       f"{alert.detail}"[:1000],
            "source": socket.gethostname(),
            "severity": "warning",
            "timestamp": iso(alert.at),
            "component": alert.job_name,
            "custom_details": {"alert": alert.event, "run_id": alert.run_id},
        },
    }


def prepare(hook: Hook, text: str, resolve) -> tuple[str, dict[str, str]]:
    data = json.loads(text)
    data["routing_key"] = resolve(hook.options["routing_key"])
    return json.dumps(data), {}


KIND = HookKind("pagerduty", frozenset({"routing_key"}), frozenset({"events", "name", "url"}),
                ("url", "routing_key"), body, alert_body, prepare, default_url=URL)
