"""The rules a job must follow, described once: the jobs file, the form and the API refuse
the same things with the same words. Rules that need the store (does the upstream job
exist?) are the actions' (actions/jobs.py). Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from dbt_console import ci
from dbt_console import sla as sla_rules
from dbt_console.errors import ValidationError
from dbt_console.inputlimits import (
    MAX_COMMANDS,
    MAX_FIELD_BYTES,
    one_line,
    oversized,
    shown,
    text_problem,
    texts_of,
)
from dbt_console.jobfields import TOP_LEVEL, group_keys, job_from_spec
from dbt_console.model import ENV_REF_RE, SECRET_MASK, Job, redact

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

# Upper case too: clients of dbt Cloud's API name the jobs they create so (Dagster's
# DAGSTER_ADHOC_JOB__1__1).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TIMEOUT_MINUTES = 7 * 24 * 60


JOB_FIELDS = TOP_LEVEL
CHAIN_STATUSES = ("success", "error", "cancelled")
GIT_FIELDS = group_keys("git")
SCHEDULE_FIELDS = group_keys("schedule")
CI_FIELDS = group_keys("ci")


def check_hook(hook: Any) -> list[str]:
    """Problems with one notification hook (empty when it is fine)."""
    from dbt_console.hooks import ALERTS, EVENTS, KINDS, policy

    if not isinstance(hook, dict) or hook.get("type") not in KINDS:
        return [f"must be a mapping with a type: one of {', '.join(KINDS)}"]
    kind = KINDS[hook["type"]]
    problems = [f"{kind.name} needs '{key}'" for key in sorted(kind.required - set(hook))]
    for key in sorted(set(hook) - kind.fields):
        article = "an" if kind.name[0] in "aeiou" else "a"
        problems.append(f"unknown field {shown(key)} for {article} {kind.name} hook (known: "
                        f"{', '.join(sorted(kind.fields - {'type'}))})")
    for key in ("url", "secret", "header", "routing_key", "name"):
        if key in hook and (not isinstance(hook[key], str) or not hook[key]):
            problems.append(f"{key} must be text")
        elif hook.get(key) == SECRET_MASK:
            problems.append(f"{key} holds the mask of an export made without "
                            "--include-secrets; write the value, or ${VAR}")
    for key in ("url", "secret", "header", "routing_key"):
        if isinstance(hook.get(key), str) and not one_line(hook[key]):
            problems.append(f"{key} must be one line: CR, LF and NUL cannot be sent in it")
    url = hook.get("url")
    if isinstance(url, str) and url != SECRET_MASK and not (url.startswith(("http://", "https://"))
                                     or ENV_REF_RE.match(url)):
        problems.append(f"url must be http(s):// or ${{VAR}}, got {shown(redact(url))}")
    argv = hook.get("argv")
    if "argv" in hook and (not isinstance(argv, list) or not argv
                           or not all(isinstance(a, str) for a in argv)):
        problems.append("argv must be a list of text: the program and its arguments "
                        "(no shell)")
    elif "argv" in hook and not argv[0].strip():
        problems.append("argv[0] must name the program to run")
    events = hook.get("events", ["errored"])
    known = (*EVENTS, *ALERTS)
    if not isinstance(events, list) or not events or any(e not in known for e in events):
        problems.append(f"events must be a list from {', '.join(known)}, got {shown(events)}")
    return problems + kind.problems(hook) + policy.problems(hook)


def command_argv(command: str) -> list[str]:
    return shlex.split(command)


def check_command(command: Any) -> str | None:
    """The problem with one job command, or None when it is a dbt command we can run."""
    if not isinstance(command, str) or not command.strip():
        return "must be a dbt command as text, e.g. 'dbt build'"
    if SHELL_TRICKS.search(command):
        return (f"{shown(command)} contains shell syntax (; & | ` < > $( or a newline); "
                "commands "
                "run without a shell, one dbt command each")
    try:
        argv = command_argv(command)
    except ValueError as exc:
        return f"{shown(command)} cannot be split into arguments: {exc}"
    if argv[0] != "dbt":
        return f"{shown(command)} is not a dbt command; each command must start with 'dbt'"
    if len(argv) < 2 or argv[1] not in DBT_COMMANDS:
        sub = argv[1] if len(argv) > 1 else ""
        return (f"{shown(command)}: '{sub}' is not a dbt sub-command a job can run "
                f"(one of: {', '.join(sorted(DBT_COMMANDS))})")
    second = DBT_COMMANDS[argv[1]]
    if second is not None and (len(argv) < 3 or argv[2] not in second):
        return f"{shown(command)}: a job can run 'dbt {argv[1]} {' / '.join(second)}' only"
    for arg in argv[2:]:
        flag = arg.split("=", 1)[0]
        if flag in MANAGED_FLAGS:
            return f"{shown(command)}: {flag} is set by dbt-console ({MANAGED_FLAGS[flag]})"
    return None


# What git would take as an option, or a transport that runs a command (ext::), is never
# a repository: a job's URL and branch reach git's command line.
UNSAFE_URL = re.compile(r"^\s*-|^ext::|^fd::", re.IGNORECASE)
BAD_REF = re.compile(r"^-|\.\.|[\x00-\x20~^:?*\[\\\x7f]|@\{|//|^/|/$|\.lock$|\.$|^@$")


def check_git_url(url: str) -> str | None:
    if UNSAFE_URL.search(url):
        return (f"{shown(redact(url))} is not a repository URL git may fetch (an option, "
                "or a "
                "transport that runs a command)")
    return None


def check_branch(branch: str) -> str | None:
    """The problem with a branch name, or None: git's ref rules, and never an option."""
    if not branch or BAD_REF.search(branch) or len(branch) > 255:
        return (f"{shown(branch)} is not a valid branch name (no leading '-', spaces, '..', "
                "'~^:?*[\\' or control characters)")
    return None


def cron_problems(cron: str, timezone: str) -> list[str]:
    """What is wrong with a schedule, read as the scheduler reads it."""
    from dbt_console import cron as crontab

    return crontab.problems(cron, timezone)


def _mapping(value: Any, where: str, allowed: set[str], problems: list[str]) -> dict:
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a mapping")
        return {}
    for key in sorted(set(map(str, value)) - allowed):
        problems.append(f"{where}: unknown field {shown(key)} "
                        f"(known: {', '.join(sorted(allowed))})")
    return value


class _Problems:
    """Problems found in one job, each prefixed with the job's name and the field."""

    def __init__(self, label: str):
        self.label = label
        self.found: list[str] = []

    def bad(self, field_name: str, message: str) -> None:
        self.found.append(f"{self.label}: {field_name}: {message}")


def job_from_dict(data: Any, where: str = "job") -> Job:
    """Build a Job from plain data (a YAML mapping, a form), or raise ValidationError.

    Every problem found is reported at once, each prefixed with the job's name (or its
    position) and the field, so a user fixes a file in one pass.
    """
    if not isinstance(data, dict):
        raise ValidationError([f"{where}: must be a mapping of job fields"])
    name = data.get("name")
    texts = texts_of(data)
    too_big = oversized(texts)
    if too_big:  # before any other check reads them
        label = f"job {shown(name)}" if isinstance(name, str) and len(name) < 100 else where
        raise ValidationError([f"{label}: {f}: over {MAX_FIELD_BYTES >> 20} MiB, more than "
                               "a job's field may hold" for f in too_big])
    p = _Problems(f"job {shown(name)}" if isinstance(name, str) and name else where)
    for path, text in texts:
        if problem := text_problem(text):
            p.bad(path, problem)
    for key in sorted(set(map(str, data)) - JOB_FIELDS):
        p.bad(key, f"unknown field (known: {', '.join(sorted(JOB_FIELDS))})")
    if name is None or name == "":
        p.bad("name", "required: letters, digits, '-' or '_', starting with a letter or "
              "digit, at most 63 characters")
    elif not isinstance(name, str) or not NAME_RE.match(name):
        p.bad("name", "must be a slug: letters, digits, '-' or '_', "
              f"starting with a letter or digit, at most 63 characters (got {shown(name)})")
    _check_source(data, p)
    commands = _check_commands(data, p)
    _check_schedule(data, p)
    _check_env(data, p)
    _check_scalars(data, p)
    _check_hooks(data, p)
    _check_chain(data, p)
    if data.get("ci") is not None:
        _check_ci(data, p.label, p.found)
    if data.get("sla") is not None:
        p.found.extend(f"{p.label}: {why}" for why in sla_rules.problems(
            data["sla"], data.get("schedule") is not None))
    if p.found:
        raise ValidationError(p.found)
    return job_from_spec({**data, "commands": commands})


def _check_source(data: dict[str, Any], p: _Problems) -> None:
    project_dir, git = data.get("project_dir"), data.get("git")
    if (project_dir is None) == (git is None):
        p.bad("project_dir", "give exactly one of project_dir (a local dbt project) or git")
    elif project_dir is not None and (not isinstance(project_dir, str) or not project_dir):
        p.bad("project_dir", "must be a directory path")
    elif git is not None:
        git_map = _mapping(git, f"{p.label}: git", GIT_FIELDS, p.found)
        url, branch = git_map.get("url"), git_map.get("branch", "main")
        subdirectory = git_map.get("subdirectory", "") or ""
        if not isinstance(url, str) or not url:
            p.bad("git.url", "is required: a URL or path git can clone")
        elif "://***@" in url:
            p.bad("git.url", "holds the mask of an export made without --include-secrets; "
                  "write the URL with its credentials, or keep them in git's credential helper")
        if not isinstance(branch, str) or check_branch(branch):
            p.bad("git.branch", check_branch(branch) if isinstance(branch, str)
                  else "must be a branch name")
        if isinstance(url, str) and check_git_url(url):
            p.bad("git.url", check_git_url(url))
        if not isinstance(subdirectory, str) or subdirectory.startswith("/") or ".." in (
                subdirectory.split("/")):
            p.bad("git.subdirectory", "must be a relative path inside the repository")
    if data.get("pull") and git is not None:
        p.bad("pull", "is for local project_dir checkouts; git jobs are always fetched")
    if data.get("on_push") and git is None:
        p.bad("on_push", "needs a git job: it runs when the git branch's head moves")


def _check_commands(data: dict[str, Any], p: _Problems) -> list:
    commands = data.get("commands")
    if commands is None and data.get("ci") is not None:
        commands = list(ci.DEFAULT_COMMANDS)
    if not isinstance(commands, list) or not commands:
        p.bad("commands", "must be a non-empty list of dbt commands, e.g. ['dbt build']")
        return []
    if len(commands) > MAX_COMMANDS:
        p.bad("commands", f"{len(commands)} commands, more than the {MAX_COMMANDS} a job "
                          "may run")
        return []
    for i, command in enumerate(commands):
        problem = check_command(command)
        if problem:
            p.bad(f"commands[{i}]", problem)
    return commands


def _check_schedule(data: dict[str, Any], p: _Problems) -> None:
    if data.get("schedule") is None:
        return
    sched = _mapping(data["schedule"], f"{p.label}: schedule", SCHEDULE_FIELDS, p.found)
    cron, tz = sched.get("cron"), sched.get("timezone", "UTC")
    if not isinstance(cron, str) or not isinstance(tz, str):
        p.bad("schedule", "needs cron (text) and optionally timezone (text)")
        return
    for problem in cron_problems(cron, tz):
        p.bad("schedule", problem)


def _check_env(data: dict[str, Any], p: _Problems) -> None:
    env = data.get("env") or {}
    if not isinstance(env, dict):
        p.bad("env", "must be a mapping of NAME: value")
        return
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_KEY_RE.match(key):
            p.bad("env", f"{shown(key)} is not a valid environment variable name")
        elif key in MANAGED_ENV:
            p.bad(f"env.{key}", "is set by dbt-console for every run")
        elif not isinstance(value, str):
            p.bad(f"env.{key}", f"must be text (quote it in YAML), got {type(value).__name__}")
        elif value == SECRET_MASK:
            p.bad(f"env.{key}", "holds the mask of an export made without --include-secrets; "
                  "write the value, or ${VAR} to read it from the environment")


def _check_scalars(data: dict[str, Any], p: _Problems) -> None:
    timeout = data.get("timeout_minutes")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 1 <= timeout <= MAX_TIMEOUT_MINUTES):
        p.bad("timeout_minutes", f"must be a whole number of minutes from 1 to "
              f"{MAX_TIMEOUT_MINUTES}, or left out for no timeout (got {shown(timeout)})")
    for flag in ("enabled", "pull", "warm", "generate_docs", "on_push"):
        if flag in data and not isinstance(data[flag], bool):
            p.bad(flag, f"must be true or false (got {shown(data[flag])})")
    for text in ("profiles_dir", "target", "dbt_path", "description"):
        if data.get(text) is not None and not isinstance(data[text], str):
            p.bad(text, "must be text")


def _check_hooks(data: dict[str, Any], p: _Problems) -> None:
    raw_hooks = data.get("hooks") or []
    if not isinstance(raw_hooks, list):
        p.bad("hooks", "must be a list")
        return
    for i, hook in enumerate(raw_hooks):
        for problem in check_hook(hook):
            p.bad(f"hooks[{i}]", problem)


def _check_chain(data: dict[str, Any], p: _Problems) -> None:
    after, on = data.get("after"), data.get("on")
    if after is not None and (not isinstance(after, str) or not NAME_RE.match(after)):
        p.bad("after", f"must be the name of another job (got {shown(after)})")
    elif after is not None and after == data.get("name"):
        p.bad("after", "a job cannot run after itself")
    if on is None:
        return
    if after is None:
        p.bad("on", "only means something with 'after'")
    elif not isinstance(on, list) or not on or any(s not in CHAIN_STATUSES for s in on):
        p.bad("on", f"must be a list of statuses from {', '.join(CHAIN_STATUSES)} "
                    f"(got {shown(on)})")


def _check_ci(data: dict[str, Any], label: str, problems: list[str]) -> None:
    spec = _mapping(data["ci"], f"{label}: ci", CI_FIELDS, problems)
    defer_to, branches = spec.get("defer_to"), spec.get("branches", "*")
    if not isinstance(defer_to, str) or not NAME_RE.match(defer_to):
        problems.append(f"{label}: ci.defer_to: must name the production job whose last "
                        f"successful run CI compares with (got {shown(defer_to)})")
    elif defer_to == data.get("name"):
        problems.append(f"{label}: ci.defer_to: a CI job cannot defer to itself")
    if isinstance(branches, str):
        branches = [branches]
    if (not isinstance(branches, list) or not branches
            or not all(isinstance(b, str) and b.strip() for b in branches)):
        problems.append(f"{label}: ci.branches: must be a branch pattern such as "
                        f"'feature/*', or a list of them (got {shown(spec.get('branches'))})")
    if spec.get("report") is not None:
        problems.extend(f"{label}: {why}" for why in ci.report_problems(spec["report"]))
        if isinstance(spec["report"], dict) and spec["report"].get("token") == SECRET_MASK:
            problems.append(f"{label}: ci.report.token: holds the mask of an export made "
                            "without --include-secrets; write the value, or ${VAR}")
    if data.get("git") is None:
        problems.append(f"{label}: ci: needs a git job: CI runs the repository's branches")
    # CI runs come from branches; a schedule, a push trigger or a chain would run the
    # job with no branch to test.
    for other in ("schedule", "on_push", "after"):
        if data.get(other):
            problems.append(f"{label}: {other}: a CI job runs when its branches move; "
                            f"{other} belongs on the production job")
