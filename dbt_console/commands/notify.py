"""`hooks test` and `deliveries`: notifications from the command line."""

from __future__ import annotations

import json
import time
from argparse import Namespace

from dbt_console import humanize
from dbt_console.commands import out
from dbt_console.config import Paths, current_user
from dbt_console.errors import UserError
from dbt_console.model import Run, RunStatus
from dbt_console.store import Store


def cmd_hooks(args: Namespace, paths: Paths) -> int:
    import json as _json

    from dbt_console.engine.notify import payloads
    from dbt_console.engine.notify.send import attempt, masked_target
    from dbt_console.model import NodeResult

    with Store(paths.store) as store:
        job = store.get_job(args.job)
        if not job.hooks:
            raise UserError(f"job {job.name!r} has no hooks (add them under hooks: in its "
                            "jobs file)")
        sample = Run(id=0, job_id=job.id, job_name=job.name, status=RunStatus.ERROR,
                     trigger="test", actor=current_user(), queued_at=time.time(),
                     started_at=time.time() - 42, finished_at=time.time(),
                     error="a test event from dbt-console hooks test")
        failed = [NodeResult("test.example.a_failing_test", "fail",
                             message="this is a test event")]
        failing = 0
        for index, hook in enumerate(job.hooks):
            nodes = [(r.unique_id, r.status, r.message) for r in failed]
            if hook.type == "slack":
                body = payloads.slack(sample, "errored", {"fail": 1}, nodes)
            elif hook.type == "pagerduty":
                body = payloads.pagerduty("", sample, "errored", nodes)
            else:
                body = payloads.webhook(hook, index, sample, "errored", {"fail": 1}, nodes)
            result = attempt(hook, _json.dumps(body))
            failing += not result.delivered
            outcome = ("delivered" if result.delivered else f"FAILED: {result.error}")
            code = f" ({result.status_code})" if result.status_code is not None else ""
            out(f"hooks[{index}] {hook.type} {masked_target(hook)}: {outcome}{code}")
    return 1 if failing else 0


def cmd_deliveries(args: Namespace, paths: Paths) -> int:
    with Store(paths.store) as store:
        rows = store.list_deliveries(run_id=args.run, failed_only=args.failed)
    if args.json:
        out(json.dumps([{
            "id": d.id, "run_id": d.run_id, "job": d.job_name,
            "hook": {"type": d.hook_type, "target": d.target}, "event": d.event,
            "status": d.status, "attempts": d.attempts,
            "last_status_code": d.last_status_code, "last_error": d.last_error,
            "next_attempt_at": humanize.iso_utc(d.next_attempt_at)
            if d.status == "pending" else None,
        } for d in rows], indent=2))
        return 0
    out(humanize.table(
        ["ID", "RUN", "JOB", "HOOK", "EVENT", "STATUS", "TRIES", "LAST"],
        [[str(d.id), str(d.run_id), d.job_name, f"{d.hook_type} {d.target}", d.event,
          d.status, str(d.attempts), d.last_error or (str(d.last_status_code or ""))]
         for d in rows]))
    return 0
