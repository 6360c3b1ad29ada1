"""The API's routes: dbt Cloud's Admin API v2 paths over the actions.

Reads run on the event loop with one store connection of its own (WAL readers never wait
for the engine's writes); anything that writes runs in the thread pool with a context
per call, so a busy store never stalls the polls of other clients.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from dbt_console import actions, rundir
from dbt_console.access import Forbidden
from dbt_console.actions import Actor, Context
from dbt_console.api import requests, wire
from dbt_console.api.tokens import from_header
from dbt_console.config import Paths
from dbt_console.errors import NotFound, UserError
from dbt_console.model import Job, Run, RunStatus

log = logging.getLogger(__name__)

# run_steps' logs: the newest lines of each step (a step can log millions).
STEP_LOG_LINES = 5000
DEBUG_LOG_BYTES = 1 << 20
MAX_PAGE = 100
JOB_ORDERS = {"id": lambda j: j.id, "name": lambda j: j.name}
# Who reads on behalf of a request before its token is known.
READER = Actor("api", "engine", "api")

Handler = Callable[["Api", Request, Context], Awaitable[Response]]


class Api:
    def __init__(self, paths: Paths, account_id: int):
        self.paths = paths
        self.account_id = account_id
        self._local = threading.local()

    @property
    def reader(self) -> Context:
        """This thread's read context (the event loop's, in practice)."""
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = Context(self.paths, READER)
        return ctx

    def write(self, actor: Actor, action: Callable[[Context], object]):
        def in_thread():
            with Context(self.paths, actor) as ctx:
                return action(ctx)
        return run_in_threadpool(in_thread)

    def caller(self, request: Request) -> Actor | None:
        token = from_header(request.headers.get("authorization"))
        return actions.tokens.authenticate(self.reader, token)

    def ok(self, data, extra: dict | None = None) -> JSONResponse:
        return JSONResponse(wire.envelope(data, extra=extra))

    def job(self, ctx: Context, job_id: str) -> Job:
        if not job_id.isdigit():
            raise NotFound(f"no job with id {job_id}")
        return actions.jobs.by_id(ctx, int(job_id))

    def run(self, ctx: Context, run_id: str) -> Run:
        if not run_id.isdigit():
            raise NotFound(f"no run with id {run_id}")
        return actions.runs.get(ctx, int(run_id))

    def run_data(self, ctx: Context, run: Run) -> dict:
        data = wire.run_obj(run, self.account_id, actions.runs.cause(ctx, run.id))
        if data["status_message"] is None and run.status is RunStatus.ERROR:
            # dbt Cloud says why a run failed here; clients show it (Dagster's message).
            failed, _ = actions.review.failed_nodes(ctx, run.id)
            data["status_message"] = wire.failure_words(failed)
        return data


def fail(code: int, message: str) -> JSONResponse:
    return JSONResponse(wire.envelope(None, code, message=message), status_code=code)


def endpoint(handler: Handler):
    async def asgi(request: Request) -> Response:
        api: Api = request.app.state.api
        try:
            actor = api.caller(request)
            if actor is None:
                return fail(401, "a valid API token is required: Authorization: Token <t> "
                                 "(or Bearer <t>); make one with dbt-console tokens create")
            account = request.path_params.get("account_id", api.account_id)
            if account != api.account_id:
                return fail(404, f"no account {account} here: this dbt-console's account id "
                                 f"is {api.account_id} (api_account_id in settings.toml)")
            return await handler(api, request, api.reader.acting_as(actor))
        except requests.BadRequest as exc:
            return fail(400, str(exc))
        except Forbidden as exc:
            return fail(403, str(exc))
        except NotFound as exc:
            return fail(404, str(exc))
        except UserError as exc:
            return fail(400, str(exc))
        except Exception:
            log.exception("API %s %s", request.method, request.url.path)
            return fail(500, "dbt-console failed on this request; its log has the details")
    return asgi


# --- the account ------------------------------------------------------------------

async def list_accounts(api: Api, request: Request, ctx: Context) -> Response:
    # Airflow's "test connection" lists the accounts a token sees.
    return api.ok([_account(api)])


async def get_account(api: Api, request: Request, ctx: Context) -> Response:
    return api.ok(_account(api))


def _account(api: Api) -> dict:
    import socket

    return {"id": api.account_id, "name": f"dbt-console on {socket.gethostname()}",
            "state": 1}


# --- jobs -------------------------------------------------------------------------

async def list_jobs(api: Api, request: Request, ctx: Context) -> Response:
    q = request.query_params
    limit = requests.whole(q.get("limit"), "limit", MAX_PAGE, 1, MAX_PAGE)
    offset = requests.whole(q.get("offset"), "offset", 0, 0, 1 << 31)
    order = q.get("order_by", "id")
    if order.lstrip("-") not in JOB_ORDERS:
        raise requests.BadRequest(f"order_by: {order!r} is not one of "
                                  f"{', '.join(JOB_ORDERS)} (with - for descending)")
    jobs = sorted(actions.jobs.list_all(ctx), key=JOB_ORDERS[order.lstrip("-")],
                  reverse=order.startswith("-"))
    if q.get("name__icontains"):
        jobs = [j for j in jobs if q["name__icontains"].lower() in j.name.lower()]
    page = jobs[offset:offset + limit]
    return api.ok([wire.job_obj(j, api.account_id) for j in page], _extra(
        {"name__icontains": q.get("name__icontains"), "limit": limit, "offset": offset},
        order, len(page), len(jobs)))


async def get_job(api: Api, request: Request, ctx: Context) -> Response:
    return api.ok(wire.job_obj(api.job(ctx, request.path_params["job_id"]), api.account_id))


async def trigger_run(api: Api, request: Request, ctx: Context) -> Response:
    job = api.job(ctx, request.path_params["job_id"])
    asked = requests.trigger(job, await _body(request))

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


# --- runs ------------------------------------------------------------------------

async def list_runs(api: Api, request: Request, ctx: Context) -> Response:
    q = request.query_params
    limit = requests.whole(q.get("limit"), "limit", MAX_PAGE, 1, MAX_PAGE)
    offset = requests.whole(q.get("offset"), "offset", 0, 0, 1 << 31)
    job_id = q.get("job_definition_id")
    if job_id is not None:
        job_id = requests.whole(job_id, "job_definition_id", 0, 1, 1 << 62)
    codes = requests.list_values(q.getlist("status__in") + q.getlist("status"), "status")
    statuses = [requests.status(code) for code in codes]
    order = q.get("order_by", "id")
    if order.lstrip("-") not in actions.runs.ORDERS:
        raise requests.BadRequest(f"order_by: {order!r} is not one of "
                                  f"{', '.join(actions.runs.ORDERS)} (with - for descending)")
    between = (requests.time_range(q["finished_at__range"])
               if q.get("finished_at__range") else None)
    runs, total = actions.runs.query(ctx, job_id, statuses, order.lstrip("-"),
                                     order.startswith("-"), limit, offset, between)
    return api.ok([api.run_data(ctx, r) for r in runs], _extra(
        {"job_definition_id": job_id, "status__in": codes or None, "limit": limit,
         "offset": offset, "finished_at__range": q.get("finished_at__range")},
        order, len(runs), total))


async def get_run(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])
    related = requests.related(request.query_params.getlist("include_related"))
    data = api.run_data(ctx, run)
    if "job" in related:
        job = actions.jobs.find(ctx, run.job_name)
        data["job"] = None if job is None else wire.job_obj(job, api.account_id)
    if "failure_review" in related:  # dbt-console's own: what failed and what changed
        data["failure_review"] = await run_in_threadpool(_review, api, ctx.actor, run.id)
    if "run_steps" in related or "debug_logs" in related:
        data["run_steps"] = await run_in_threadpool(
            _steps, api, ctx.actor, run, "debug_logs" in related)
    else:  # clients read the key unasked (Prefect's retry of failed steps)
        data["run_steps"] = [wire.step_obj(s, api.account_id, None, None)
                             for s in actions.runs.steps(ctx, run.id)]
    return api.ok(data)


def _steps(api: Api, actor: Actor, run: Run, debug: bool) -> list[dict]:
    with Context(api.paths, actor) as ctx:
        steps = actions.runs.steps(ctx, run.id)
        tails: dict[int, deque] = {s.idx: deque(maxlen=STEP_LOG_LINES) for s in steps}
        for line in actions.logs.lines(ctx, run.id):
            if line.step in tails:
                tails[line.step].append(line.msg)
    debug_logs = _debug_log(run) if debug else None
    return [wire.step_obj(s, api.account_id, "\n".join(tails[s.idx]), debug_logs)
            for s in steps]


def _review(api: Api, actor: Actor, run_id: int) -> dict:
    with Context(api.paths, actor) as ctx:
        return actions.review.as_dict(actions.review.review(ctx, run_id))


def _debug_log(run: Run) -> str:
    try:
        with rundir.dbt_log(run.run_dir or "").open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - DEBUG_LOG_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


async def cancel_run(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])

    def cancel(wctx: Context) -> dict:
        return api.run_data(wctx, actions.runs.cancel(wctx, run.id))
    return api.ok(await api.write(ctx.actor, cancel))


async def list_artifacts(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])
    return api.ok([name for name in rundir.ARTIFACTS
                   if rundir.artifact(run.run_dir, name) is not None])


async def get_artifact(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])
    name = request.path_params["path"]
    if name not in rundir.ARTIFACTS:
        raise NotFound(f"artifact {name!r}: only {', '.join(rundir.ARTIFACTS)} are served")
    step = request.query_params.get("step")
    step_no = None if step is None else requests.whole(step, "step", 1, 1, 10_000)
    path = rundir.artifact(run.run_dir, name, step_no)
    if path is None:
        raise NotFound(f"run {run.id} has no {name}" + (f" for step {step_no}" if step else ""))
    return FileResponse(path, media_type="application/json")


# --- the app ---------------------------------------------------------------------

def _extra(filters: dict, order_by: str, count: int, total: int) -> dict:
    return {"filters": filters, "order_by": order_by,
            "pagination": {"count": count, "total_count": total}}


async def _body(request: Request):
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise requests.BadRequest("the body is not valid JSON") from None


ROUTES = [
    ("GET", "", get_account),
    ("GET", "jobs/", list_jobs),
    ("GET", "jobs/{job_id}/", get_job),
    ("POST", "jobs/{job_id}/run/", trigger_run),
    ("POST", "jobs/{job_id}/rerun/", rerun),
    ("GET", "runs/", list_runs),
    ("GET", "runs/{run_id}/", get_run),
    ("POST", "runs/{run_id}/cancel/", cancel_run),
    ("GET", "runs/{run_id}/artifacts/", list_artifacts),
    ("GET", "runs/{run_id}/artifacts/{path:path}", get_artifact),
]
PREFIX = "/api/v2/accounts/{account_id:int}/"


async def _not_found(request: Request, exc: Exception) -> Response:
    code = getattr(exc, "status_code", 404)
    words = {404: f"no such path: {request.url.path} (the API lives under "
                  "/api/v2/accounts/<account id>/)",
             405: f"{request.method} is not allowed on {request.url.path}"}
    return fail(code, words.get(code, "bad request"))


def build_app(paths: Paths, account_id: int) -> Starlette:
    routes = []
    for method, path, handler in ROUTES:
        # Clients send the trailing slash; some URL joins drop it. Both answer, since a
        # redirect would turn a POST into a GET in some clients.
        for variant in {PREFIX + path, (PREFIX + path).rstrip("/")}:
            routes.append(Route(variant, endpoint(handler), methods=[method]))
    # Airflow's test_connection and list_accounts GET the bare host, then accounts/.
    for variant in ("/", "/api/v2/accounts/", "/api/v2/accounts"):
        routes.append(Route(variant, endpoint(list_accounts), methods=["GET"]))
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.api = Api(paths, account_id)
    return app
