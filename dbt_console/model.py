"""The domain in plain dataclasses, and the rules a job must follow.

Pure: no I/O, no SQL, no Textual. Every check that refuses user input lives here so the
CLI, the jobs file and (later) the TUI form refuse the same things with the same words.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from dbt_console import ci
from dbt_console.ci import CiSpec
from dbt_console.errors import ValidationError


class RunStatus(str, Enum):
    """dbt Cloud's run lifecycle words."""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.ERROR, RunStatus.CANCELLED)


class Trigger:
    """What caused a run. Stored as a short string; some carry a detail after a colon."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    CATCH_UP = "catch-up"
    RETRY = "retry"


# dbt sub-commands a job may run. Interactive or long-lived ones (init, docs serve) are
# not jobs; two-word commands list the second word that makes them a job.
DBT_COMMANDS: dict[str, tuple[str, ...] | None] = {
    "build": None, "run": None, "test": None, "seed": None, "snapshot": None,
    "compile": None, "parse": None, "ls": None, "list": None, "deps": None,
    "clean": None, "debug": None, "retry": None, "show": None, "clone": None,
    "run-operation": None,
    "docs": ("generate",),
    "source": ("freshness",),
}

# Flags dbt-console sets itself for every step; a command that set them would break log
# parsing or mix one run's artifacts into another's.
MANAGED_FLAGS = {
    "--log-format": "dbt-console reads dbt's JSON log; the format is not yours to change",
    "--log-path": "every run gets its own log directory",
    "--target-path": "every run gets its own target directory",
    "--project-dir": "use the job's project_dir or git fields",
    "--profiles-dir": "use the job's profiles_dir field",
}
MANAGED_ENV = {"DBT_LOG_FORMAT", "DBT_LOG_FORMAT_FILE", "DBT_LOG_PATH", "DBT_TARGET_PATH",
               "DBT_PROJECT_DIR", "DBT_PROFILES_DIR"}

# Characters that only mean something to a shell. Commands never run through a shell, so
# they would reach dbt as literal text; refusing them stops `dbt run; rm -rf /` from
# looking like it does what its author meant.
SHELL_TRICKS = re.compile(r"[;&|`<>\n\r]|\$\(")

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TIMEOUT_MINUTES = 7 * 24 * 60

# dbt's own convention: env vars named DBT_ENV_SECRET_* are secrets (dbt scrubs them from
# its logs). A value written as ${VAR} is a reference resolved at run time, not a secret.
SECRET_ENV_PREFIX = "DBT_ENV_SECRET_"
SECRET_MASK = "********"
ENV_REF_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def is_secret_env(key: str, value: str) -> bool:
    return key.startswith(SECRET_ENV_PREFIX) and not ENV_REF_RE.match(value)


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def redact(text: str) -> str:
    """Drop user:token@ from any URL in text: clone URLs may carry credentials."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


@dataclass(frozen=True)
class GitSource:
    url: str
    branch: str = "main"
    subdirectory: str = ""


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str = "UTC"


@dataclass(frozen=True)
class Hook:
    """A notification hook. Sent by the notifications feature; kept whole until then."""

    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    commands: tuple[str, ...]
    project_dir: str | None = None
    git: GitSource | None = None
    profiles_dir: str | None = None
    target: str | None = None
    schedule: Schedule | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout_minutes: int | None = None
    enabled: bool = True
    hooks: tuple[Hook, ...] = ()
    pull: bool = False
    dbt_path: str | None = None
    # Steps fork from a helper that has already imported dbt (engine/warm); false runs each
    # step as a plain `dbt` process, for a dbt that must not share an interpreter's state.
    warm: bool = True
    # `dbt docs generate` after the commands, even after a node failed; the docs are
    # kept with the run and served by `dbt-console docs`.
    generate_docs: bool = False
    # Git jobs: a run (trigger push:<sha>) whenever the branch head moves; the engine
    # polls with git ls-remote every push_poll_seconds (settings).
    on_push: bool = False
    # CI: each branch matching ci.branches runs (trigger ci:<branch>@<sha>) into its own
    # schema, deferring to the last successful run of the job ci.defer_to.
    ci: CiSpec | None = None
    description: str = ""
    after: str | None = None  # run when this job's run finishes...
    after_statuses: tuple[str, ...] = ("success",)  # ...with one of these statuses
    # Store bookkeeping, not part of the job's definition.
    id: int | None = field(default=None, compare=False)
    version: int = field(default=0, compare=False)

    def argvs(self) -> list[list[str]]:
        return [command_argv(c) for c in self.commands]

    def with_store_ids(self, id: int, version: int) -> Job:
        return replace(self, id=id, version=version)


@dataclass
class Run:
    id: int
    job_id: int | None
    job_name: str
    status: RunStatus
    trigger: str
    actor: str
    queued_at: float
    started_at: float | None = None
    finished_at: float | None = None
    git_sha: str | None = None
    git_branch: str | None = None
    error: str | None = None
    run_dir: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at
        return None if end is None else end - self.started_at


def default_cause(run: Run) -> str:
    """Why a run ran, in words, for a run whose caller gave none (dbt Cloud's cause)."""
    kind, _, detail = run.trigger.partition(":")
    words = {
        "schedule": "Kicked off by the schedule", "catch-up": "Caught up after downtime",
        "manual": f"Kicked off by {run.actor}", "retry": f"Retry of run {detail}",
        "job": f"After {detail}", "push": f"Push of {detail[:12]}",
        "ci": f"CI of {detail}", "ci-cleanup": f"Schema cleanup of {detail}",
        "api": f"Triggered through the API by {run.actor}",
    }
    return words.get(kind, f"{run.trigger} by {run.actor}")


# dbt Cloud's DBT_CLOUD_RUN_REASON_CATEGORY, by our trigger's kind.
REASON_CATEGORIES = {"schedule": "scheduled", "catch-up": "scheduled", "ci": "pull_request"}


@dataclass
class Step:
    run_id: int
    idx: int
    command: str
    status: RunStatus
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None


@dataclass
class NodeResult:
    unique_id: str
    status: str
    step: int = 0
    resource_type: str = ""
    message: str | None = None
    failures: int | None = None
    execution_time: float | None = None
    started_at: str | None = None
    finished_at: str | None = None
    thread: str | None = None
    compiled_path: str | None = None


# The event name of the lines dbt-console itself writes into a run's log.
SYSTEM_EVENT = "dbt-console"


class LogLine(NamedTuple):
    """One line of a run's log, as dbt-console keeps it. A tuple: a long log makes
    millions of these, and a tuple is built several times faster than a dataclass."""

    seq: int
    ts: str
    level: str
    step: int
    msg: str
    event: str = ""
    node_id: str | None = None
    node_status: str | None = None


# --- validation ---------------------------------------------------------------------

JOB_FIELDS = {
    "name", "description", "project_dir", "git", "pull", "profiles_dir", "target",
    "commands", "schedule", "env", "timeout_minutes", "enabled", "hooks", "dbt_path",
    "after", "on", "warm", "generate_docs", "on_push", "ci",
}
CHAIN_STATUSES = ("success", "error", "cancelled")
GIT_FIELDS = {"url", "branch", "subdirectory"}
SCHEDULE_FIELDS = {"cron", "timezone"}
CI_FIELDS = {"defer_to", "branches"}


HOOK_EVENTS = ("started", "succeeded", "errored", "cancelled", "warned")
HOOK_FIELDS = {
    "webhook": ({"url"}, {"secret", "header", "events", "name"}),
    "slack": ({"url"}, {"events", "name"}),
    "pagerduty": ({"routing_key"}, {"events", "name", "url"}),
    "command": ({"argv"}, {"events", "name"}),
}


def check_hook(hook: Any) -> list[str]:
    """Problems with one notification hook (empty when it is fine)."""
    if not isinstance(hook, dict) or hook.get("type") not in HOOK_FIELDS:
        return [f"must be a mapping with a type: one of {', '.join(HOOK_FIELDS)}"]
    required, optional = HOOK_FIELDS[hook["type"]]
    problems = [f"{hook['type']} needs '{key}'" for key in sorted(required - set(hook))]
    for key in sorted(set(hook) - required - optional - {"type"}):
        problems.append(f"unknown field {key!r} for a {hook['type']} hook (known: "
                        f"{', '.join(sorted(required | optional))})")
    for key in ("url", "secret", "header", "routing_key", "name"):
        if key in hook and (not isinstance(hook[key], str) or not hook[key]):
            problems.append(f"{key} must be text")
        elif hook.get(key) == SECRET_MASK:
            problems.append(f"{key} holds the mask of an export made without "
                            "--include-secrets; write the value, or ${VAR}")
    url = hook.get("url")
    if isinstance(url, str) and url != SECRET_MASK and not (url.startswith(("http://", "https://"))
                                     or ENV_REF_RE.match(url)):
        problems.append(f"url must be http(s):// or ${{VAR}}, got {redact(url)!r}")
    argv = hook.get("argv")
    if "argv" in hook and (not isinstance(argv, list) or not argv
                           or not all(isinstance(a, str) for a in argv)):
        problems.append("argv must be a list of text: the program and its arguments "
                        "(no shell)")
    events = hook.get("events", ["errored"])
    if not isinstance(events, list) or not events or any(e not in HOOK_EVENTS for e in events):
        problems.append(f"events must be a list from {', '.join(HOOK_EVENTS)}, got {events!r}")
    return problems


def command_argv(command: str) -> list[str]:
    return shlex.split(command)


def check_command(command: Any) -> str | None:
    """The problem with one job command, or None when it is a dbt command we can run."""
    if not isinstance(command, str) or not command.strip():
        return "must be a dbt command as text, e.g. 'dbt build'"
    if SHELL_TRICKS.search(command):
        return (f"{command!r} contains shell syntax (; & | ` < > $( or a newline); commands "
                "run without a shell, one dbt command each")
    try:
        argv = command_argv(command)
    except ValueError as exc:
        return f"{command!r} cannot be split into arguments: {exc}"
    if argv[0] != "dbt":
        return f"{command!r} is not a dbt command; each command must start with 'dbt'"
    if len(argv) < 2 or argv[1] not in DBT_COMMANDS:
        sub = argv[1] if len(argv) > 1 else ""
        return (f"{command!r}: '{sub}' is not a dbt sub-command a job can run "
                f"(one of: {', '.join(sorted(DBT_COMMANDS))})")
    second = DBT_COMMANDS[argv[1]]
    if second is not None and (len(argv) < 3 or argv[2] not in second):
        return f"{command!r}: a job can run 'dbt {argv[1]} {' / '.join(second)}' only"
    for arg in argv[2:]:
        flag = arg.split("=", 1)[0]
        if flag in MANAGED_FLAGS:
            return f"{command!r}: {flag} is set by dbt-console ({MANAGED_FLAGS[flag]})"
    return None


def check_cron(cron: str, timezone: str) -> str | None:
    """The problem with a schedule, or None. Uses APScheduler's parser, the one that fires it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {timezone!r} is not a known IANA timezone (e.g. Europe/Berlin, UTC)"
    if len(cron.split()) != 5:
        return (f"cron {cron!r} must have 5 fields (minute hour day month weekday), "
                f"found {len(cron.split())}")
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(cron, timezone=tz)
    except ValueError as exc:
        return f"cron {cron!r} is not valid: {exc}"
    return None


def _mapping(value: Any, where: str, allowed: set[str], problems: list[str]) -> dict:
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a mapping")
        return {}
    for key in sorted(set(map(str, value)) - allowed):
        problems.append(f"{where}: unknown field {key!r} (known: {', '.join(sorted(allowed))})")
    return value


def job_from_dict(data: Any, where: str = "job") -> Job:
    """Build a Job from plain data (a YAML mapping, a form), or raise ValidationError.

    Every problem found is reported at once, each prefixed with the job's name (or its
    position) and the field, so a user fixes a file in one pass.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ValidationError([f"{where}: must be a mapping of job fields"])
    name = data.get("name")
    label = f"job {name!r}" if isinstance(name, str) and name else where

    def bad(field_name: str, message: str) -> None:
        problems.append(f"{label}: {field_name}: {message}")

    for key in sorted(set(map(str, data)) - JOB_FIELDS):
        bad(key, f"unknown field (known: {', '.join(sorted(JOB_FIELDS))})")

    if not isinstance(name, str) or not NAME_RE.match(name):
        bad("name", "must be a slug: lower-case letters, digits, '-' or '_', "
            f"starting with a letter or digit, at most 63 characters (got {name!r})")

    project_dir, git = data.get("project_dir"), data.get("git")
    if (project_dir is None) == (git is None):
        bad("project_dir", "give exactly one of project_dir (a local dbt project) or git")
    elif project_dir is not None and (not isinstance(project_dir, str) or not project_dir):
        bad("project_dir", "must be a directory path")
    elif git is not None:
        git_map = _mapping(git, f"{label}: git", GIT_FIELDS, problems)
        url, branch = git_map.get("url"), git_map.get("branch", "main")
        subdirectory = git_map.get("subdirectory", "") or ""
        if not isinstance(url, str) or not url:
            bad("git.url", "is required: a URL or path git can clone")
        elif "://***@" in url:
            bad("git.url", "holds the mask of an export made without --include-secrets; "
                "write the URL with its credentials, or keep them in git's credential helper")
        if not isinstance(branch, str) or not branch:
            bad("git.branch", "must be a branch name")
        if not isinstance(subdirectory, str) or subdirectory.startswith("/") or ".." in (
                subdirectory.split("/")):
            bad("git.subdirectory", "must be a relative path inside the repository")

    commands = data.get("commands")
    if commands is None and data.get("ci") is not None:
        commands = list(ci.DEFAULT_COMMANDS)
    if not isinstance(commands, list) or not commands:
        bad("commands", "must be a non-empty list of dbt commands, e.g. ['dbt build']")
        commands = []
    for i, command in enumerate(commands):
        problem = check_command(command)
        if problem:
            bad(f"commands[{i}]", problem)

    if data.get("schedule") is not None:
        sched = _mapping(data["schedule"], f"{label}: schedule", SCHEDULE_FIELDS, problems)
        cron, tz = sched.get("cron"), sched.get("timezone", "UTC")
        if not isinstance(cron, str) or not isinstance(tz, str):
            bad("schedule", "needs cron (text) and optionally timezone (text)")
        else:
            problem = check_cron(cron, tz)
            if problem:
                bad("schedule", problem)

    env = data.get("env") or {}
    if not isinstance(env, dict):
        bad("env", "must be a mapping of NAME: value")
        env = {}
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_KEY_RE.match(key):
            bad("env", f"{key!r} is not a valid environment variable name")
        elif key in MANAGED_ENV:
            bad(f"env.{key}", "is set by dbt-console for every run")
        elif not isinstance(value, str):
            bad(f"env.{key}", f"must be text (quote it in YAML), got {type(value).__name__}")
        elif value == SECRET_MASK:
            bad(f"env.{key}", "holds the mask of an export made without --include-secrets; "
                "write the value, or ${VAR} to read it from the environment")

    timeout = data.get("timeout_minutes")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 1 <= timeout <= MAX_TIMEOUT_MINUTES):
        bad("timeout_minutes", f"must be a whole number of minutes from 1 to "
            f"{MAX_TIMEOUT_MINUTES}, or left out for no timeout (got {timeout!r})")

    raw_hooks = data.get("hooks") or []
    if not isinstance(raw_hooks, list):
        bad("hooks", "must be a list")
        raw_hooks = []
    for i, hook in enumerate(raw_hooks):
        for problem in check_hook(hook):
            bad(f"hooks[{i}]", problem)

    for flag in ("enabled", "pull", "warm", "generate_docs", "on_push"):
        if flag in data and not isinstance(data[flag], bool):
            bad(flag, f"must be true or false (got {data[flag]!r})")
    for text in ("profiles_dir", "target", "dbt_path", "description"):
        if data.get(text) is not None and not isinstance(data[text], str):
            bad(text, "must be text")
    after, on = data.get("after"), data.get("on")
    if after is not None and (not isinstance(after, str) or not NAME_RE.match(after)):
        bad("after", f"must be the name of another job (got {after!r})")
    elif after is not None and after == name:
        bad("after", "a job cannot run after itself")
    if on is not None:
        if after is None:
            bad("on", "only means something with 'after'")
        elif (not isinstance(on, list) or not on
              or any(s not in CHAIN_STATUSES for s in on)):
            bad("on", f"must be a list of statuses from {', '.join(CHAIN_STATUSES)} (got {on!r})")
    if data.get("pull") and git is not None:
        bad("pull", "is for local project_dir checkouts; git jobs are always fetched")
    if data.get("on_push") and git is None:
        bad("on_push", "needs a git job: it runs when the git branch's head moves")
    if data.get("ci") is not None:
        _check_ci(data, label, problems)

    if problems:
        raise ValidationError(problems)
    return job_from_spec({**data, "commands": commands})


def _check_ci(data: dict[str, Any], label: str, problems: list[str]) -> None:
    spec = _mapping(data["ci"], f"{label}: ci", CI_FIELDS, problems)
    defer_to, branches = spec.get("defer_to"), spec.get("branches", "*")
    if not isinstance(defer_to, str) or not NAME_RE.match(defer_to):
        problems.append(f"{label}: ci.defer_to: must name the production job whose last "
                        f"successful run CI compares with (got {defer_to!r})")
    elif defer_to == data.get("name"):
        problems.append(f"{label}: ci.defer_to: a CI job cannot defer to itself")
    if isinstance(branches, str):
        branches = [branches]
    if (not isinstance(branches, list) or not branches
            or not all(isinstance(b, str) and b.strip() for b in branches)):
        problems.append(f"{label}: ci.branches: must be a branch pattern such as "
                        f"'feature/*', or a list of them (got {spec.get('branches')!r})")
    if data.get("git") is None:
        problems.append(f"{label}: ci: needs a git job: CI runs the repository's branches")
    # CI runs come from branches; a schedule, a push trigger or a chain would run the
    # job with no branch to test.
    for other in ("schedule", "on_push", "after"):
        if data.get(other):
            problems.append(f"{label}: {other}: a CI job runs when its branches move; "
                            f"{other} belongs on the production job")


def job_from_spec(data: dict[str, Any]) -> Job:
    """Build a Job from data that was validated when it was saved (the store's own specs).
    Skipping validation here keeps loading a job free of the cron parser's import."""
    git, schedule = data.get("git"), data.get("schedule")
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
        ci=None if data.get("ci") is None else CiSpec(
            defer_to=data["ci"]["defer_to"],
            branches=tuple([b] if isinstance(b := data["ci"].get("branches", "*"), str) else b)),
        description=data.get("description") or "",
        after=data.get("after"),
        after_statuses=tuple(data.get("on") or ("success",)),
    )


def job_to_dict(job: Job) -> dict[str, Any]:
    """The plain-data form of a job: what the jobs file holds. Defaults are left out."""
    out: dict[str, Any] = {"name": job.name}
    if job.description:
        out["description"] = job.description
    if job.project_dir is not None:
        out["project_dir"] = job.project_dir
    if job.git is not None:
        git: dict[str, Any] = {"url": job.git.url, "branch": job.git.branch}
        if job.git.subdirectory:
            git["subdirectory"] = job.git.subdirectory
        out["git"] = git
    if job.pull:
        out["pull"] = True
    if job.on_push:
        out["on_push"] = True
    for key in ("profiles_dir", "target", "dbt_path"):
        if getattr(job, key) is not None:
            out[key] = getattr(job, key)
    if not job.warm:
        out["warm"] = False
    out["commands"] = list(job.commands)
    if job.generate_docs:
        out["generate_docs"] = True
    if job.ci is not None:
        branches = job.ci.branches
        out["ci"] = {"defer_to": job.ci.defer_to,
                     "branches": branches[0] if len(branches) == 1 else list(branches)}
    if job.schedule is not None:
        out["schedule"] = {"cron": job.schedule.cron, "timezone": job.schedule.timezone}
    if job.env:
        out["env"] = dict(job.env)
    if job.timeout_minutes is not None:
        out["timeout_minutes"] = job.timeout_minutes
    if job.after is not None:
        out["after"] = job.after
        out["on"] = list(job.after_statuses)
    out["enabled"] = job.enabled
    out["hooks"] = [{"type": h.type, **h.options} for h in job.hooks]
    return out
