"""Microsoft Teams: a Workflows incoming webhook URL (a secret, as Slack's), an Adaptive
Card with what Slack's message says. The Workflows trigger "When a Teams webhook request
is received" posts each attachment's card to the chosen channel or chat."""

from __future__ import annotations

from typing import Any

from dbt_console.hooks.common import trim
from dbt_console.hooks.kind import Alert, HookKind, Notice
from dbt_console.model import Hook

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"  # what Teams renders on every client
COLOUR = {"succeeded": "Good", "warned": "Warning", "errored": "Attention",
          "cancelled": "Warning", "started": "Default"}
FAILED_SHOWN = 5
ALERT_WORDS = {"late": "is late", "slow": "is running slow", "missed": "missed a scheduled run"}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _message(body: list[dict[str, Any]]) -> dict[str, Any]:
    """The Workflows webhook's envelope: one attachment holding the card."""
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": {"$schema": CARD_SCHEMA, "type": "AdaptiveCard",
                    "version": CARD_VERSION, "body": body}}]}


def body(hook: Hook, index: int, notice: Notice) -> dict[str, Any]:
    run, event, failed = notice.run, notice.event, notice.failed
    duration = "-" if run.duration is None else f"{run.duration:.0f}s"
    card: list[dict[str, Any]] = [
        _text(f"{run.job_name}: run {run.id} {event}", size="Large", weight="Bolder",
              color=COLOUR[event]),
        {"type": "FactSet", "facts": [
            {"title": "Job", "value": run.job_name},
            {"title": "Status", "value": run.status.value},
            {"title": "Duration", "value": duration},
            {"title": "Trigger", "value": f"{run.trigger} by {run.actor}"},
        ]},
    ]
    if notice.note:  # a recovery, a reminder
        card.insert(1, _text(notice.note, weight="Bolder"))
    if run.error:
        card.append(_text(f"**Why**: {trim(run.error)}"))
    for uid, status, message in failed[:FAILED_SHOWN]:
        card.append(_text(f"**{status}** `{uid}`", spacing="Medium"))
        if message:
            card.append(_text(trim(message), isSubtle=True, fontType="Monospace"))
    if len(failed) > FAILED_SHOWN:
        card.append(_text(f"and {len(failed) - FAILED_SHOWN} more", isSubtle=True))
    card.append(_text(f"`dbt-console logs {run.id}`", isSubtle=True, spacing="Medium"))
    return _message(card)


def alert_body(hook: Hook, index: int, alert: Alert) -> dict[str, Any]:
    hint = f"dbt-console logs {alert.run_id}" if alert.run_id else "dbt-console status"
    return _message([
        _text(f"{alert.job_name} {ALERT_WORDS[alert.event]}", size="Large",
              weight="Bolder", color="Warning"),
        _text(trim(alert.detail) or ""),
        _text(f"`{hint}`", isSubtle=True)])


KIND = HookKind("teams", frozenset({"url"}), frozenset({"events", "name"}), ("url",), body,
                alert_body)
