"""The domain as plain types: jobs, runs, steps, node results, log lines, triggers.

Pure: no I/O, no SQL, no Textual. The rules a job must follow are in jobrules.py, its
fields in jobfields.py, queueing decisions in queueing.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from dbt_console.ci import SCHEMA_ENV, CiSpec


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


# What a node's status means, for every screen, summary, hook and API answer alike.
FAILED_NODE = frozenset({"error", "fail", "runtime error"})
SKIPPED_NODE = frozenset({"skipped"})
WARNED_NODE = frozenset({"warn"})


@dataclass(frozen=True)
class Trigger:
    """What caused a run: a kind and, for some, a detail. Stored as `kind` or
    `kind:detail`; parsed once (parse) and rendered once (str)."""

    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.detail}" if self.detail else self.kind

    @classmethod
    def parse(cls, text: str) -> Trigger:
        kind, _, detail = text.partition(":")
        return cls(kind, detail)

    @classmethod
    def manual(cls) -> Trigger:
        return cls("manual")

    @classmethod
    def api(cls) -> Trigger:
        return cls("api")

    @classmethod
    def schedule(cls) -> Trigger:
        return cls("schedule")

    @classmethod
    def catch_up(cls) -> Trigger:
        return cls("catch-up")

    @classmethod
    def retry(cls, run_id: int) -> Trigger:
        return cls("retry", str(run_id))

    @classmethod
    def after(cls, job_name: str, run_id: int) -> Trigger:
        return cls("job", f"{job_name}#{run_id}")

    @classmethod
    def push(cls, sha: str) -> Trigger:
        return cls("push", sha)

    @classmethod
    def ci(cls, branch: str, sha: str) -> Trigger:
        return cls("ci", f"{branch}@{sha}")

    @classmethod
    def ci_cleanup(cls, branch: str) -> Trigger:
        return cls("ci-cleanup", branch)

    @property
    def branch(self) -> str | None:
        """The branch a CI run tests, or a cleanup drops the schema of."""
        if self.kind == "ci":
            return self.detail.rpartition("@")[0]
        return self.detail if self.kind == "ci-cleanup" else None

    def words(self, actor: str) -> str:
        """Why a run ran, for a run whose caller gave no cause (dbt Cloud's cause)."""
        d = self.detail
        return {
            "schedule": "Kicked off by the schedule", "catch-up": "Caught up after downtime",
            "manual": f"Kicked off by {actor}", "retry": f"Retry of run {d}",
            "job": f"After {d}", "push": f"Push of {d[:12]}", "ci": f"CI of {d}",
            "ci-cleanup": f"Schema cleanup of {d}",
            "api": f"Triggered through the API by {actor}",
        }.get(self.kind, f"{self} by {actor}")

    @property
    def reason_category(self) -> str:
        """dbt Cloud's DBT_CLOUD_RUN_REASON_CATEGORY."""
        return {"schedule": "scheduled", "catch-up": "scheduled",
                "ci": "pull_request"}.get(self.kind, "other")

    def short(self) -> str:
        """For tables: a sha cut to 12 characters, so a CI trigger keeps columns on screen."""
        if self.kind == "push":
            return f"push:{self.detail[:12]}"
        if self.kind == "ci":
            branch, _, sha = self.detail.rpartition("@")
            return f"ci:{branch}@{sha[:12]}"
        return str(self)


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
    """A notification hook: its kind (hooks.KINDS) and that kind's fields."""

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
    sla: Sla | None = None
    # Store bookkeeping, not part of the job's definition.
    id: int | None = field(default=None, compare=False)
    version: int = field(default=0, compare=False)

    @property
    def watches_remote(self) -> bool:
        """Does the engine poll its git remote: an enabled on_push or CI job?"""
        return self.enabled and self.git is not None and (self.on_push or self.ci is not None)

    def with_store_ids(self, id: int, version: int) -> Job:
        return replace(self, id=id, version=version)


@dataclass(frozen=True)
class Overrides:
    """What one run changes of its job (the API's *_override fields). Checked by the
    caller; None leaves the job's own value."""

    commands: tuple[str, ...] | None = None
    target: str | None = None
    timeout_minutes: int | None = None
    no_timeout: bool = False
    generate_docs: bool | None = None
    env: dict[str, str] = field(default_factory=dict)
    threads: int | None = None
    schema: str | None = None  # a schema of its own: profiles.yml reads it, as for CI

    def apply(self, job: Job) -> Job:
        schema = {} if self.schema is None else {SCHEMA_ENV: self.schema}
        changes: dict[str, Any] = {"env": {**job.env, **self.env, **schema}}
        if self.commands is not None:
            changes["commands"] = self.commands
        if self.threads is not None:
            changes["commands"] = tuple(with_threads(c, self.threads)
                                        for c in changes.get("commands", job.commands))
        if self.target is not None:
            changes["target"] = self.target
        if self.timeout_minutes is not None or self.no_timeout:
            changes["timeout_minutes"] = self.timeout_minutes
        if self.generate_docs is not None:
            changes["generate_docs"] = self.generate_docs
        return replace(job, **changes)

    def echo(self) -> dict[str, Any]:
        """What was asked, in dbt Cloud's trigger fields (clients read the steps run
        from there); what was not asked is left out."""
        timeout = 0 if self.no_timeout else (
            None if self.timeout_minutes is None else self.timeout_minutes * 60)
        asked = {"steps_override": None if self.commands is None else list(self.commands),
                 "target_name_override": self.target, "threads_override": self.threads,
                 "generate_docs_override": self.generate_docs,
                 "schema_override": self.schema, "timeout_seconds_override": timeout}
        return {k: v for k, v in asked.items() if v is not None}


# dbt's sub-commands that take --threads (dbt-core 1.10/1.11 reads no DBT_THREADS).
THREADED = ("build", "run", "test", "seed", "snapshot", "compile", "clone", "retry", "show",
            "docs generate", "source freshness")


def with_threads(command: str, threads: int) -> str:
    """`command` run on `threads` threads, when its sub-command takes them (the last
    --threads wins, so one the command already has is overridden)."""
    rest = command.split(maxsplit=1)[1] if " " in command else ""
    if not any(rest == sub or rest.startswith(sub + " ") for sub in THREADED):
        return command
    return f"{command} --threads {threads}"


@dataclass
class Run:
    id: int
    job_id: int | None
    job_name: str
    status: RunStatus
    trigger: Trigger
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


@dataclass(frozen=True)
class Sla:
    """A job's run alerts (sla.py says what each means)."""

    finish_by: str | None = None          # "07:00" in the schedule's timezone: late
    max_minutes: int | None = None        # a run going longer: slow
    slower_than_usual: float | None = None  # over this times the usual duration: slow
    missed: bool = False                  # a fire not started within the grace: missed


@dataclass(frozen=True)
class Project:
    """A distinct dbt project that jobs run (dbt Cloud's project); ids are never reused."""

    id: int
    name: str
    source: str  # git:<url without credentials>#<subdirectory>, or dir:<path>
    created_at: float


@dataclass(frozen=True)
class Environment:
    """A project run with one target (dbt Cloud's environment)."""

    id: int
    project_id: int
    name: str
    target: str  # '' for the profile's default target
    created_at: float


# A run's steps as dbt Cloud numbers them, so every front end and API client counts alike:
# three set-up steps, then the job's commands from step 4 on.
CLONE_STEP, PROFILE_STEP, DEPS_STEP = 1, 2, 3
FIRST_COMMAND_STEP = 4
DOCS_COMMAND = "dbt docs generate"  # the last step of a job with generate_docs


@dataclass
class Step:
    run_id: int
    idx: int
    command: str
    status: RunStatus
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    skipped: bool = False  # a command of a finished run that never started


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
# A line holding a traceback folded into it (engine/tracefold.py): views show its first line.
FOLDED_EVENT = "dbt-console-folded"


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
