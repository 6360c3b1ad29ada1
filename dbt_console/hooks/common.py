"""What the hook bodies share: dbt Cloud's status words and codes, trimming, times."""

from __future__ import annotations

from datetime import datetime, timezone

from dbt_console.model import RunStatus

MESSAGE_CHARS = 500
FAILED_NODES = 20
STATUS_CODE = {RunStatus.QUEUED: 1, RunStatus.STARTING: 2, RunStatus.RUNNING: 3,
               RunStatus.SUCCESS: 10, RunStatus.ERROR: 20, RunStatus.CANCELLED: 30}
STATUS_WORD = {RunStatus.SUCCESS: "Success", RunStatus.ERROR: "Errored",
               RunStatus.CANCELLED: "Cancelled"}


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def trim(text: str | None) -> str | None:
    if text is None or len(text) <= MESSAGE_CHARS:
        return text
    return text[:MESSAGE_CHARS] + "…"
