"""The API's routes: dbt Cloud's Admin API v2 paths over the store.

Reads run on the event loop with one store connection of its own (WAL readers never wait
for the engine's writes); anything that writes runs in the thread pool with a connection
per call, so a busy store never stalls the polls of other clients.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from dbt_console import retries
from dbt_console.api import requests, wire
from dbt_console.api.tokens import from_header, token_hash
from dbt_console.errors import NotFound, UserError
from dbt_console.model import Job, Run, RunStatus, Trigger
from dbt_console.store import Store

log = logging.getLogger(__name__)

ARTIFACTS = ("manifest.json", "run_results.json", "catalog.json")
# run_steps' logs: the newest lines of each step (a step can log millions).
STEP_LOG_LINES = 5000
DEBUG_LOG_BYTES = 1 << 20
MAX_PAGE = 100
FAILED = (RunStatus.ERROR, RunStatus.CANCELLED)

Handler = Callable[["Api", Request, str], Awaitable[Response]]


class Api:
    def __init__(self, store_path: Path, account_id: int):
        self.store_path = store_path
        self.account_id = account_id
        self._local = threading.local()

    @property
    def store(self) -> Store:
        """This thread's read connection (the event loop's, in practice)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.store_path)
        return store

    def write(self, action: Callable[[Store], object]):
        def in_thread():
            with Store(self.store_path) as store:
                return action(store)
        return run_in_threadpool(in_thread)

    def caller(self, request: Request) -> str | None:
        token = from_header(request.headers.get("authorization"))
        return None if token is None else self.store.token_name(token_hash(token))

    def ok(self, data, extra: dict | None = None) -> JSONResponse:
        return JSONResponse(wire.envelope(data, extra=extra))

    def job(self, job_id: str) -> Job:
        for job in self.store.list_jobs():
            if str(job.id) == job_id:
                return job
        raise NotFound(f"no job with id {job_id}")

    def run(self, run_id: str) -> Run:
        if not run_id.isdigit():
            raise NotFound(f"no run with id {run_id}")
        return self.store.get_run(int(run_id))

    def run_data(self, run: Run, store: Store | None = None) -> dict:
        store = store or self.store
        return wire.run_obj(run, self.account_id, store.run_cause(run.id))


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
            return await handler(api, request, actor)
        except requests.BadRequest as exc:
            return fail(400, str(exc))
        except NotFound as exc:
            return fail(404, str(exc))
        except UserError as exc:
            return fail(400, str(exc))
        except Exception:
            log.exception("API %s %s", request.method, request.url.path)
            return fail(500, "dbt-console failed on this request; its log has the details")
    return asgi


# --- the account ------------------------------------------------------------------

async def list_accounts(api: Api, request: Request, actor: str) -> Response:
    # Airflow's "test connection" lists the accounts a token sees.
    return api.ok([_account(api)])


async def get_account(api: Api, request: Request, actor: str) -> Response:
    return api.ok(_account(api))


def _account(api: Api) -> dict:
    import socket

    return {"id": api.account_id, "name": f"dbt-console on {socket.gethostname()}",
            "state": 1}


# --- jobs -------------------------------------------------------------------------

async def list_jobs(api: Api, request: Request, actor: str) -> Response:
    q = request.query_params
    limit = requests.whole(q.get("limit"), "limit", MAX_PAGE, 1, MAX_PAGE)
    offset = requests.whole(q.get("offset"), "offset", 0, 0, 1 << 31)
    jobs = sorted(api.store.list_jobs(), key=lambda j: j.id)
    if q.get("name__icontains"):
        jobs = [j for j in jobs if q["name__icontains"].lower() in j.name.lower()]
    page = jobs[offset:offset + limit]
    return api.ok([wire.job_obj(j, api.account_id) for j in page], _extra(
        {"name__icontains": q.get("name__icontains"), "limit": limit, "offset": offset},
        "id", len(page), len(jobs)))


async def get_job(api: Api, request: Request, actor: str) -> Response:
    return api.ok(wire.job_obj(api.job(request.path_params["job_id"]), api.account_id))


async def trigger_run(api: Api, request: Request, actor: str) -> Response:
    job = api.job(request.path_params["job_id"])
    asked = requests.trigger(job, await _body(request))

    def enqueue(store: Store) -> dict:
        run = store.enqueue_run(asked.job, Trigger.API, actor, asked.branch, asked.sha,
                                cause=asked.cause)
        return api.run_data(run, store)
    return api.ok(await api.write(enqueue))


async def rerun(api: Api, request: Request, actor: str) -> Response:
    job = api.job(request.path_params["job_id"])

    def enqueue(store: Store) -> dict:
        last = store.list_runs(job.name, limit=1)
        if last and last[0].status in FAILED:
            run, note = retries.retry(store, last[0].id, actor)
            store.record_event("api", job.name, f"{actor}: {note}")
        else:
            run = store.enqueue_run(job, Trigger.API, actor,
                                    cause="Rerun through the API: no failed run to retry")
        return api.run_data(run, store)
    return api.ok(await api.write(enqueue))


# --- runs ------------------------------------------------------------------------

async def list_runs(api: Api, request: Request, actor: str) -> Response:
    q = request.query_params
    limit = requests.whole(q.get("limit"), "limit", MAX_PAGE, 1, MAX_PAGE)
    offset = requests.whole(q.get("offset"), "offset", 0, 0, 1 << 31)
    job_id = q.get("job_definition_id")
    if job_id is not None:
        job_id = requests.whole(job_id, "job_definition_id", 0, 1, 1 << 62)
    codes = requests.list_values(q.getlist("status__in") + q.getlist("status"), "status")
    statuses = []
    for code in codes:
        if not code.isdigit() or int(code) not in wire.STATUS_BY_CODE:
            raise requests.BadRequest(f"status: {code!r} is not a run status (1 queued, "
                                      "2 starting, 3 running, 10 success, 20 error, "
                                      "30 cancelled)")
        statuses.append(wire.STATUS_BY_CODE[int(code)].value)
    order = q.get("order_by", "id")
    if order.lstrip("-") not in Store.RUN_ORDERS:
        raise requests.BadRequest(f"order_by: {order!r} is not one of "
                                  f"{', '.join(Store.RUN_ORDERS)} (with - for descending)")
    between = (requests.time_range(q["finished_at__range"])
               if q.get("finished_at__range") else None)
    runs, total = api.store.query_runs(job_id, statuses, order.lstrip("-"),
                                       order.startswith("-"), limit, offset, between)
    return api.ok([api.run_data(r) for r in runs], _extra(
        {"job_definition_id": job_id, "status__in": codes or None, "limit": limit,
         "offset": offset, "finished_at__range": q.get("finished_at__range")},
        order, len(runs), total))


async def get_run(api: Api, request: Request, actor: str) -> Response:
    run = api.run(request.path_params["run_id"])
    related = requests.related(request.query_params.getlist("include_related"))
    data = api.run_data(run)
    if "job" in related:
        job = api.store.find_job(run.job_name)
        data["job"] = None if job is None else wire.job_obj(job, api.account_id)
    if "run_steps" in related or "debug_logs" in related:
        data["run_steps"] = await run_in_threadpool(
            _steps, api, run, "debug_logs" in related)
    return api.ok(data)


def _steps(api: Api, run: Run, debug: bool) -> list[dict]:
    with Store(api.store_path) as store:
        steps = store.list_steps(run.id)
        tails: dict[int, deque] = {s.idx: deque(maxlen=STEP_LOG_LINES) for s in steps}
        for line in store.iter_log(run.id):
            if line.step in tails:
                tails[line.step].append(line.msg)
    debug_logs = _debug_log(run) if debug else None
    return [wire.step_obj(s, api.account_id, "\n".join(tails[s.idx]), debug_logs)
            for s in steps]


def _debug_log(run: Run) -> str:
    path = Path(run.run_dir or "") / "logs" / "dbt.log"
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - DEBUG_LOG_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


async def cancel_run(api: Api, request: Request, actor: str) -> Response:
    run = api.run(request.path_params["run_id"])

    def cancel(store: Store) -> dict:
        cancelled = store.request_cancel(run.id)
        store.record_event("api", run.job_name, f"{actor} cancelled run {run.id}")
        return api.run_data(cancelled, store)
    return api.ok(await api.write(cancel))


async def list_artifacts(api: Api, request: Request, actor: str) -> Response:
    run = api.run(request.path_params["run_id"])
    return api.ok([name for name in ARTIFACTS if _artifact(run, name, None) is not None])


async def get_artifact(api: Api, request: Request, actor: str) -> Response:
    run = api.run(request.path_params["run_id"])
    name = request.path_params["path"]
    if name not in ARTIFACTS:
        raise NotFound(f"artifact {name!r}: only {', '.join(ARTIFACTS)} are served")
    step = request.query_params.get("step")
    step_no = None if step is None else requests.whole(step, "step", 1, 1, 10_000)
    path = _artifact(run, name, step_no)
    if path is None:
        raise NotFound(f"run {run.id} has no {name}" + (f" for step {step_no}" if step else ""))
    return FileResponse(path, media_type="application/json")


def _artifact(run: Run, name: str, step: int | None) -> Path | None:
    """Where a run keeps an artifact: run_results.json per step (the last step's unless
    one is named), the manifest in target/, the catalog with the docs."""
    if not run.run_dir:
        return None
    root = Path(run.run_dir)
    if name == "run_results.json":
        if step is not None:
            candidates = [root / "artifacts" / f"step-{step}" / name]
        else:
            steps = sorted((root / "artifacts").glob("step-*"),
                           key=lambda p: int(p.name.split("-")[1]), reverse=True)
            candidates = [p / name for p in steps]
    elif name == "manifest.json":
        candidates = [root / "target" / name]
    else:
        candidates = [root / "docs" / name, root / "target" / name]
    return next((p for p in candidates if p.is_file()), None)


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


def build_app(store_path: Path, account_id: int) -> Starlette:
    routes = []
    for method, path, handler in ROUTES:
        # Clients send the trailing slash; some URL joins drop it. Both answer, since a
        # redirect would turn a POST into a GET in some clients.
        for variant in {PREFIX + path, PREFIX + path.rstrip("/")}:
            routes.append(Route(variant, endpoint(handler), methods=[method]))
    for variant in ("/api/v2/accounts/", "/api/v2/accounts"):
        routes.append(Route(variant, endpoint(list_accounts), methods=["GET"]))
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.api = Api(store_path, account_id)
    return app
