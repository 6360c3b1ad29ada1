"""A program of the job's author, given the webhook body on stdin. It runs as the service
user, which is why only an admin may add one."""

from __future__ import annotations

from dbt_console.hooks import webhook
from dbt_console.hooks.kind import HookKind

KIND = HookKind("command", frozenset({"argv"}), frozenset({"events", "name"}), (),
                webhook.body, webhook.alert_body, transport="program")
