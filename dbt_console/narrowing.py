"""What a runner may change of a job for one run: narrow what it builds, nothing more.

A runner (a person, or an orchestrator's token) may rerun a job's own dbt commands on
fewer nodes, as Prefect's retry of failed models and Airflow's and Dagster's selections do.
Any other command (`dbt show --inline`, `dbt run-operation`), or a flag that changes what
dbt reads or where it connects (`--vars`, `--profiles-dir`, `--target`, `--state`), could
read whatever the service user can, secrets included: that takes the editor role.
"""

from __future__ import annotations

from dbt_console.jobrules import check_command, command_argv
from dbt_console.model import Job, Overrides

# The sub-commands a selection narrows.
NARROWABLE = ("build", "run", "test", "seed", "snapshot", "compile")
# Selection flags, and whether they take values (several: `-s a b`).
SELECTION_FLAGS = {
    "--select": True, "-s": True, "--models": True, "-m": True, "--exclude": True,
    "--selector": True, "--resource-type": True, "--resource-types": True,
    "--exclude-resource-type": True, "--exclude-resource-types": True,
    "--indirect-selection": True, "--threads": True,
    "--full-refresh": False, "--fail-fast": False, "-x": False,
}


def command_problem(command: str, job: Job) -> str | None:
    """Why a runner may not run `command` in place of the job's own, or None."""
    problem = check_command(command)
    if problem:
        return problem
    argv = command_argv(command)
    own = sorted({command_argv(c)[1] for c in job.commands} & set(NARROWABLE))
    if argv[1] not in own:
        return (f"{command!r}: a runner may only narrow the job's own "
                + (f"dbt {', '.join(own)}" if own else "commands (it has none to narrow)"))
    takes_values = False
    for arg in argv[2:]:
        flag = arg.split("=", 1)[0]
        if flag.startswith("-"):
            if flag not in SELECTION_FLAGS:
                return (f"{command!r}: {flag} is not a selection flag a runner may give "
                        f"({', '.join(SELECTION_FLAGS)})")
            takes_values = SELECTION_FLAGS[flag] and "=" not in arg
        elif not takes_values:
            return f"{command!r}: {arg!r} is not the value of a selection flag"
    return None


def problems(overrides: Overrides, job: Job) -> list[str]:
    """What in a runner's overrides goes beyond narrowing the job."""
    found = [f"steps_override[{i}]: {problem}" for i, command in
             enumerate(overrides.commands or ()) if (problem := command_problem(command, job))]
    if overrides.target is not None:
        found.append("target_name_override: another target is another connection and its "
                     "credentials")
    return found
