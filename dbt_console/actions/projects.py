"""Projects and environments: how dbt Cloud's API groups jobs (projects.py says how
dbt-console forms them), read by API clients that look jobs up by name."""

from __future__ import annotations

from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.model import Environment, Job, Project


@action("viewer")
def list_all(ctx: Context) -> list[Project]:
    return ctx.store.list_projects()


@action("viewer")
def get(ctx: Context, project_id: int) -> Project:
    return ctx.store.get_project(project_id)


@action("viewer")
def environments(ctx: Context, project_id: int | None = None) -> list[Environment]:
    if project_id is not None:
        ctx.store.get_project(project_id)  # an unknown project is a 404, not an empty list
    return ctx.store.list_environments(project_id)


@action("viewer")
def environment(ctx: Context, environment_id: int) -> Environment:
    return ctx.store.get_environment(environment_id)


@action("viewer")
def places(ctx: Context) -> dict[int, tuple[int, int]]:
    """job id -> (project id, environment id), for every job."""
    return ctx.store.job_places()


@action("viewer")
def jobs_in(ctx: Context, environment_id: int) -> list[Job]:
    """The jobs of an environment, oldest first: the first is the one whose settings a
    job created through the API copies."""
    where = ctx.store.job_places()
    return sorted((j for j in ctx.store.list_jobs() if where.get(j.id, (0, 0))[1] ==
                   environment_id), key=lambda j: j.id)
