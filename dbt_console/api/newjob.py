"""What `POST jobs/` sends (dbt Cloud's job shape), checked and made a dbt-console job.

A dbt Cloud environment holds the connection; here a job's own settings do. So a job
created in an environment runs with the settings of that environment's first job (where
the project is, its profile, target, env and dbt), and takes from the request what a
dbt Cloud job says about itself: name, description, commands, docs, schedule, timeout.
"""

from __future__ import annotations

import math
from typing import Any

from dbt_console.api.requests import BadRequest, is_whole
from dbt_console.errors import ValidationError
from dbt_console.jobfields import job_to_dict
from dbt_console.jobrules import job_from_dict
from dbt_console.model import Job

# A new job's settings copied from its environment's first job.
RUN_SETTINGS = ("project_dir", "git", "pull", "profiles_dir", "target", "dbt_path", "warm",
                "env")
TAKEN = {"name", "description", "execute_steps", "generate_docs", "triggers", "schedule",
         "timeout_seconds", "settings"}
# dbt Cloud fields accepted as long as they ask for nothing dbt-console would not do.
CHECKED = {"id", "account_id", "project_id", "environment_id", "job_type", "state",
           "dbt_version", "run_generate_sources", "deferring_job_definition_id",
           "deferring_environment_id", "lifecycle_webhooks"}


def environment_id(body: Any) -> int:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object describing the job")
    env = body.get("environment_id")
    if not is_whole(env):
        raise BadRequest("environment_id: required: the id of the environment the job runs "
                         "in (GET environments/ lists them)")
    return env


def new_job(body: dict, template: Job, place: tuple[int, int], account_id: int) -> Job:
    problems = _refusals(body, place, account_id)
    data: dict[str, Any] = {k: v for k, v in job_to_dict(template).items()
                            if k in RUN_SETTINGS}
    data.update(name=body.get("name"), commands=body.get("execute_steps") or ["dbt build"])
    for key in ("description", "generate_docs"):
        if body.get(key) is not None:
            data[key] = body[key]
    _schedule(body, data, problems)
    timeout = body.get("timeout_seconds")
    if timeout:  # 0 or null: none
        if not is_whole(timeout) or timeout < 0:
            problems.append(f"timeout_seconds: must be whole seconds, got {timeout!r}")
        else:
            data["timeout_minutes"] = math.ceil(timeout / 60)
    target = (body.get("settings") or {}).get("target_name")
    if target not in (None, "", template.target or "default"):
        problems.append(f"settings.target_name: {target!r} is not this environment's target "
                        f"({template.target or 'the profile default'}): an environment is "
                        "a project and a target")
    if problems:
        raise BadRequest("; ".join(problems))
    try:
        return job_from_dict(data, where="the job")
    except ValidationError as exc:
        raise BadRequest("; ".join(exc.problems)) from None


def _refusals(body: dict, place: tuple[int, int], account_id: int) -> list[str]:
    problems = []
    unknown = sorted(set(body) - TAKEN - CHECKED)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)} (known: "
                        f"{', '.join(sorted(TAKEN | CHECKED))})")
    if body.get("account_id") not in (None, account_id):
        problems.append(f"account_id: this account is {account_id}")
    if body.get("project_id") not in (None, place[0]):
        problems.append(f"project_id: environment {place[1]} belongs to project {place[0]}")
    if body.get("dbt_version") is not None:
        problems.append("dbt_version: not supported: a job runs the dbt its environment's "
                        "jobs run")
    if body.get("run_generate_sources"):
        problems.append("run_generate_sources: not supported: add `dbt source freshness` "
                        "to execute_steps")
    if body.get("state") not in (None, 1):
        problems.append("state: a new job is active (1)")
    for key in ("deferring_job_definition_id", "deferring_environment_id",
                "lifecycle_webhooks"):
        if body.get(key):
            problems.append(f"{key}: not supported through the API (a jobs file's ci: and "
                            "hooks: do this)")
    return problems


def _schedule(body: dict, data: dict, problems: list[str]) -> None:
    triggers = body.get("triggers") or {}
    if not isinstance(triggers, dict):
        problems.append("triggers: must be an object")
        return
    if triggers.get("schedule"):
        cron = (body.get("schedule") or {}).get("cron")
        if not cron:
            problems.append("schedule.cron: required when triggers.schedule is true")
        else:
            data["schedule"] = {"cron": cron}
    for key in ("github_webhook", "git_provider_webhook", "on_merge", "custom_branch_only"):
        if triggers.get(key):
            problems.append(f"triggers.{key}: not supported through the API (a jobs file's "
                            "on_push: and ci: do this)")
