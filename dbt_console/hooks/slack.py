"""Slack: an incoming webhook URL, a Block Kit message."""

from __future__ import annotations

from typing import Any

from dbt_console.hooks.common import trim
from dbt_console.hooks.kind import Alert, HookKind, Notice
from dbt_console.model import Hook

MARKS = {"succeeded": ":white_check_mark:", "warned": ":warning:", "errored": ":x:",
         "cancelled": ":no_entry_sign:", "started": ":arrow_forward:"}
ALERT_WORDS = {"late": (":alarm_clock:", "is late"), "slow": (":turtle:", "is running slow"),
               "missed": (":ghost:", "missed a scheduled run")}


def body(hook: Hook, index: int, notice: Notice) -> dict[str, Any]:
    run, event, failed = notice.run, notice.event, notice.failed
    title = f"{MARKS[event]} {run.job_name}: run {run.id} {event}"
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
    if notice.note:  # a recovery, a reminder
        blocks.insert(1, {"type": "section", "text": {"type": "mrkdwn", "text": notice.note}})
    if run.error:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"*Why*\n{trim(run.error)}"}})
    for uid, status, message in failed[:5]:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"*{status}* `{uid}`\n{trim(message) or ''}"[:2900]}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"`dbt-console logs {run.id}`"}]})
    return {"text": title, "blocks": blocks}


def alert_body(hook: Hook, index: int, alert: Alert) -> dict[str, Any]:
    mark, words = ALERT_WORDS[alert.event]
    title = f"{mark} {alert.job_name} {words}"
    hint = f"`dbt-console logs {alert.run_id}`" if alert.run_id else "`dbt-console status`"
    return {"text": f"{title}: {alert.detail}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": trim(alert.detail)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]}]}


KIND = HookKind("slack", frozenset({"url"}), frozenset({"events", "name"}), ("url",), body,
                alert_body)
