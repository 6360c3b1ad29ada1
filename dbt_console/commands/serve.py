"""`serve` and `status`: the engine in the foreground (and the API beside it), and
what it is doing."""

from __future__ import annotations

import json
import sys
import threading
import time
from argparse import Namespace

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out
from dbt_console.commands.history import run_json
from dbt_console.errors import UserError
from dbt_console.model import Run


def cmd_serve(args: Namespace, ctx: Context) -> int:
    import os
    import signal

    from dbt_console.config import load_settings
    from dbt_console.engine import parts
    from dbt_console.engine.engine import Engine

    _prepare_process()
    paths = ctx.paths
    settings = load_settings(paths)
    servers = _http_servers(args, paths, settings)
    background = getattr(args, "background", False)
    kind = "background" if background else "serve"
    if background:  # its session has no terminal; a hangup sent its way is not for it
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        sys.stdout.reconfigure(line_buffering=True)  # engine.log, read while it runs
    api_url = next((s.url for s, what in servers if what.startswith("API")), None)
    engine = Engine(paths, settings, parts.for_serve(paths, settings, kind, api_url=api_url))

    engine.events.subscribe(_report)
    orphans = _start_engine(engine, ctx, background)
    if orphans is None:
        return 0
    from dbt_console.gateway.server import Gateway

    # Teammates reach the actions here when the store is not theirs to open.
    try:
        gateway = Gateway(paths)
    except UserError:
        engine.stop(grace_seconds=0)  # give the lease back: nothing ran yet
        raise
    gateway.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduled = engine.next_fires()
    out(f"dbt-console engine running (pid {os.getpid()}) on {paths.store}: "
        f"{len(scheduled)} scheduled job(s), up to {settings.max_concurrent_runs} runs at once")
    _warn_untested_dbt()
    if orphans:
        out(f"runs left running by a stopped engine, now marked error: "
            f"{', '.join(map(str, orphans))}")
    for server, what in servers:
        server.start()
        out(f"{what} on {server.url}")
    engine.watchdog.ready()  # systemd's Type=notify: serving from here on
    sys.stdout.flush()
    idle = _idle_timer(engine, paths, settings, background)
    engine.wait(until=lambda: stop.is_set() or idle())
    engine.watchdog.stopping()
    gateway.stop()
    for server, _ in servers:
        server.stop()
    _say_why_it_stops(engine, settings, idle())
    out(f"stopping: runs in flight get up to {settings.stop_grace_seconds}s to finish")
    sys.stdout.flush()
    engine.stop()
    out("engine stopped")
    return 1 if engine.lost_lease or engine.store_lost else 0


def _report(run: Run) -> None:
    """A line per run state change, for the journal (or engine.log)."""
    detail = f": {run.error}" if run.error else ""
    out(f"{humanize.local_time(time.time())} run {run.id} of {run.job_name} "
        f"({run.trigger}): {run.status.value}{detail}")
    sys.stdout.flush()


def _prepare_process() -> None:
    """Logging for a service, and SIGINT back for the dbt we start, should a script's
    `cmd &` have started us without it."""
    import logging

    from dbt_console.engine.launcher import restore_default_sigint

    restore_default_sigint()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it narrates every fire
    # httpx logs every request's full URL at INFO: a hook's URL is a credential.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _say_why_it_stops(engine, settings, idle: bool) -> None:
    if engine.store_lost:
        sys.stderr.write(f"dbt-console: {engine.store_lost}\n")
    elif engine.lost_lease:
        sys.stderr.write("dbt-console: another engine took over this store; stopping\n")
    elif engine.stop_asked_by:
        out(f"{engine.stop_asked_by} asked the engine to stop (dbt-console engine stop)")
    elif idle:
        out(f"idle for {settings.background_idle_minutes} min (nothing queued or running, "
            "no schedule): a background engine stops")


def _warn_untested_dbt() -> None:
    from dbt_console import dbtversion

    warning = dbtversion.untested(dbtversion.installed())
    if warning:
        out(f"warning: {warning}")


def _http_servers(args: Namespace, paths, settings) -> list[tuple]:
    """The API's and the metrics' sockets, bound before the engine starts: a taken port is
    refused before anything runs."""
    if (args.tls_cert or args.tls_key) and not args.api:
        raise UserError("--tls-cert and --tls-key are for the API: add --api HOST:PORT")
    if not (args.api or args.metrics):
        return []
    from dbt_console.api.server import ApiServer

    servers = []
    if args.api:
        servers.append((ApiServer(paths, settings.api_account_id, args.api, args.tls_cert,
                                  args.tls_key), "API (dbt Cloud's Admin API v2)"))
    if args.metrics:
        servers.append((ApiServer(paths, settings.api_account_id, args.metrics,
                                  metrics_only=True), "metrics (Prometheus) and /healthz"))
    return servers


def _idle_timer(engine, paths, settings, background: bool):
    """serve runs until stopped; a background engine also goes once idle long enough."""
    if not background:
        return lambda: False
    from dbt_console.engine.background import IdleTimer

    return IdleTimer(engine, paths.store, settings.background_idle_minutes * 60).expired


def _start_engine(engine, ctx: Context, background: bool) -> list[int] | None:
    """Start the engine. Another serve holding the store is refused; a `run --wait`
    running one job is waited for, so a service restarted meanwhile does not fail, and a
    dashboard's background engine is asked to stop: serve is the production engine. A
    background engine that finds any engine alive has nothing to do (None)."""
    from dbt_console.engine.lease import EngineBusy, describe

    told = False
    while True:
        try:
            return engine.start()
        except EngineBusy as busy:
            if background:
                out(f"{describe(busy.holder)} holds the store: nothing to do")
                return None
            if busy.holder.kind == "serve":
                raise
            if not told:
                if busy.holder.kind == "background":
                    actions.engine.stop(ctx)
                    out(f"asked {describe(busy.holder)} to stop (runs in flight finish "
                        "first, within its stop grace)")
                out(f"waiting for {describe(busy.holder)} to let go of the store...")
                sys.stdout.flush()
                told = True
            time.sleep(1)


def cmd_status(args: Namespace, ctx: Context) -> int:
    st = actions.status.status(ctx)
    if args.json:
        out(json.dumps({**_status_json(st), "space": actions.retention.space(ctx)}, indent=2))
        return 0
    out(f"engine:    {st.engine_words}")
    out(f"dbt-core:  {st.dbt_core or 'not installed beside dbt-console'}"
        + (f" (warning: {st.dbt_core_warning})" if st.dbt_core_warning else ""))
    out(f"queued:    {len(st.queued)}" + (f" (runs {', '.join(map(str, st.queued[:10]))})"
                                          if st.queued else ""))
    out(f"in flight: {len(st.in_flight)}")
    for run in st.in_flight:
        if st.engine is None:  # nothing is running it: no progress to speak of
            out(f"  run {run.id} of {run.job_name}: {actions.runs.ORPHANED}")
            continue
        progress = run.progress
        done = f", {progress.get('done', 0)}/{progress.get('total', 0)} nodes" if progress else ""
        out(f"  run {run.id} of {run.job_name}: {run.status.value} for "
            f"{humanize.duration(time.time() - (run.started_at or run.queued_at))}{done}")
    if st.engine is not None:
        out(f"warm dbt:  {len(st.helpers) or 'no'} helper(s)" + (
            "" if st.helpers else " (none started yet, or warm_starts is off)"))
    for helper in st.helpers:
        h = helper.row
        memory = f", {humanize.size(helper.rss_bytes)}" if helper.rss_bytes else ""
        version = f"dbt {h.dbt_version}, " if h.dbt_version else ""
        detail = f": {h.detail}" if h.detail else ""
        out(f"  {h.state}: {version}pid {h.pid}{memory}, {h.python}{detail}")
    space = actions.retention.space(ctx)
    out(f"space:     {humanize.size(sum(space.values()))} (store {humanize.size(space['store'])}"
        f", runs {humanize.size(space['runs'])}, git clones "
        f"{humanize.size(space['workspaces'])}; dbt-console prune --dry-run)")
    out("next fires:")
    for at, name in st.next_fires[:10]:
        out(f"  {humanize.local_time(at)}  {name}")
    if st.events:
        out("engine events:")
        for event in st.events:
            out(f"  {humanize.local_time(event.at)}  {event.kind}  {event.job_name or ''}  "
                f"{event.detail}")
    return 0


def cmd_prune(args: Namespace, ctx: Context) -> int:
    done = actions.retention.plan(ctx) if args.dry_run else actions.retention.prune(ctx)
    ids = ", ".join(map(str, done.run_ids[:20])) + (" ..." if len(done.run_ids) > 20 else "")
    if not done.run_ids:
        out("nothing past retention (settings keep_runs_days, keep_runs_per_job)")
    elif done.done:
        out(f"removed {len(done.run_ids)} run(s), {humanize.size(done.bytes)} freed: {ids}")
    else:
        out(f"would remove {len(done.run_ids)} run(s), {humanize.size(done.bytes)}: {ids}")
    return 0


def _status_json(st) -> dict:
    holder = st.engine
    return {
        "dbt_core": st.dbt_core, "dbt_core_warning": st.dbt_core_warning,
        "engine": None if holder is None else {
            "kind": holder.kind, "host": holder.host, "pid": holder.pid,
            "since": humanize.iso_utc(holder.started_at),
            "heartbeat": humanize.iso_utc(holder.heartbeat_at)},
        "queued": list(st.queued),
        "in_flight": [run_json(r, {}, holder is None) for r in st.in_flight],
        "next_fires": [{"job": name, "at": humanize.iso_utc(at)} for at, name in st.next_fires],
        "warm_helpers": [{"python": h.row.python, "pid": h.row.pid, "state": h.row.state,
                          "dbt_version": h.row.dbt_version or None, "rss_bytes": h.rss_bytes,
                          "detail": h.row.detail or None} for h in st.helpers],
    }
