"""The API's routes: dbt Cloud's Admin API (v2, and v3's projects and environments) over
the actions. Each route's handler lives with its subject: account.py, jobs.py, runs.py."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dbt_console.api import account, jobs, metrics, runs
from dbt_console.api.base import Api, endpoint, fail
from dbt_console.config import Paths

V2 = "/api/v2/accounts/{account_id:int}/"
V3 = "/api/v3/accounts/{account_id:int}/"
ROUTES = [
    ("GET", V2, account.get_account),
    ("GET", V3, account.get_account),
    ("GET", V2 + "projects/", account.list_projects),
    ("GET", V2 + "projects/{project_id}/", account.get_project),
    ("GET", V3 + "projects/", account.list_projects),
    ("GET", V3 + "projects/{project_id}/", account.get_project),
    ("GET", V2 + "environments/", account.list_environments),
    ("GET", V2 + "environments/{environment_id}/", account.get_environment),
    ("GET", V3 + "environments/", account.list_environments),
    ("GET", V3 + "environments/{environment_id}/", account.get_environment),
    ("GET", V3 + "projects/{project_id}/environments/", account.list_environments),
    ("GET", V3 + "projects/{project_id}/environment-variables/job/", jobs.job_env_vars),
    ("GET", V3 + "projects/{project_id}/environments/{environment_id}/",
     account.get_environment),
    ("GET", V2 + "jobs/", jobs.list_jobs),
    ("POST", V2 + "jobs/", jobs.create_job),
    ("GET", V2 + "jobs/{job_id}/", jobs.get_job),
    ("DELETE", V2 + "jobs/{job_id}/", jobs.delete_job),
    ("POST", V2 + "jobs/{job_id}/run/", jobs.trigger_run),
    ("POST", V2 + "jobs/{job_id}/rerun/", jobs.rerun),
    ("GET", V2 + "jobs/{job_id}/artifacts/{path:path}", jobs.job_artifact),
    ("GET", V2 + "runs/", runs.list_runs),
    ("GET", V2 + "runs/{run_id}/", runs.get_run),
    ("POST", V2 + "runs/{run_id}/cancel/", runs.cancel_run),
    ("GET", V2 + "runs/{run_id}/artifacts/", runs.list_artifacts),
    ("GET", V2 + "runs/{run_id}/artifacts/{path:path}", runs.get_artifact),
]


async def _not_found(request: Request, exc: Exception) -> Response:
    code = getattr(exc, "status_code", 404)
    v3 = request.url.path.startswith("/api/v3/")
    words = {404: f"no such path: {request.url.path} (" + (
                  "v3 serves projects/, environments/ and projects/<id>/environment-variables"
                  "/job/ under /api/v3/accounts/<account id>/" if v3 else
                  "the API lives under /api/v2/accounts/<account id>/") + ")",
             405: f"{request.method} is not allowed on {request.url.path}"}
    return fail(code, words.get(code, "bad request"))


def build_app(paths: Paths, account_id: int, metrics_only: bool = False,
              url: str = "") -> Starlette:
    """The API, with /metrics and /healthz; only those two for `serve --metrics`."""
    routes = [Route("/metrics", endpoint(metrics.metrics), methods=["GET"]),
              Route("/healthz", metrics.healthz, methods=["GET"])]
    for method, path, handler in [] if metrics_only else ROUTES:
        # Clients send the trailing slash; some URL joins drop it. Both answer: a redirect
        # would come before auth, and a proxy drops the token on it (Dagster's check).
        for variant in dict.fromkeys((path, path.rstrip("/"))):
            routes.append(Route(variant, endpoint(handler), methods=[method]))
    # Airflow's test_connection and list_accounts GET the bare host, then accounts/.
    for variant in () if metrics_only else ("/", "/api/v2/accounts/", "/api/v2/accounts"):
        routes.append(Route(variant, endpoint(account.list_accounts), methods=["GET"]))
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.api = Api(paths, account_id, url)
    return app
