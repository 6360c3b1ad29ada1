"""What every hook kind describes about itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbt_console.model import Hook, Run

EVENTS = ("started", "succeeded", "errored", "cancelled", "warned")
# Run alerts (a job's sla:): sent once each, not tied to a run's state change.
ALERTS = ("late", "slow", "missed")
# What a hook hears when its events are not given.
DEFAULT_EVENTS = ("errored", *ALERTS)
# (unique_id, status, message) of each failed node
Failed = list[tuple[str, str, str | None]]
# hook, its index in the job, the run, the event, node counts, failed nodes -> body
BodyFn = Callable[[Hook, int, Run, str, dict[str, int], Failed], dict[str, Any]]

@dataclass(frozen=True)
class Alert:
    """A run alert: which job, which of ALERTS, why in words, the run it is about (slow,
    and missed when the fire's run waited), and when."""

    job_name: str
    event: str
    detail: str
    run_id: int | None
    at: float


# hook, its index in the job, the alert -> body
AlertBodyFn = Callable[[Hook, int, Alert], dict[str, Any]]
# hook, body text, a resolver of ${VAR} -> (body text, extra headers), at send time
PrepareFn = Callable[[Hook, str, Callable[[str], str]], tuple[str, dict[str, str]]]


def _unchanged(hook: Hook, body: str, resolve: Callable[[str], str]):
    return body, {}


@dataclass(frozen=True)
class HookKind:
    name: str
    required: frozenset[str]
    optional: frozenset[str]
    # Fields masked in exports, on screens and in the API: a Slack URL is a credential.
    secrets: tuple[str, ...]
    body: BodyFn
    alert_body: AlertBodyFn
    prepare: PrepareFn = _unchanged
    # Where it POSTs when the hook gives no url (PagerDuty's events endpoint).
    default_url: str | None = None
    # Runs a program as the service user instead of sending over HTTP: admins only.
    runs_program: bool = False

    @property
    def fields(self) -> frozenset[str]:
        return self.required | self.optional | {"type"}
