"""dbt Cloud's Admin API v2 wire shapes: the envelope, runs, steps and jobs as its clients
read them (numbers for statuses, its timestamp and duration formats)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from dbt_console import failures
from dbt_console.jobfields import public_dict
from dbt_console.model import Environment, Job, Project, Run, RunStatus, Step

STATUS_CODES = {
    RunStatus.QUEUED: 1, RunStatus.STARTING: 2, RunStatus.RUNNING: 3,
    RunStatus.SUCCESS: 10, RunStatus.ERROR: 20, RunStatus.CANCELLED: 30,
}
STATUS_BY_CODE = {code: status for status, code in STATUS_CODES.items()}
# (project id, environment id) of a job; None for a job deleted since.
Place = tuple[int, int] | None


def envelope(data: Any, code: int = 200, extra: dict | None = None,
             message: str = "Success!") -> dict:
    body = {"status": {"code": code, "is_success": code < 400, "user_message": message,
                       "developer_message": ""}, "data": data}
    if extra is not None:
        body["extra"] = extra
    return body


def stamp(at: float | None) -> str | None:
    """dbt Cloud's timestamp: '2024-05-01 12:00:00.123456+00:00'."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, timezone.utc).isoformat(sep=" ")


def hms(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _status_fields(status: RunStatus) -> dict:
    return {
        "status": STATUS_CODES[status],
        "status_humanized": status.value.capitalize(),
        "is_complete": status.finished,
        "is_success": status is RunStatus.SUCCESS,
        "is_error": status is RunStatus.ERROR,
        "is_cancelled": status is RunStatus.CANCELLED,
        "in_progress": status in (RunStatus.STARTING, RunStatus.RUNNING),
    }


def run_obj(run: Run, account_id: int, cause: str | None, place: Place,
            overrides: dict | None = None) -> dict:
    end = run.finished_at if run.finished_at is not None else (
        time.time() if run.started_at is not None else None)
    took = None if run.started_at is None or end is None else end - run.started_at
    waited = (run.started_at or end or time.time()) - run.queued_at
    return {
        "id": run.id,
        "trigger_id": run.id,
        "account_id": account_id,
        "project_id": place[0] if place else None,
        "environment_id": place[1] if place else None,
        "job_definition_id": run.job_id,
        "job_id": run.job_id,
        "job_name": run.job_name,
        **_status_fields(run.status),
        "status_message": run.error,
        "git_branch": run.git_branch,
        "git_sha": run.git_sha,
        "created_at": stamp(run.queued_at),
        "updated_at": stamp(run.finished_at or run.started_at or run.queued_at),
        "dequeued_at": stamp(run.started_at),
        "started_at": stamp(run.started_at),
        "finished_at": stamp(run.finished_at),
        "duration": hms(took),
        "duration_humanized": hms(took),
        "queued_duration": hms(waited),
        "run_duration": hms(took),
        "href": f"dbt-console logs {run.id}",
        "trigger": {
            "id": run.id,
            "cause": cause or run.trigger.words(run.actor),
            "cause_category": run.trigger.kind,
            "job_definition_id": run.job_id,
            "git_branch": run.git_branch,
            "git_sha": run.git_sha,
            "created_at": stamp(run.queued_at),
            # dbt Cloud's trigger echoes what the call overrode; clients read it
            # (Dagster's run steps are the steps_override, else the job's).
            **dict.fromkeys(TRIGGER_OVERRIDES), **(overrides or {}),
        },
        "who": run.actor,
    }


TRIGGER_OVERRIDES = (
    "steps_override", "generate_docs_override", "schema_override", "target_name_override",
    "threads_override", "timeout_seconds_override", "dbt_version_override",
    "azure_pull_request_id", "github_pull_request_id", "gitlab_merge_request_id",
    "non_native_pull_request_id",
)


def failure_words(failed: list) -> str:
    """A failed run's status message: which nodes failed, and the first one's why."""
    if not failed:
        return "the run failed (see its log)"
    first = failures.first_line(failed[0])
    names = ", ".join(r.unique_id for r in failed[:5]) + (
        f" and {len(failed) - 5} more" if len(failed) > 5 else "")
    return f"{len(failed)} node(s) failed: {names}" + (f": {first}" if first else "")


def step_name(command: str) -> str:
    # Prefect's retry-from-failure reads the command back out of exactly this form.
    return f"Invoke dbt with `{command}`" if command.startswith("dbt ") else command


def step_obj(step: Step, account_id: int, logs: str | None, debug_logs: str | None) -> dict:
    took = (None if step.started_at is None
            else (step.finished_at or time.time()) - step.started_at)
    obj = {
        "id": step.run_id * 1000 + step.idx,
        "run_id": step.run_id,
        "account_id": account_id,
        "index": step.idx,
        "name": step_name(step.command),
        **_status_fields(step.status),
        # A command that never ran: dbt Cloud's word for it, which Prefect's retry reads.
        **({"status_humanized": "Skipped", "is_skipped": True} if step.skipped else {}),
        "created_at": stamp(step.started_at),
        "started_at": stamp(step.started_at),
        "finished_at": stamp(step.finished_at),
        "duration": hms(took),
        "duration_humanized": hms(took),
        "logs": logs,
    }
    if debug_logs is not None:
        obj["debug_logs"] = debug_logs
    return obj


def job_obj(job: Job, account_id: int, place: Place) -> dict:
    job_type = "ci" if job.ci is not None else "scheduled" if job.schedule else "other"
    return {
        "id": job.id,
        "account_id": account_id,
        "project_id": place[0] if place else None,
        "environment_id": place[1] if place else None,
        "name": job.name,
        "description": job.description,
        "execute_steps": list(job.commands),
        "generate_docs": job.generate_docs,
        "job_type": job_type,
        "dbt_version": None,
        "schedule": {
            "cron": job.schedule.cron if job.schedule else None,
            "timezone": job.schedule.timezone if job.schedule else None,
            "date": {"type": "custom_cron", "cron": job.schedule.cron} if job.schedule
            else {"type": "every_day"},
        },
        "triggers": {
            "schedule": bool(job.schedule) and job.enabled,
            "github_webhook": False,
            "git_provider_webhook": job.on_push or job.ci is not None,
            "on_merge": job.on_push,
        },
        # dbt Cloud: 1 active, 2 deleted. A paused job is active with its schedule off.
        "state": 1,
        "git_branch": job.git.branch if job.git else None,
        "timeout_seconds": (job.timeout_minutes or 0) * 60,
        # The whole definition as a jobs file holds it, secrets masked (jobfields).
        "dbt_console": public_dict(job),
    }


def project_obj(project: Project, account_id: int) -> dict:
    kind, _, where = project.source.partition(":")
    url, _, subdirectory = where.rpartition("#") if kind == "git" else (where, "", "")
    return {
        "id": project.id,
        "account_id": account_id,
        "name": project.name,
        "description": None,
        "state": 1,
        "dbt_project_subdirectory": subdirectory or None,
        "repository": {"remote_url": url} if kind == "git" else None,
        "project_dir": where if kind == "dir" else None,  # dbt-console's own
        "created_at": stamp(project.created_at),
        "updated_at": stamp(project.created_at),
    }


def environment_obj(env: Environment, account_id: int) -> dict:
    return {
        "id": env.id,
        "account_id": account_id,
        "project_id": env.project_id,
        "name": env.name,
        "type": "deployment",
        "deployment_type": None,
        "state": 1,
        "dbt_version": None,
        "custom_branch": None,
        "target_name": env.target or None,  # None: the profile's default target
        "created_at": stamp(env.created_at),
        "updated_at": stamp(env.created_at),
    }
