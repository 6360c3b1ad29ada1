"""A job's fields, described once. The jobs file (in and out), validation's list of known
keys, secret masking, the dashboard's form and the API's job shape all come from FIELDS
and the two converters below, so a field added here reaches all of them.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dbt_console import sla as sla_rules
from dbt_console.ci import REPORT_SECRETS, CiSpec, report_from_dict
from dbt_console.model import (
    ENV_REF_RE,
    SECRET_MASK,
    GitSource,
    Hook,
    Job,
    Schedule,
    is_secret_env,
    redact,
)


@dataclass(frozen=True)
class Field:
    path: str  # its key in the jobs file; a dot for a key of a group (git.url)
    label: str
    # How the form edits it: text, int, number, bool, lines (one a line), list (comma separated),
    # env (NAME=value a line), yaml (a YAML list), mapping (a YAML mapping)
    kind: str = "text"
    placeholder: str = ""


FIELDS: tuple[Field, ...] = (
    Field("name", "name", placeholder="nightly"),
    Field("description", "description", placeholder="what this job is for"),
    Field("project_dir", "project dir", placeholder="/srv/analytics (or a git url below)"),
    Field("git.url", "git url", placeholder="git@github.com:acme/analytics.git"),
    Field("git.branch", "git branch", placeholder="main"),
    Field("git.subdirectory", "git subdirectory", placeholder="the dbt project's folder"),
    Field("pull", "git pull first", "bool"),
    Field("on_push", "run on push", "bool"),
    Field("profiles_dir", "profiles dir", placeholder="default: the project's, else ~/.dbt"),
    Field("target", "target", placeholder="prod"),
    Field("dbt_path", "dbt path", placeholder="default: the dbt beside dbt-console"),
    Field("warm", "warm starts", "bool"),
    Field("commands", "commands, one dbt command a line", "lines"),
    Field("generate_docs", "generate docs", "bool"),
    Field("ci.defer_to", "CI: defer to job", placeholder="empty: not a CI job"),
    Field("ci.branches", "CI: branches", "list", placeholder="feature/*"),
    Field("ci.report", "CI: report to github/gitlab, a YAML mapping", "mapping",
          placeholder="{type: github, repo: acme/analytics, token: ${GITHUB_TOKEN}}"),
    Field("schedule.cron", "schedule (cron)", placeholder="0 2 * * *   (empty: by hand only)"),
    Field("schedule.timezone", "timezone", placeholder="UTC"),
    Field("env", "environment, NAME=value a line (${VAR} reads the engine's)", "env"),
    Field("timeout_minutes", "timeout (minutes)", "int", placeholder="empty: none"),
    # A one-line field's label fits the form's 20 columns; the rest is its placeholder.
    Field("sla.finish_by", "alert: late by",
          placeholder="HH:MM: late unless a success by then (empty: no deadline)"),
    Field("sla.max_minutes", "alert: slow after", "int",
          placeholder="minutes (empty: none)"),
    Field("sla.slower_than_usual", "alert: slow at", "number",
          placeholder="x the usual duration, e.g. 2.0 (empty: none)"),
    Field("sla.missed", "alert: missed fires", "bool"),
    Field("after", "run after job", placeholder="empty: not chained"),
    Field("on", "after statuses", "list", placeholder="success"),
    Field("enabled", "enabled", "bool"),
    Field("hooks", "notification hooks, a YAML list (leave ******** to keep a secret)",
          "yaml"),
)
# A group exists when its first field has a value; the others then get their defaults.
GROUP_DEFAULTS = {"git": {"branch": "main"}, "schedule": {"timezone": "UTC"},
                  "ci": {"branches": "*"}}
TOP_LEVEL = frozenset(f.path.split(".")[0] for f in FIELDS)


def group_keys(group: str) -> frozenset[str]:
    return frozenset(f.path.split(".", 1)[1] for f in FIELDS if f.path.startswith(group + "."))


def job_from_spec(data: dict[str, Any]) -> Job:
    """Build a Job from data that was validated when it was saved (the store's own specs).
    Skipping validation here keeps loading a job free of the cron parser's import."""
    git, schedule, ci = data.get("git"), data.get("schedule"), data.get("ci")
    return Job(
        name=data["name"],
        commands=tuple(data["commands"]),
        project_dir=data.get("project_dir"),
        git=None if git is None else GitSource(
            url=git["url"], branch=git.get("branch", "main"),
            subdirectory=git.get("subdirectory", "") or ""),
        profiles_dir=data.get("profiles_dir"),
        target=data.get("target"),
        schedule=None if schedule is None else Schedule(
            cron=" ".join(schedule["cron"].split()), timezone=schedule.get("timezone", "UTC")),
        env=dict(data.get("env") or {}),
        timeout_minutes=data.get("timeout_minutes"),
        enabled=data.get("enabled", True),
        hooks=tuple(Hook(type=h["type"], options={k: v for k, v in h.items() if k != "type"})
                    for h in data.get("hooks") or []),
        pull=data.get("pull", False),
        dbt_path=data.get("dbt_path"),
        warm=data.get("warm", True),
        generate_docs=data.get("generate_docs", False),
        on_push=data.get("on_push", False),
        ci=None if ci is None else CiSpec(
            defer_to=ci["defer_to"],
            branches=tuple([b] if isinstance(b := ci.get("branches", "*"), str) else b),
            report=report_from_dict(ci.get("report"))),
        description=data.get("description") or "",
        after=data.get("after"),
        after_statuses=tuple(data.get("on") or ("success",)),
        sla=None if not data.get("sla") else sla_rules.from_dict(data["sla"]),
    )


def job_to_dict(job: Job) -> dict[str, Any]:
    """The plain-data form of a job, in FIELDS' order: what the jobs file holds. Defaults
    are left out, except enabled and hooks, which a reader should always see."""
    branches = job.ci.branches if job.ci else ()
    values: dict[str, Any] = {
        "name": job.name, "description": job.description or None,
        "project_dir": job.project_dir,
        "git.url": job.git.url if job.git else None,
        "git.branch": job.git.branch if job.git else None,
        "git.subdirectory": (job.git.subdirectory or None) if job.git else None,
        "pull": job.pull or None, "on_push": job.on_push or None,
        "profiles_dir": job.profiles_dir, "target": job.target, "dbt_path": job.dbt_path,
        "warm": None if job.warm else False, "commands": list(job.commands),
        "generate_docs": job.generate_docs or None,
        "ci.defer_to": job.ci.defer_to if job.ci else None,
        "ci.branches": (branches[0] if len(branches) == 1 else list(branches)) or None,
        "ci.report": job.ci.report.to_dict() if job.ci and job.ci.report else None,
        "schedule.cron": job.schedule.cron if job.schedule else None,
        "schedule.timezone": job.schedule.timezone if job.schedule else None,
        "env": dict(job.env) or None, "timeout_minutes": job.timeout_minutes,
        "after": job.after, "on": list(job.after_statuses) if job.after else None,
        **{f"sla.{k}": (sla_rules.to_dict(job.sla).get(k) if job.sla else None)
           for k in ("finish_by", "max_minutes", "slower_than_usual", "missed")},
        "enabled": job.enabled,
        "hooks": [{"type": h.type, **h.options} for h in job.hooks],
    }
    out: dict[str, Any] = {}
    for f in FIELDS:
        if values[f.path] is not None:
            put(out, f.path, values[f.path])
    return out


def put(data: dict[str, Any], path: str, value: Any) -> None:
    """data[path] = value, a dotted path going into its group's mapping."""
    group, _, key = path.partition(".")
    if key:
        data.setdefault(group, {})[key] = value
    else:
        data[group] = value


def get(data: dict[str, Any], path: str) -> Any:
    group, _, key = path.partition(".")
    value = data.get(group)
    return value.get(key) if key and isinstance(value, dict) else (None if key else value)


def hook_secrets(hook_type: str) -> tuple[str, ...]:
    from dbt_console.hooks import KINDS

    kind = KINDS.get(hook_type)
    return kind.secrets if kind else ()


def public_dict(job: Job) -> dict[str, Any]:
    """A job's plain data with its secret values masked: safe to print, show or send."""
    data = job_to_dict(job)
    if "git" in data:
        data["git"] = {**data["git"], "url": redact(data["git"]["url"])}
    if "env" in data:
        data["env"] = {k: SECRET_MASK if is_secret_env(k, v) else v
                       for k, v in data["env"].items()}
    data["hooks"] = [_masked(h, hook_secrets(h["type"])) for h in data["hooks"]]
    report = (data.get("ci") or {}).get("report")
    if report:
        data["ci"] = {**data["ci"], "report": _masked(report, REPORT_SECRETS)}
    return data


def _masked(options: dict[str, Any], secrets: tuple[str, ...]) -> dict[str, Any]:
    return {k: SECRET_MASK if k in secrets and isinstance(v, str) and not ENV_REF_RE.match(v)
            else v for k, v in options.items()}


def unmask(data: dict[str, Any], original: Job | None) -> dict[str, Any]:
    """Data edited from public_dict(original): a value still masked keeps the original's
    secret, so an edit never writes a mask over a secret it was not shown."""
    if original is None:
        return data
    data = dict(data)
    git = data.get("git")
    if isinstance(git, dict) and original.git and git.get("url") == redact(original.git.url):
        data["git"] = {**git, "url": original.git.url}
    env = data.get("env")
    if isinstance(env, dict):
        data["env"] = {k: original.env.get(k, v) if v == SECRET_MASK else v
                       for k, v in env.items()}
    hooks = data.get("hooks")
    if isinstance(hooks, list):
        data["hooks"] = [_unmask_hook(h, i, original) for i, h in enumerate(hooks)]
    ci, before = data.get("ci"), original.ci and original.ci.report
    if isinstance(ci, dict) and isinstance(ci.get("report"), dict) and before:
        data["ci"] = {**ci, "report": {k: getattr(before, k) if k in REPORT_SECRETS
                                       and v == SECRET_MASK else v
                                       for k, v in ci["report"].items()}}
    return data


def _unmask_hook(hook: Any, index: int, original: Job) -> Any:
    if not isinstance(hook, dict) or index >= len(original.hooks):
        return hook
    before = original.hooks[index]
    if before.type != hook.get("type"):
        return hook
    return {k: before.options.get(k, v) if k in hook_secrets(before.type) and v == SECRET_MASK
            else v for k, v in hook.items()}
