"""The API's account, projects and environments (v2 and v3 paths)."""

from __future__ import annotations

import socket

from starlette.requests import Request
from starlette.responses import Response

from dbt_console import actions
from dbt_console.actions import Context
from dbt_console.api import wire
from dbt_console.api.base import Api, extra, named_like, number, page_params
from dbt_console.errors import NotFound


async def list_accounts(api: Api, request: Request, ctx: Context) -> Response:
    # Airflow's "test connection" lists the accounts a token sees.
    return api.ok([_account(api)])


async def get_account(api: Api, request: Request, ctx: Context) -> Response:
    return api.ok(_account(api))


def _account(api: Api) -> dict:
    return {"id": api.account_id, "name": f"dbt-console on {socket.gethostname()}",
            "state": 1}


async def list_projects(api: Api, request: Request, ctx: Context) -> Response:
    return _page(api, request, [wire.project_obj(p, api.account_id)
                                for p in named_like(actions.projects.list_all(ctx), request)])


async def get_project(api: Api, request: Request, ctx: Context) -> Response:
    project = actions.projects.get(ctx, number(request.path_params["project_id"], "project"))
    return api.ok(wire.project_obj(project, api.account_id))


async def list_environments(api: Api, request: Request, ctx: Context) -> Response:
    project = request.path_params.get("project_id")
    envs = actions.projects.environments(
        ctx, None if project is None else number(project, "project"))
    return _page(api, request, [wire.environment_obj(e, api.account_id)
                                for e in named_like(envs, request)])


async def get_environment(api: Api, request: Request, ctx: Context) -> Response:
    env = actions.projects.environment(
        ctx, number(request.path_params["environment_id"], "environment"))
    project = request.path_params.get("project_id")
    if project is not None and number(project, "project") != env.project_id:
        raise NotFound(f"no environment {env.id} in project {project}")
    return api.ok(wire.environment_obj(env, api.account_id))


def _page(api: Api, request: Request, items: list[dict]) -> Response:
    limit, offset = page_params(request)
    page = items[offset:offset + limit]
    return api.ok(page, extra({"name__icontains": request.query_params.get("name__icontains"),
                               "limit": limit, "offset": offset}, None, len(page), len(items)))
