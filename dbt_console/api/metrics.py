"""/metrics in Prometheus' text format, built with prometheus_client from one snapshot of
the store per scrape (actions.metrics), and /healthz for systemd and Kubernetes.

Labels stay bounded: jobs, statuses, trigger kinds, hook types, helper states. Never a
run id, a branch or a secret (hook targets are not labels at all).
"""

from __future__ import annotations

import os
import threading

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dbt_console import actions
from dbt_console.actions import Context
from dbt_console.api.base import PROBE, Api
from dbt_console.metrics import DURATION_BUCKETS, LATENESS_BUCKETS, Histogram

PREFIX = "dbt_console_"


class _Counted:
    """A prometheus_client collector over what changes only as runs finish."""

    def __init__(self, counted):
        self.counted = counted

    def collect(self):
        totals = self.counted.totals
        runs = CounterMetricFamily(PREFIX + "runs", "Finished runs", labels=[
            "job", "status", "trigger"])
        for (job, status, kind), n in sorted(totals.runs.items()):
            runs.add_metric([job, status, kind], n)
        yield runs
        yield _histogram("run_duration_seconds", "Run wall time, queue excluded",
                         totals.run_seconds, DURATION_BUCKETS, "job")
        yield _histogram("step_duration_seconds", "Step wall time", totals.step_seconds,
                         DURATION_BUCKETS, "job")
        yield _histogram("schedule_lateness_seconds", "From a schedule's fire to the run's "
                         "start", totals.lateness, LATENESS_BUCKETS, None)
        deliveries = CounterMetricFamily(PREFIX + "deliveries", "Notification deliveries",
                                         labels=["hook_type", "outcome"])
        for (kind, status), n in sorted(totals.deliveries.items()):
            deliveries.add_metric([kind, status], n)
        yield deliveries
        last = GaugeMetricFamily(PREFIX + "job_last_success_timestamp_seconds",
                                 "When each job last succeeded", labels=["job"])
        for job, at in sorted(self.counted.last_success.items()):
            last.add_metric([job], at)
        yield last
        nodes = GaugeMetricFamily(PREFIX + "job_last_run_nodes", "Node results of each "
                                  "job's latest finished run", labels=["job", "status"])
        for job, counts in sorted(self.counted.last_nodes.items()):
            for status, n in sorted(counts.items()):
                nodes.add_metric([job, status], n)
        yield nodes


class _Gauges:
    """A prometheus_client collector over what a scrape reads afresh each time."""

    def __init__(self, snap):
        self.snap = snap

    def collect(self):
        snap = self.snap

        def gauge(name: str, doc: str, value: float | None = None, labels=None):
            return GaugeMetricFamily(PREFIX + name, doc, value=value, labels=labels)

        yield gauge("queue_depth", "Runs queued", snap.queued)
        yield gauge("runs_in_flight", "Runs starting or running", snap.in_flight)
        helpers = gauge("warm_helpers", "Warm dbt helpers of the engine", labels=["state"])
        for state, n in sorted(snap.helpers.items()):
            helpers.add_metric([state], n)
        yield helpers
        if snap.lease_age is not None:
            yield gauge("lease_heartbeat_age_seconds", "Since the engine last renewed its "
                        "lease", snap.lease_age)
        yield gauge("store_bytes", "The store on disk, with its write-ahead log",
                    snap.store_bytes)


def _histogram(name: str, doc: str, table: dict[str, Histogram], bounds, label: str | None):
    family = HistogramMetricFamily(PREFIX + name, doc, labels=[label] if label else [])
    for key, h in sorted(table.items()):
        buckets = [(repr(b), n) for b, n in zip(bounds, h.buckets, strict=True)]
        buckets.append(("+Inf", h.count))
        family.add_metric([key] if label else [], buckets, h.total)
    return family


# The rendered counters, for as long as the store's metrics fingerprint stays the same.
_counted = {"fingerprint": None, "text": b""}
_counted_lock = threading.Lock()


def _render(collector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)


async def metrics(api: Api, request: Request, ctx: Context) -> Response:
    def scrape() -> bytes:
        with Context(api.paths, ctx.actor) as own, _counted_lock:
            snap = actions.metrics.snapshot(own, unless=_counted["fingerprint"])
            if snap.counted is not None:
                _counted.update(fingerprint=snap.fingerprint, text=_render(
                    _Counted(snap.counted)))
            return _counted["text"] + _render(_Gauges(snap))
    return Response(await run_in_threadpool(scrape), media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    """200 while the serve that started this process holds the lease and its loop has
    renewed it lately; 503 saying why otherwise. No token: probes carry none."""
    api: Api = request.app.state.api
    ok, why = actions.status.health(api.reader.acting_as(PROBE), os.getppid())
    return JSONResponse({"ok": ok, "why": why}, status_code=200 if ok else 503)
