"""The API's jobs: list, get, create, delete, run, rerun, the latest artifacts, and a
job's environment variables (v3)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dbt_console import actions
from dbt_console.actions import Context
from dbt_console.api import newjob, requests
from dbt_console.api.base import Api, body, extra, named_like, number, page_params
from dbt_console.api.runs import artifact_of
from dbt_console.errors import NotFound
from dbt_console.jobfields import public_dict

JOB_ORDERS = {"id": lambda j: j.id, "name": lambda j: j.name}


async def list_jobs(api: Api, request: Request, ctx: Context) -> Response:
    q = request.query_params
    limit, offset = page_params(request)
    order = q.get("order_by") or "id"
    if order.lstrip("-") not in JOB_ORDERS:
        raise requests.BadRequest(f"order_by: {order!r} is not one of "
                                  f"{', '.join(JOB_ORDERS)} (with - for descending)")
    places = actions.projects.places(ctx)
    placed = requests.jobs_placed(places, q.get("project_id"), q.get("environment_id"))
    jobs = sorted(named_like(actions.jobs.list_all(ctx), request),
                  key=JOB_ORDERS[order.lstrip("-")], reverse=order.startswith("-"))
    if placed is not None:
        jobs = [j for j in jobs if j.id in placed]
    page = jobs[offset:offset + limit]
    return api.ok([api.job_data(j, places) for j in page], extra(
        {"name__icontains": q.get("name__icontains"), "project_id": q.get("project_id"),
         "environment_id": q.get("environment_id"), "limit": limit, "offset": offset},
        order, len(page), len(jobs)))


async def get_job(api: Api, request: Request, ctx: Context) -> Response:
    job = api.job(ctx, request.path_params["job_id"])
    return api.ok(api.job_data(job, actions.projects.places(ctx)))


async def create_job(api: Api, request: Request, ctx: Context) -> Response:
    """dbt Cloud's job create: a job in an environment, which runs with the settings of
    that environment's first job (where the project is, its profile, target and env).
    Dagster's workspace makes its ad-hoc job this way."""
    asked = await body(request)
    env = actions.projects.environment(ctx, newjob.environment_id(asked))
    template = (actions.projects.jobs_in(ctx, env.id) or [None])[0]
    if template is None:
        raise requests.BadRequest(f"environment_id: environment {env.id} has no job whose "
                                  "settings a new job could run with")
    job = newjob.new_job(asked, template, (env.project_id, env.id), api.account_id)

    def create(wctx: Context) -> dict:
        made = actions.jobs.create(wctx, job)
        return api.job_data(made, actions.projects.places(wctx))
    return api.ok(await api.write(ctx.actor, create))


async def delete_job(api: Api, request: Request, ctx: Context) -> Response:
    job = api.job(ctx, request.path_params["job_id"])
    data = api.job_data(job, actions.projects.places(ctx))

    def delete(wctx: Context) -> None:
        actions.jobs.delete(wctx, job.name)
    await api.write(ctx.actor, delete)
    return api.ok({**data, "state": 2})  # dbt Cloud: 2 is deleted


async def trigger_run(api: Api, request: Request, ctx: Context) -> Response:
    job = api.job(ctx, request.path_params["job_id"])
    asked = requests.trigger(job, await body(request))

    def enqueue(wctx: Context) -> dict:
        run = actions.runs.run_now(wctx, job.name, asked.branch, asked.sha, asked.overrides,
                                   cause=asked.cause)
        return api.run_data(wctx, run)
    return api.ok(await api.write(ctx.actor, enqueue))


async def rerun(api: Api, request: Request, ctx: Context) -> Response:
    job = api.job(ctx, request.path_params["job_id"])

    def enqueue(wctx: Context) -> dict:
        run, _ = actions.runs.rerun(wctx, job.name)
        return api.run_data(wctx, run)
    return api.ok(await api.write(ctx.actor, enqueue))


async def job_artifact(api: Api, request: Request, ctx: Context) -> Response:
    """An artifact of the job's latest successful run (Prefect's get_job_artifact)."""
    job = api.job(ctx, request.path_params["job_id"])
    run = actions.runs.last_success(ctx, job.name)
    if run is None:
        raise NotFound(f"job {job.name} has no successful run yet")
    return artifact_of(run, request.path_params["path"])


async def job_env_vars(api: Api, request: Request, ctx: Context) -> Response:
    """v3's environment variables of a job (Dagster v1 reads its compile run's id from
    them), in dbt Cloud's shape: {NAME: {"job": {"id", "value"}}}, secrets masked."""
    asked = request.query_params.get("job_definition_id")
    if asked is None:
        raise requests.BadRequest("job_definition_id: required (the job whose variables)")
    job = api.job(ctx, asked)
    project = number(request.path_params["project_id"], "project")
    place = actions.projects.places(ctx).get(job.id)
    if place is None or place[0] != project:
        raise NotFound(f"no job {job.id} in project {project}")
    env = public_dict(job).get("env") or {}
    return api.ok({name: {"job": {"id": i, "value": value}}
                   for i, (name, value) in enumerate(sorted(env.items()), start=1)})
