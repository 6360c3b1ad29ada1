"""Notification hook kinds: each kind is one module that says everything about it (its
fields, which are secrets, what it sends, how a send is prepared), and KINDS lists them.
Adding a kind is a module here, a line in KINDS and its test. Pure: no I/O."""

from __future__ import annotations

from dbt_console.hooks import command, mail, pagerduty, slack, teams, webhook
from dbt_console.hooks.kind import ALERTS, DEFAULT_EVENTS, EVENTS, Alert, HookKind, Notice

KINDS: dict[str, HookKind] = {k.name: k for k in (webhook.KIND, slack.KIND, teams.KIND,
                                                  mail.KIND, pagerduty.KIND, command.KIND)}

__all__ = ["ALERTS", "DEFAULT_EVENTS", "EVENTS", "KINDS", "Alert", "HookKind", "Notice"]
