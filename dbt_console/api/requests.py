"""What API callers send, checked: a trigger's body, list filters, include_related. Each
problem becomes a 400 with a message naming the field; nothing is queued."""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dbt_console.api.wire import STATUS_BY_CODE
from dbt_console.inputlimits import MAX_COMMANDS, shown, text_problem
from dbt_console.jobrules import MAX_TIMEOUT_MINUTES, check_branch, check_command
from dbt_console.model import Job, Overrides

IGNORED = {"azure_pull_request_id", "github_pull_request_id", "gitlab_merge_request_id",
           "non_native_pull_request_id"}  # PR numbers: dbt-console reads the branch instead
OVERRIDES = {"cause", "git_branch", "git_sha", "schema_override", "target_name_override",
             "threads_override", "timeout_seconds_override", "generate_docs_override",
             "steps_override"}
RELATED = {"run_steps", "job", "trigger", "debug_logs", "failure_review"}
SCHEMA_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,126}$")
SHA_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")


class BadRequest(Exception):
    """The caller's mistake; the message is the 400's user_message."""


@dataclass(frozen=True)
class Asked:
    """A checked trigger request: what this run changes of the job, and what to check
    out."""

    overrides: Overrides
    cause: str
    branch: str | None
    sha: str | None


def trigger(job: Job, body: Any) -> Asked:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with at least a 'cause'")
    problems = []
    if "dbt_version_override" in body:
        problems.append("dbt_version_override: not supported: a job runs the dbt its "
                        "dbt_path names (or the one installed beside dbt-console)")
    unknown = sorted(set(body) - OVERRIDES - IGNORED - {"dbt_version_override"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)} (known: "
                        f"{', '.join(sorted(OVERRIDES))})")
    cause = body.get("cause")
    if (not isinstance(cause, str) or not cause.strip() or len(cause) > 255
            or text_problem(cause)):
        problems.append("cause: required: a text of 1 to 255 characters saying why")
    branch, sha = _checkout(job, body, problems)
    overrides = _overrides(body, problems)
    if problems:
        raise BadRequest("; ".join(problems))
    return Asked(overrides, cause.strip(), branch, sha)


def _checkout(job: Job, body: dict, problems: list[str]) -> tuple[str | None, str | None]:
    branch, sha = body.get("git_branch"), body.get("git_sha")
    if branch is not None and (not isinstance(branch, str) or check_branch(branch)):
        why = check_branch(branch) if isinstance(branch, str) else "must be a branch name"
        problems.append(f"git_branch: {why}")
    if sha is not None and (not isinstance(sha, str) or not SHA_RE.match(sha)):
        problems.append(f"git_sha: must be 7 to 40 hex digits, got {sha!r}")
    if (branch or sha) and job.git is None:
        problems.append("git_branch/git_sha: this job runs a local project_dir, not a git "
                        "repository")
    if job.ci is not None and not branch:
        problems.append(f"git_branch: required: {job.name} is a CI job, which runs a branch")
    return branch, sha


def _overrides(body: dict, problems: list[str]) -> Overrides:
    """dbt Cloud's *_override fields, each checked."""
    changes: dict[str, Any] = {}
    schema = body.get("schema_override")
    if schema is not None:
        if not isinstance(schema, str) or not SCHEMA_RE.match(schema):
            problems.append(f"schema_override: must be a schema name, got {schema!r}")
        else:
            changes["schema"] = schema
    target = body.get("target_name_override")
    if target is not None:
        if not isinstance(target, str) or not target.strip():
            problems.append("target_name_override: must be a target name of the profile")
        else:
            changes["target"] = target
    threads = body.get("threads_override")
    if threads is not None:
        if not is_whole(threads) or not 1 <= threads <= 256:
            problems.append(f"threads_override: must be a whole number from 1 to 256, "
                            f"got {threads!r}")
        else:
            changes["threads"] = threads
    _timeout_docs_steps(body, changes, problems)
    return Overrides(**changes)


def _timeout_docs_steps(body: dict, changes: dict[str, Any], problems: list[str]) -> None:
    timeout = body.get("timeout_seconds_override")
    if timeout is not None:
        if not is_whole(timeout) or not 0 <= timeout <= MAX_TIMEOUT_MINUTES * 60:
            problems.append(f"timeout_seconds_override: must be whole seconds from 0 (no "
                            f"timeout) to {MAX_TIMEOUT_MINUTES * 60}, got {timeout!r}")
        else:
            # Timeouts are kept in whole minutes: a part of a minute rounds up.
            changes["timeout_minutes"] = math.ceil(timeout / 60) or None
            changes["no_timeout"] = timeout == 0
    docs = body.get("generate_docs_override")
    if docs is not None:
        if not isinstance(docs, bool):
            problems.append(f"generate_docs_override: must be true or false, got {docs!r}")
        else:
            changes["generate_docs"] = docs
    steps = body.get("steps_override")
    if steps is not None:
        if not isinstance(steps, list) or not steps:
            problems.append("steps_override: must be a non-empty list of dbt commands")
        elif len(steps) > MAX_COMMANDS:
            problems.append(f"steps_override: {len(steps)} commands, more than the "
                            f"{MAX_COMMANDS} a run may have")
        else:
            for i, step in enumerate(steps):
                problem = check_command(step)
                if problem:
                    problems.append(f"steps_override[{i}]: {problem}")
            changes["commands"] = tuple(steps)


def status(code: str) -> str:
    """A run status as clients send it (dbt Cloud's number) -> our word."""
    if not code.isdigit() or int(code) not in STATUS_BY_CODE:
        raise BadRequest(f"status: {code!r} is not a run status (1 queued, 2 starting, "
                         "3 running, 10 success, 20 error, 30 cancelled)")
    return STATUS_BY_CODE[int(code)].value


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def jobs_placed(places: dict[int, tuple[int, int]], project: str | None,
                environment: str | None) -> set[int] | None:
    """The ids of the jobs in a project and/or environment (query parameters), or None
    when neither is asked for."""
    if not project and not environment:
        return None
    pid = None if not project else whole(project, "project_id", 0, 1, 1 << 62)
    eid = None if not environment else whole(environment, "environment_id", 0, 1, 1 << 62)
    return {job for job, (p, e) in places.items()
            if (pid is None or p == pid) and (eid is None or e == eid)}


def list_values(values: list[str], name: str) -> list[str]:
    """A list parameter as clients send it: repeated keys, a comma list, or a JSON or
    Python list literal ('["a", "b"]', "['a', 'b']", '[1, 2]')."""
    out: list[str] = []
    for value in values:
        value = value.strip()
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                try:
                    parsed = ast.literal_eval(value)  # literals only: never evaluates code
                except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
                    raise BadRequest(f"{name}: {shown(value)} is not a list") from None
            if not isinstance(parsed, (list, tuple)) or any(
                    isinstance(v, (list, tuple, dict, set)) for v in parsed):
                raise BadRequest(f"{name}: {shown(value)} is not a list of values")
            out.extend(str(v).strip() for v in parsed)
        else:
            out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def related(values: list[str]) -> set[str]:
    asked = set(list_values(values, "include_related"))
    unknown = sorted(asked - RELATED)
    if unknown:
        raise BadRequest(f"include_related: unknown {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(RELATED))})")
    return asked


def whole(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    # ASCII only: int() also reads other scripts' digits ('٣'), which no client sends.
    if not re.fullmatch(r"\s*[+-]?[0-9]{1,30}\s*", value):
        raise BadRequest(f"{name}: must be a whole number, got {shown(value)}")
    number = int(value)
    if not low <= number <= high:
        raise BadRequest(f"{name}: must be from {low} to {high}, got {number}")
    return number


def time_range(value: str) -> tuple[float, float]:
    """finished_at__range: a list of two ISO times, e.g. ["2024-05-01", "2024-05-02"]."""
    times = list_values([value], "finished_at__range")
    if len(times) != 2:
        raise BadRequest("finished_at__range: must be a list of two times, "
                         '["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]')
    out = []
    for text in times:
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(f"finished_at__range: {text!r} is not an ISO time") from None
        out.append((at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp())
    return out[0], out[1]
