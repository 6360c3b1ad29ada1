"""The three set-up steps every run starts with, numbered as dbt Cloud numbers them:
1 the project (clone or fetch a git job's repository, or check a local directory), 2 the
dbt, profile and environment the commands run with, 3 `dbt deps` when packages are due.

Each is a real step with its own log lines and status, so step N means the same in the
CLI, the dashboard, `artifacts/...?step=N` and a client's retry of failed steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dbt_console.engine import artifacts, ci_run, dbtcheck
from dbt_console.engine.adapters.profile import target_in
from dbt_console.engine.logpump import RunLog
from dbt_console.engine.stepenv import SetupError, cloud_env, find_dbt, step_env
from dbt_console.engine.workspace import Workspace, WorkspaceError, prepare
from dbt_console.model import CLONE_STEP, PROFILE_STEP, Job, Run, RunStatus
from dbt_console.store import RunsStore, StepsStore
from dbt_console.store.repos import Repos

# The store's concerns this part and the parts it hands the store to use (repos.py).
USES = (RunsStore, StepsStore)


PROFILE_STEP_NAME = "Prepare dbt, profile and environment"


class SetupFailed(Exception):
    """A set-up step failed; the run ends with this reason."""

    def __init__(self, step: int, reason: str):
        super().__init__(reason)
        self.step, self.reason = step, reason


@contextmanager
def step(store: Repos, run_id: int, idx: int, name: str) -> Iterator[None]:
    """Record a set-up step around its work: success, or error with the reason why."""
    store.start_step(run_id, idx, name)
    try:
        yield
    except (WorkspaceError, SetupError, ci_run.CiSetupError) as exc:
        store.finish_step(run_id, idx, RunStatus.ERROR, None)
        raise SetupFailed(idx, str(exc)) from None
    except BaseException:
        store.finish_step(run_id, idx, RunStatus.ERROR, None)
        raise
    store.finish_step(run_id, idx, RunStatus.SUCCESS, 0)


def project_step_name(job: Job) -> str:
    return "Clone git repository" if job.git is not None else "Use project directory"


def project(store: Repos, workspaces: Path, job: Job, run: Run, run_dir: Path,
            log: RunLog) -> Workspace:
    def say(msg: str) -> None:
        log.system(CLONE_STEP, msg)

    ws = prepare(job, workspaces, say, run.git_branch, run.git_sha)
    if ws.git_sha is None:
        say(f"project directory {ws.project_dir}")
    store.update_run(run.id, git_sha=ws.git_sha, git_branch=ws.git_branch)
    # A CI branch's runs render the profile with their own schema: dbt re-parses from
    # scratch after a run whose profile differed, so a branch reuses its own last parse.
    branch = run.git_branch if job.ci is not None else None
    if artifacts.seed_partial_parse(store.last_run_dir(job.name, run.id, branch), run_dir):
        say("reusing the previous run's parse (partial parsing)"
            + (f" of branch {branch}" if branch else ""))
    return ws


@dataclass
class Setting:
    """What the commands run with."""

    dbt: str
    env: dict[str, str]
    commands: list[str]
    docs: bool
    compare_with: int | None = None  # CI: the production run compare changes reads


def profile(store: Repos, job: Job, run: Run, ws: Workspace, run_dir: Path,
            log: RunLog, pass_env: tuple[str, ...] = ()) -> Setting:
    def say(msg: str, level: str = "info") -> None:
        log.system(PROFILE_STEP, msg, level)

    dbt = find_dbt(job)
    wrong = dbtcheck.problem(dbt)
    if wrong:
        raise SetupError(f"not running {dbt}: {wrong}")
    say(f"dbt: {dbt}")
    env = step_env(job, run.id, run_dir, ws.project_dir, pass_env)
    env.update(cloud_env(job, run, ws.git_sha, store.run_cause(run.id)))
    commands, docs, compare_with = list(job.commands), job.generate_docs, None
    if job.ci is not None:
        ci_plan = ci_run.plan(store, job, run, ws.project_dir, run_dir, say)
        commands, docs = ci_plan.commands, docs and ci_plan.docs
        env.update(ci_plan.env)
        compare_with = ci_plan.compare_with
    target = target_in(ws.project_dir, job, env)
    if target is None:
        say("profile: not readable from here (dbt says why if it cannot read it either)")
    else:  # names only: a profile's fields may hold passwords
        say(f"profile {target.profile!r}, target {target.name!r} ({target.type}) "
            f"from {target.profiles_yml}")
    return Setting(dbt, env, commands, docs, compare_with)
