"""Jobs: create, update, delete, import, export, pause, resume, and reading them back.

The rules that need the store (a chained job's upstream exists, a project_dir is there)
are applied here, once, for the jobs file, the form and the API alike.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dbt_console import queueing
from dbt_console.access import Forbidden, allows
from dbt_console.actions.context import Context
from dbt_console.actions.guard import Noted, action
from dbt_console.errors import UserError, ValidationError
from dbt_console.inputlimits import MAX_JOBS
from dbt_console.jobfields import public_dict
from dbt_console.model import Job, Run, RunStatus


@action("viewer")
def list_all(ctx: Context) -> list[Job]:
    return ctx.store.list_jobs()


@action("viewer")
def get(ctx: Context, name: str) -> Job:
    return ctx.store.get_job(name)


@action("viewer")
def find(ctx: Context, name: str) -> Job | None:
    return ctx.store.find_job(name)


@action("viewer")
def by_id(ctx: Context, job_id: int) -> Job:
    from dbt_console.errors import NotFound

    for job in ctx.store.list_jobs():
        if job.id == job_id:
            return job
    raise NotFound(f"no job with id {job_id}")


@dataclass(frozen=True)
class BranchRow:
    """A CI job's open branch: its head on the remote as last seen, its latest run, what
    that run's compare changes found and the commit status it reported."""

    branch: str
    head: str
    run: Run | None
    differing: int | None = None  # models that differ from production; None: no compare
    reported: str | None = None  # the status sent to the pull request, and how it went


@dataclass(frozen=True)
class JobRow:
    """What a jobs list shows of a job: the job, its latest run, its recent statuses, and
    for a CI job its open branches with their latest runs."""

    job: Job
    last: Run | None
    recent: tuple[RunStatus, ...]
    branches: tuple[BranchRow, ...] = ()
    # A run alert (late, slow, missed) raised since the job last succeeded, or None.
    alert: str | None = None


@action("viewer")
def overview(ctx: Context) -> list[JobRow]:
    store = ctx.store
    latest = store.latest_runs()
    alerts = store.open_alerts()
    history = store.recent_statuses(10)
    rows = []
    for job in store.list_jobs():
        branches: tuple = ()
        if job.ci is not None:
            branches = _branch_rows(store, job)
        rows.append(JobRow(job, latest.get(job.name), tuple(history.get(job.name, ())),
                           branches, alerts.get(job.name)))
    return rows


def _branch_rows(store, job: Job) -> tuple[BranchRow, ...]:
    from dbt_console.ci.report import reported
    from dbt_console.engine.notify.reports import REPORT_INDEX

    runs = store.latest_branch_runs(job.name)
    ids = [r.id for r in runs.values()]
    differing = store.differing_models(ids)
    sent = store.latest_deliveries(ids, REPORT_INDEX)
    rows = []
    for b in store.ci_branches(job.name):
        if b.gone_at is None:
            run = runs.get(b.branch)
            rows.append(BranchRow(b.branch, b.sha, run, run and differing.get(run.id),
                                  run and sent.get(run.id) and reported(sent[run.id])))
    return tuple(rows)


@action("viewer")
def check_in_store(ctx: Context, jobs: list[Job], where: str = "") -> None:
    """The rules a job must meet that depend on what else exists: its upstream job and
    CI's production job are jobs (or come in the same batch); its project_dir is a dbt
    project on this machine."""
    after = {j.name: j.after for j in ctx.store.list_jobs()} | {j.name: j.after for j in jobs}
    names = set(after)
    prefix = f"{where}: " if where else ""
    problems = []
    for job in jobs:
        if job.after is not None and job.after not in names:
            problems.append(f"{prefix}job {job.name!r}: after: no job named {job.after!r}")
        elif cycle := queueing.after_cycle(after, job.name):
            problems.append(f"{prefix}job {job.name!r}: after: {' -> '.join(cycle)} is a "
                            "cycle: each run would queue the next for ever")
        if job.ci is not None and job.ci.defer_to not in names:
            problems.append(f"{prefix}job {job.name!r}: ci.defer_to: no job named "
                            f"{job.ci.defer_to!r}")
        if job.dbt_path is not None:
            problems.extend(_dbt_problem(job, prefix))
        if job.project_dir is not None:
            if not os.path.isdir(job.project_dir):
                problems.append(f"{prefix}job {job.name!r}: project_dir: {job.project_dir} "
                                "does not exist")
            elif not os.path.isfile(os.path.join(job.project_dir, "dbt_project.yml")):
                problems.append(f"{prefix}job {job.name!r}: project_dir: no dbt_project.yml "
                                f"in {job.project_dir}")
    if problems:
        raise ValidationError(problems)


@action("editor", changes=True, job=lambda ctx, job: job.name,
        target=lambda ctx, job: f"job {job.name}", detail=lambda ctx, job: _diff(None, job))
def create(ctx: Context, job: Job) -> Job:
    _check_room(ctx, [job])
    # Who may set a program comes before checking it: the check runs its --version.
    _check_admin_fields(ctx, job, None)
    check_in_store(ctx, [job])
    return ctx.store.create_job(job)


@action("editor", changes=True, job=lambda ctx, job, previous: previous.name,
        target=lambda ctx, job, previous: f"job {previous.name}",
        detail=lambda ctx, job, previous: _diff(previous, job))
def update(ctx: Context, job: Job, previous: Job) -> Job:
    """Save an edited job, refusing when someone else saved it since `previous` was read."""
    _check_admin_fields(ctx, job, previous)
    check_in_store(ctx, [job])
    return ctx.store.update_job(job, previous.name, previous.version)


@action("editor", changes=True, job=lambda ctx, name: name,
        target=lambda ctx, name: f"job {name}")
def delete(ctx: Context, name: str) -> None:
    ctx.store.delete_job(name)


@action("editor", changes=True, job=lambda ctx, name, *a, **k: name,
        target=lambda ctx, name, enabled, *a, **k: f"{'resume' if enabled else 'pause'} job {name}")
def set_enabled(ctx: Context, name: str, enabled: bool) -> Job:
    """Pause (enabled False) or resume a job's schedule."""
    job = ctx.store.get_job(name)
    return ctx.store.update_job(replace(job, enabled=enabled), job.name, job.version)


@dataclass(frozen=True)
class Imported:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...] = ()  # in the file as they already were: not saved again


def import_file(ctx: Context, path: Path) -> Imported:
    """Create or update the jobs of a jobs file, all or none. Jobs not in the file stay.
    The file is read here, by the one asking, never by the engine on their behalf."""

    from dbt_console import jobspec

    text = jobspec.read_jobs_file(path)
    return import_text(ctx, text, str(path), str(path.resolve().parent))


@action("editor", changes=True, target=lambda ctx, text, source, base: f"jobs file {source}")
def import_text(ctx: Context, text: str, source: str, base: str) -> Noted[Imported]:
    """A jobs file's text (`source` names it; relative project_dirs are under `base`)."""

    from dbt_console import jobspec

    jobs = jobspec.parse_jobs(text, source, Path(base))
    _check_room(ctx, jobs)
    before = {j.name: j for j in ctx.store.list_jobs()}
    for job in jobs:  # before check_in_store, which runs a dbt_path's --version
        _check_admin_fields(ctx, job, before.get(job.name))
    check_in_store(ctx, jobs, source)
    changed = [j for j in jobs if before.get(j.name) != j]
    ctx.store.save_jobs(changed)
    return Noted(Imported(tuple(j.name for j in changed if j.name not in before),
                          tuple(j.name for j in changed if j.name in before),
                          tuple(j.name for j in jobs if j not in changed)),
                 "; ".join(f"{j.name}: {d}" for j in jobs
                           if (d := _diff(before.get(j.name), j))))


@action("viewer")
def export(ctx: Context, include_secrets: bool = False,
           names: list[str] | None = None) -> str:
    if include_secrets and not allows(ctx.role(), "admin"):
        raise Forbidden(f"{ctx.actor.name} may not export secrets: it takes the admin role")
    jobs = ctx.store.list_jobs() if names is None else [ctx.store.get_job(n) for n in names]

    from dbt_console import jobspec

    return jobspec.dump_jobs(jobs, include_secrets=include_secrets)


def check_remote(url: str, branch: str | None) -> str | None:
    """The problem reaching a git remote's branch (None: the repository), or None.
    Network: call it off the UI."""
    from dbt_console.engine.workspace import check_remote as check

    return check(url, branch)


def next_fire(job: Job, after: float | None = None) -> float | None:
    """When the job's schedule fires next (after `after`), or None: no schedule, paused."""
    if not job.enabled or job.schedule is None:
        return None
    from dbt_console import cron

    return cron.next_after(job.schedule.cron, job.schedule.timezone,
                           time.time() if after is None else after)


def _dbt_problem(job: Job, prefix: str) -> list[str]:
    from dbt_console.engine import dbtcheck

    wrong = dbtcheck.problem(os.path.expanduser(job.dbt_path))
    return [f"{prefix}job {job.name!r}: dbt_path: {wrong}"] if wrong else []


def _check_room(ctx: Context, jobs: list[Job]) -> None:
    names = {j.name for j in ctx.store.list_jobs()}
    after = len(names | {j.name for j in jobs})
    if after > MAX_JOBS:
        raise UserError(f"that would make {after} jobs, more than the {MAX_JOBS} a store may "
                        "hold")


@action("viewer")
def refuse_if_missing(ctx: Context, name: str) -> None:
    if ctx.store.find_job(name) is None and not ctx.store.list_runs(name, limit=1):
        raise UserError(f"no job named {name!r} and no runs of one")


# Environment names that change what a program loads or which program runs: a job's env
# with one of them can run any code as the service user (a sitecustomize.py on
# PYTHONPATH, a library on LD_PRELOAD, a git on PATH).
LOADER_ENV = re.compile(r"^(PYTHON\w*|LD_\w+|DYLD_\w+|PATH|GIT_\w+|BASH_ENV|ENV|PERL5\w*|"
                        r"RUBY\w*|NODE_OPTIONS|NODE_PATH)$")


def _admin_values(job: Job) -> dict[str, set]:
    """The values of a job's fields that choose what program runs as the service user."""
    from dbt_console.hooks import KINDS

    argvs = {tuple(h.options.get("argv") or ()) for h in job.hooks
             if KINDS[h.type].runs_program}
    # A password goes to the server named beside it: an editor naming a server of their
    # own would be sent any variable of the engine's environment.
    logins = {tuple(str(h.options["smtp"].get(k)) for k in ("host", "port", "username",
                                                              "password"))
              for h in job.hooks if isinstance(h.options.get("smtp"), dict)
              and h.options["smtp"].get("password")}
    return {"project_dir": {job.project_dir} - {None},
            "git.url": {job.git.url} if job.git else set(),
            "dbt_path": {job.dbt_path} - {None}, "hooks (command)": argvs,
            "hooks (an smtp login)": logins,
            "env (what programs load)": {(k, v) for k, v in job.env.items()
                                         if LOADER_ENV.match(k)}}


def _check_admin_fields(ctx: Context, job: Job, previous: Job | None) -> None:
    """Only an admin may point a job at a program no job ran before: a new project_dir,
    git url, dbt_path, command hook or env value that changes what programs load
    (LOADER_ENV); or give an email hook an SMTP login no job had (settings' [smtp] is
    the admin's too). An editor may reuse what an admin already set."""
    if allows(ctx.role(job.name), "admin"):
        return
    known: dict[str, set] = {}
    for other in ctx.store.list_jobs() + ([previous] if previous else []):
        for key, values in _admin_values(other).items():
            known.setdefault(key, set()).update(values)
    new = [key for key, values in _admin_values(job).items()
           if values - known.get(key, set())]
    if new:
        raise Forbidden(f"job {job.name!r}: only an admin may set {', '.join(new)} to a value "
                        "no job has yet (it chooses what runs as the service user, or where the "
                        "engine's secrets are sent)")


def _diff(before: Job | None, after: Job) -> str:
    """What an edit changed, field by field, secrets masked: the audit row's detail."""
    new = public_dict(after)
    if before is None:
        return "created"
    old = public_dict(before)
    changed = [f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
               for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    return "; ".join(changed)
