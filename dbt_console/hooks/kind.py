"""What every hook kind describes about itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbt_console.model import Hook, Run

EVENTS = ("started", "succeeded", "errored", "cancelled", "warned")
# Run alerts (a job's sla:): sent once each, not tied to a run's state change.
ALERTS = ("late", "slow", "missed")
# When any hook speaks beyond its events (policy.py).
POLICY_FIELDS = frozenset({"notify", "remind_after"})
# What a hook hears when its events are not given.
DEFAULT_EVENTS = ("errored", *ALERTS)
# (unique_id, status, message) of each failed node
Failed = list[tuple[str, str, str | None]]


@dataclass(frozen=True)
class Notice:
    """What a run's message may say: the run, the event it is, its node counts, its
    failed nodes, and the last lines of its log (for the kinds that quote them)."""

    run: Run
    event: str
    counts: dict[str, int]
    failed: Failed
    log_tail: tuple[str, ...] = ()
    note: str = ""  # a line under the title: a recovery, a reminder (policy.py)


# hook, its index in the job, the notice -> body
BodyFn = Callable[[Hook, int, Notice], dict[str, Any]]

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


def _none(hook: dict[str, Any]) -> list[str]:
    return []


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
    # How it goes: "http" (a POST), "program" (run as the service user: admins only) or
    # "smtp" (an email).
    transport: str = "http"
    # Problems with a hook's fields that only its kind knows (check_hook has the rest).
    problems: Callable[[dict[str, Any]], list[str]] = _none

    @property
    def runs_program(self) -> bool:
        return self.transport == "program"

    @property
    def fields(self) -> frozenset[str]:
        return self.required | self.optional | POLICY_FIELDS | {"type"}
