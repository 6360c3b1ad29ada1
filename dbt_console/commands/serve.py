"""`serve` and `status`: the engine in the foreground (and the API beside it), and
what it is doing."""

from __future__ import annotations

import json
import sys
import threading
import time
from argparse import Namespace

from dbt_console import humanize
from dbt_console.commands import out
from dbt_console.commands.history import run_json
from dbt_console.config import Paths
from dbt_console.errors import UserError
from dbt_console.model import Run
from dbt_console.store import Store


def cmd_serve(args: Namespace, paths: Paths) -> int:
    import logging
    import os
    import signal

    from dbt_console.config import load_settings
    from dbt_console.engine.engine import Engine
    from dbt_console.engine.launcher import restore_default_sigint

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it narrates every fire
    restore_default_sigint()
    settings = load_settings(paths)
    api = None
    if args.api or args.tls_cert or args.tls_key:
        if not args.api:
            raise UserError("--tls-cert and --tls-key are for the API: add --api HOST:PORT")
        from dbt_console.api.server import ApiServer

        # Bound before the engine starts: a taken port is refused before anything runs.
        api = ApiServer(paths.store, settings.api_account_id, args.api, args.tls_cert,
                        args.tls_key)
    engine = Engine(paths, settings, kind="serve")

    def report(run: Run) -> None:
        detail = f": {run.error}" if run.error else ""
        out(f"{humanize.local_time(time.time())} run {run.id} of {run.job_name} "
            f"({run.trigger}): {run.status.value}{detail}")
        sys.stdout.flush()

    engine.events.subscribe(report)
    orphans = _start_engine(engine)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduled = engine.next_fires()
    out(f"dbt-console engine running (pid {os.getpid()}) on {paths.store}: "
        f"{len(scheduled)} scheduled job(s), up to {settings.max_concurrent_runs} runs at once")
    if orphans:
        out(f"runs left running by a stopped engine, now marked error: "
            f"{', '.join(map(str, orphans))}")
    if api is not None:
        api.start()
        out(f"API (dbt Cloud's Admin API v2) on {api.url}")
    sys.stdout.flush()
    engine.wait(until=stop.is_set)
    if api is not None:
        api.stop()
    if engine.lost_lease:
        sys.stderr.write("dbt-console: another engine took over this store; stopping\n")
    out(f"stopping: runs in flight get up to {settings.stop_grace_seconds}s to finish")
    sys.stdout.flush()
    engine.stop()
    out("engine stopped")
    return 1 if engine.lost_lease else 0


def _start_engine(engine) -> list[int]:
    """Start the engine. Another serve holding the store is refused; a `run --wait`
    running one job is waited for, so a service restarted meanwhile does not fail."""
    from dbt_console.engine.lease import EngineBusy, describe

    told = False
    while True:
        try:
            return engine.start()
        except EngineBusy as busy:
            if busy.holder.kind == "serve":
                raise
            if not told:
                out(f"waiting for {describe(busy.holder)} to let go of the store...")
                sys.stdout.flush()
                told = True
            time.sleep(1)


def cmd_status(args: Namespace, paths: Paths) -> int:
    import socket

    from dbt_console.engine.lease import describe, live_holder
    from dbt_console.engine.scheduler import next_fire
    from dbt_console.engine.warm.launcher import rss_bytes

    with Store(paths.store) as store:
        holder = live_holder(store)
        queued = store.queued_runs()
        flying = store.runs_in_flight()
        fires = sorted((next_fire(j.schedule), j.name) for j in store.list_jobs()
                       if j.enabled and j.schedule)
        events = store.recent_events(5)
        helpers = [] if holder is None else store.warm_helpers(holder.token)
    local = holder is not None and holder.host == socket.gethostname()
    rss = {h.pid: rss_bytes(h.pid) if local else None for h in helpers}
    if args.json:
        out(json.dumps({
            "engine": None if holder is None else {
                "kind": holder.kind, "host": holder.host, "pid": holder.pid,
                "since": humanize.iso_utc(holder.started_at),
                "heartbeat": humanize.iso_utc(holder.heartbeat_at)},
            "queued": [run_id for run_id, _ in queued],
            "in_flight": [run_json(r, {}) for r in flying],
            "next_fires": [{"job": name, "at": humanize.iso_utc(at)} for at, name in fires],
            "warm_helpers": [{"python": h.python, "pid": h.pid, "state": h.state,
                              "dbt_version": h.dbt_version or None, "rss_bytes": rss[h.pid],
                              "detail": h.detail or None} for h in helpers],
        }, indent=2))
        return 0
    out(f"engine:    {describe(holder) if holder else 'none running (start: dbt-console serve)'}")
    out(f"queued:    {len(queued)}" + (f" (runs {', '.join(str(i) for i, _ in queued[:10])})"
                                       if queued else ""))
    out(f"in flight: {len(flying)}")
    for run in flying:
        progress = run.progress
        done = f", {progress.get('done', 0)}/{progress.get('total', 0)} nodes" if progress else ""
        out(f"  run {run.id} of {run.job_name}: {run.status.value} for "
            f"{humanize.duration(time.time() - (run.started_at or run.queued_at))}{done}")
    if holder is not None:
        out(f"warm dbt:  {len(helpers) or 'no'} helper(s)" + (
            "" if helpers else " (none started yet, or warm_starts is off)"))
    for h in helpers:
        memory = f", {humanize.size(rss[h.pid])}" if rss[h.pid] else ""
        version = f"dbt {h.dbt_version}, " if h.dbt_version else ""
        detail = f": {h.detail}" if h.detail else ""
        out(f"  {h.state}: {version}pid {h.pid}{memory}, {h.python}{detail}")
    out("next fires:")
    for at, name in fires[:10]:
        out(f"  {humanize.local_time(at)}  {name}")
    if events:
        out("engine events:")
        for event in events:
            out(f"  {humanize.local_time(event.at)}  {event.kind}  {event.job_name or ''}  "
                f"{event.detail}")
    return 0
