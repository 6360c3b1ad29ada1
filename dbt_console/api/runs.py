"""The API's runs: list, get (with include_related), cancel, artifacts."""

from __future__ import annotations

import time
from collections import deque

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from dbt_console import actions, rundir
from dbt_console.actions import Actor, Context
from dbt_console.api import requests, wire
from dbt_console.api.base import Api, extra, page_params
from dbt_console.errors import NotFound
from dbt_console.model import Run

# run_steps' logs: the newest lines of each step (a step can log millions).
STEP_LOG_LINES = 5000
DEBUG_LOG_BYTES = 1 << 20
CANCEL_ANSWER_SECONDS = 10


async def list_runs(api: Api, request: Request, ctx: Context) -> Response:
    q = request.query_params
    limit, offset = page_params(request)
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
    places = actions.projects.places(ctx)
    job_ids = requests.jobs_placed(places, q.get("project_id"), q.get("environment_id"))
    runs, total = actions.runs.query(ctx, job_id, statuses, order.lstrip("-"),
                                     order.startswith("-"), limit, offset, between, job_ids)
    return api.ok([api.run_data(ctx, r, places) for r in runs], extra(
        {"job_definition_id": job_id, "status__in": codes or None, "limit": limit,
         "offset": offset, "finished_at__range": q.get("finished_at__range"),
         "project_id": q.get("project_id"), "environment_id": q.get("environment_id")},
        order, len(runs), total))


async def get_run(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])
    related = requests.related(request.query_params.getlist("include_related"))
    data = api.run_data(ctx, run)
    if "job" in related:
        job = actions.jobs.find(ctx, run.job_name)
        data["job"] = None if job is None else api.job_data(job, actions.projects.places(ctx))
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
        cancelled = actions.runs.cancel(wctx, run.id)
        # dbt Cloud answers with the run cancelled: wait for the engine to stop it (dbt
        # cancels its queries within a second or two), else answer with it still going.
        deadline = time.monotonic() + CANCEL_ANSWER_SECONDS
        while not cancelled.status.finished and time.monotonic() < deadline:
            time.sleep(0.1)
            cancelled = actions.runs.get(wctx, run.id)
        return api.run_data(wctx, cancelled)
    return api.ok(await api.write(ctx.actor, cancel))


async def list_artifacts(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])
    step = _step(request)
    return api.ok([name for name in rundir.ARTIFACTS
                   if rundir.artifact(run.run_dir, name, step) is not None])


async def get_artifact(api: Api, request: Request, ctx: Context) -> Response:
    run = api.run(ctx, request.path_params["run_id"])
    return artifact_of(run, request.path_params["path"], _step(request))


def _step(request: Request) -> int | None:
    step = request.query_params.get("step")
    # Steps count as dbt Cloud counts them: 1-3 set up, the job's commands from 4.
    return None if not step else requests.whole(step, "step", 1, 1, 10_000)


def artifact_of(run: Run, name: str, step: int | None = None) -> Response:
    if name not in rundir.ARTIFACTS:
        raise NotFound(f"artifact {name!r}: only {', '.join(rundir.ARTIFACTS)} are served")
    path = rundir.artifact(run.run_dir, name, step)
    if path is None:
        raise NotFound(f"run {run.id} has no {name}" + (f" for step {step}" if step else ""))
    return FileResponse(path, media_type="application/json")
