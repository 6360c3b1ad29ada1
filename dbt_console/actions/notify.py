"""Notifications: a test event to a job's hooks, and the deliveries made."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.config import load_settings
from dbt_console.errors import UserError
from dbt_console.model import NodeResult, Run, RunStatus, Trigger
from dbt_console.store import Delivery

# What a sample event's email quotes as its log.
SAMPLE_LOG = ("Running with dbt=...", "1 of 1 FAIL 1 a_failing_test ..... [FAIL 1]",
              "Done. PASS=0 WARN=0 ERROR=1 SKIP=0 TOTAL=1")


@dataclass(frozen=True)
class HookTest:
    index: int
    type: str
    target: str  # where it sends, safe to show
    delivered: bool
    status_code: int | None
    error: str | None

    def summary(self) -> str:
        """One line, as `hooks test` and the dashboard say it."""
        outcome = "delivered" if self.delivered else f"FAILED: {self.error}"
        code = f" ({self.status_code})" if self.status_code is not None else ""
        return f"hooks[{self.index}] {self.type} {self.target}: {outcome}{code}"


@action("editor", changes=True, job=lambda ctx, job_name: job_name,
        target=lambda ctx, job_name: f"hooks of {job_name}")
def test_hooks(ctx: Context, job_name: str) -> list[HookTest]:
    """Send a sample 'errored' event to every hook of a job, now, and say what happened."""
    from dbt_console.engine.notify.send import attempt, masked_target
    from dbt_console.hooks import KINDS, Notice

    job = ctx.store.get_job(job_name)
    if not job.hooks:
        raise UserError(f"job {job.name!r} has no hooks (add them under hooks: in its "
                        "jobs file)")
    smtp_defaults = load_settings(ctx.paths).smtp
    now = time.time()
    sample = Run(id=0, job_id=job.id, job_name=job.name, status=RunStatus.ERROR,
                 trigger=Trigger("test"), actor=ctx.actor.name, queued_at=now,
                 started_at=now - 42, finished_at=now,
                 error="a test event from dbt-console hooks test")
    failed = [NodeResult("test.example.a_failing_test", "fail", message="this is a test event")]
    nodes = [(r.unique_id, r.status, r.message) for r in failed]
    results = []
    for index, hook in enumerate(job.hooks):
        body = KINDS[hook.type].body(hook, index, Notice(sample, "errored", {"fail": 1},
                                                          nodes, SAMPLE_LOG))
        result = attempt(hook, json.dumps(body), smtp_defaults)
        results.append(HookTest(index, hook.type, masked_target(hook), result.delivered,
                                result.status_code, result.error))
    return results


@action("viewer")
def deliveries(ctx: Context, run_id: int | None = None, failed_only: bool = False,
               limit: int = 50) -> list[Delivery]:
    return ctx.store.list_deliveries(run_id=run_id, failed_only=failed_only, limit=limit)
