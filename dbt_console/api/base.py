"""What every API route shares: the Api (the store it reads, how it writes), the
endpoint wrapper (auth, account check, errors as dbt Cloud's envelope) and the list
envelope's paging."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dbt_console import actions
from dbt_console.access import Forbidden
from dbt_console.actions import Actor, Context
from dbt_console.api import requests, throttle, wire
from dbt_console.api.tokens import from_header
from dbt_console.config import Paths
from dbt_console.errors import NotFound, UserError
from dbt_console.inputlimits import MAX_JSON_DEPTH, too_deep
from dbt_console.model import Job, Run, RunStatus

log = logging.getLogger(__name__)

MAX_PAGE = 100
MAX_BODY_BYTES = 4 << 20  # a job is at most a few fields of 1 MiB (jobrules)
# Who reads on behalf of a request before its token is known: no one, with no role. Only
# what needs no role (finding a token by its hash) may be done as it.
READER = Actor("(no token yet)", "anonymous", "api")
# /healthz answers probes, which carry no token: the engine's own view of its health.
PROBE = Actor("health probe", "engine", "api")

Handler = Callable[["Api", Request, Context], Awaitable[Response]]


class Api:
    """Reads run on the event loop with one store connection of its own (WAL readers
    never wait for the engine's writes); anything that writes runs in the thread pool
    with a context per call, so a busy store never stalls the polls of other clients."""

    def __init__(self, paths: Paths, account_id: int, url: str = ""):
        self.paths = paths
        self.account_id = account_id
        self.url = url  # where the API is served (.../api/v2/accounts/N/), when known
        self._local = threading.local()
        self.failed_tokens = throttle.FailedTokens()

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

    async def unauthorized(self, request: Request) -> Response:
        """401; a token that was sent but matched none is counted, audited while few, and
        answered later the more its address has failed."""
        if from_header(request.headers.get("authorization")):
            address = request.client.host if request.client else "unknown"
            failures = self.failed_tokens.failed(address)
            if throttle.audited(failures):
                await self.write(actions.tokens.REFUSED,
                                 lambda ctx: actions.tokens.refused(ctx, address, failures))
            await asyncio.sleep(throttle.delay(failures))
        return fail(401, "a valid API token is required: Authorization: Token <t> "
                         "(or Bearer <t>); make one with dbt-console tokens create")

    def ok(self, data, extra: dict | None = None) -> JSONResponse:
        return JSONResponse(wire.envelope(data, extra=extra))

    def job(self, ctx: Context, job_id: str) -> Job:
        return actions.jobs.by_id(ctx, number(job_id, "job"))

    def run(self, ctx: Context, run_id: str) -> Run:
        return actions.runs.get(ctx, number(run_id, "run"))

    def job_data(self, job: Job, places: dict[int, tuple[int, int]]) -> dict:
        return wire.job_obj(job, self.account_id, places.get(job.id))

    def run_data(self, ctx: Context, run: Run,
                 places: dict[int, tuple[int, int]] | None = None) -> dict:
        if places is None:
            places = actions.projects.places(ctx)
        data = wire.run_obj(run, self.account_id, actions.runs.cause(ctx, run.id),
                            places.get(run.job_id), actions.runs.overrides(ctx, run.id))
        if self.url:  # a link to open (Airflow's "Monitor Job Run"), not a command
            data["href"] = f"{self.url}runs/{run.id}/"
        if data["status_message"] is None and run.status is RunStatus.ERROR:
            # dbt Cloud says why a run failed here; clients show it (Dagster's message).
            failed, _ = actions.review.failed_nodes(ctx, run.id)
            data["status_message"] = wire.failure_words(failed)
        return data


def number(text: str, what: str) -> int:
    """An id from the path; anything else is no such thing."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # not '²'
        raise NotFound(f"no {what} with id {text}")
    return int(text)


def fail(code: int, message: str) -> JSONResponse:
    return JSONResponse(wire.envelope(None, code, message=message), status_code=code)


def endpoint(handler: Handler):
    async def asgi(request: Request) -> Response:
        api: Api = request.app.state.api
        try:
            actor = api.caller(request)
            if actor is None:
                return await api.unauthorized(request)
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


def page_params(request: Request) -> tuple[int, int]:
    q = request.query_params
    return (requests.whole(q.get("limit"), "limit", MAX_PAGE, 1, MAX_PAGE),
            requests.whole(q.get("offset"), "offset", 0, 0, 1 << 31))


def extra(filters: dict, order_by: str | None, count: int, total: int) -> dict:
    """The list envelope's paging; Airflow pages on filters.limit and total_count."""
    return {"filters": filters, "order_by": order_by,
            "pagination": {"count": count, "total_count": total}}


def named_like(items: list, request: Request) -> list:
    """name__icontains, as dbt Cloud's lists take it."""
    part = request.query_params.get("name__icontains")
    return [i for i in items if part.lower() in i.name.lower()] if part else items


async def body(request: Request):
    """The request's JSON body, read no further than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise requests.BadRequest(f"the body is over {MAX_BODY_BYTES >> 20} MiB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise requests.BadRequest(f"the body is over {MAX_BODY_BYTES >> 20} MiB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's own limit
        raise requests.BadRequest("the body is not valid JSON") from None
    if too_deep(value):
        raise requests.BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    return value
