"""Continuous integration: what a CI job runs for a branch, decided without any I/O.

A CI job (`ci: {defer_to: nightly, branches: "feature/*"}`) runs each matching branch of
its repository into a schema of its own, building only what the branch changed (dbt's
`state:modified+`) and reading everything else from the production job's relations
(`--defer --state` with the production run's manifest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

# What a CI job runs when its author gives no commands: dbt Cloud's CI default.
DEFAULT_COMMANDS = ("dbt build --select state:modified+",)
# The run's environment carries the branch's schema; profiles.yml reads it.
SCHEMA_ENV = "DBT_CONSOLE_CI_SCHEMA"
CLEANUP_MACRO = "dbt_console_drop_schema"
# The dbt macros CI calls (the cleanup's drop, compare changes), kept as the files the
# engine copies into a run's clone; the warm helper compiles them once when it starts.
MACROS = Path(__file__).with_name("macros")
CLEANUP_MACRO_FILE = "dbt_console_ci_cleanup.sql"
# Sub-commands that build or select nodes, and so take --defer --state.
DEFERRING = {"build", "run", "test", "seed", "snapshot", "compile", "ls", "list", "show",
             "clone"}
SELECTING = {"--select", "-s", "--models", "-m", "--exclude", "--selector"}
# Schema names: warehouses differ in what they accept; lower-case letters, digits and _
# are safe everywhere, and 63 characters fits Postgres, the shortest limit.
MAX_SCHEMA = 63


# Where a CI job can report: the host's API when the job gives no api_url.
REPORT_HOSTS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
REPORT_FIELDS = ("type", "repo", "token", "api_url")
REPORT_SECRETS = ("token",)


@dataclass(frozen=True)
class ReportSpec:
    """Where a CI job's runs are reported: a commit status and one pull request comment."""

    type: str  # a key of REPORT_HOSTS
    repo: str  # GitHub: owner/name; GitLab: the project's path or id
    token: str  # the value, or ${VAR} read from the engine's environment at send time
    api_url: str | None = None

    @property
    def base_url(self) -> str:
        return (self.api_url or REPORT_HOSTS[self.type]).rstrip("/")

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("type", self.type), ("repo", self.repo),
                                  ("token", self.token), ("api_url", self.api_url)) if v}


@dataclass(frozen=True)
class CiSpec:
    defer_to: str
    branches: tuple[str, ...] = ("*",)
    report: ReportSpec | None = None


def report_problems(report: object) -> list[str]:
    """What is wrong with a ci.report mapping, each naming its field."""
    if not isinstance(report, dict):
        return ["ci.report: must be a mapping with type, repo and token"]
    problems = [f"ci.report.{k}: unknown field (known: {', '.join(REPORT_FIELDS)})"
                for k in sorted(set(map(str, report)) - set(REPORT_FIELDS))]
    if report.get("type") not in REPORT_HOSTS:
        problems.append(f"ci.report.type: must be one of {', '.join(REPORT_HOSTS)} "
                        f"(got {report.get('type')!r})")
    for key in ("repo", "token"):
        if not isinstance(report.get(key), str) or not report[key].strip():
            problems.append(f"ci.report.{key}: is required text")
    url = report.get("api_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        problems.append(f"ci.report.api_url: must be an http(s):// URL (got {url!r})")
    return problems


def report_from_dict(report: dict | None) -> ReportSpec | None:
    if not report:
        return None
    return ReportSpec(report["type"], report["repo"], report["token"], report.get("api_url"))


def matches(spec: CiSpec, branch: str, base_branch: str) -> bool:
    """Whether a branch gets CI runs. The base branch is production's, never CI's."""
    return branch != base_branch and any(fnmatchcase(branch, p) for p in spec.branches)


def branch_slug(branch: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", branch.lower()).strip("_") or "branch"


def schema_for(job_name: str, branch: str) -> str:
    """The branch's own schema: <job>_<branch-slug>, cut to fit with a short hash of the
    branch name so that two long branches never share one."""
    name = f"{branch_slug(job_name)}_{branch_slug(branch)}"
    if len(name) <= MAX_SCHEMA:
        return name
    import hashlib

    digest = hashlib.sha1(branch.encode()).hexdigest()[:8]
    return f"{name[:MAX_SCHEMA - 9]}_{digest}"


def with_state(argv: list[str], state_dir: str) -> list[str]:
    """Add --defer --state DIR to a dbt command that selects nodes (unless its author
    already set the state), so unbuilt parents are read from production."""
    if len(argv) < 2 or argv[1] not in DEFERRING:
        return argv
    if any(a.split("=", 1)[0] in ("--state", "--defer-state", "--defer", "--no-defer")
           for a in argv):
        return argv
    return [*argv, "--defer", "--state", state_dir]


def without_state_selection(argv: list[str]) -> list[str]:
    """The command with its state: selectors removed: with no production manifest there is
    no state to compare with, so everything the rest of the selection names is built."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, inline = arg.partition("=")
        if flag in SELECTING and eq:
            kept = _drop_state(inline.split())
            if kept:
                out.append(f"{flag}={' '.join(kept)}")
            i += 1
            continue
        if flag in SELECTING:
            j = i + 1
            while j < len(argv) and not argv[j].startswith("-"):
                j += 1
            kept = _drop_state(argv[i + 1:j])
            if kept:
                out.extend([arg, *kept])
            i = j
            continue
        out.append(arg)
        i += 1
    return out


def _drop_state(selectors: list[str]) -> list[str]:
    kept = []
    for selector in selectors:
        # A comma joins selectors into an intersection: drop just the state: parts.
        parts = [p for p in selector.split(",") if "state:" not in p]
        if parts:
            kept.append(",".join(parts))
    return kept
