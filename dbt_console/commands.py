"""What each CLI command does. The TUI calls the same store and engine functions."""

from __future__ import annotations

import json
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

from dbt_console import ci, humanize
from dbt_console.config import Paths, current_user, resolve_paths
from dbt_console.errors import UserError
from dbt_console.model import Run, RunStatus, Trigger, redact
from dbt_console.store import Store
from dbt_console.store.tail import RunTail

# A poll that finds nothing new is one PRAGMA: cheap enough to do 50 times a second.
FOLLOW_POLL_SECONDS = 0.02


def dispatch(args: Namespace) -> int:
    paths = resolve_paths()
    handler = {
        "demo": cmd_demo, "jobs": cmd_jobs, "run": cmd_run, "runs": cmd_runs, "logs": cmd_logs,
        "cancel": cmd_cancel, "retry": cmd_retry, "serve": cmd_serve, "status": cmd_status,
        "hooks": cmd_hooks, "docs": cmd_docs, "deliveries": cmd_deliveries, "ci": cmd_ci,
        "tokens": cmd_tokens,
    }[args.command]
    return handler(args, paths)


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


# --- demo -------------------------------------------------------------------------

def cmd_demo(args: Namespace, paths: Paths) -> int:
    from dbt_console import jobspec
    from dbt_console.demo import write_demo

    jobs_file = write_demo(paths.demo)
    jobs = jobspec.load_jobs_file(jobs_file)
    with Store(paths.store) as store:
        store.save_jobs(jobs)
    out(f"demo dbt project: {jobs_file.parent / 'pedalshare'}")
    out(f"demo jobs ({', '.join(j.name for j in jobs)}) imported from {jobs_file}")
    out(f"store: {paths.store}")
    out()
    if not args.no_tui and sys.stdin.isatty() and sys.stdout.isatty():
        from dbt_console.tui.app import run_app

        return run_app(paths)
    out("next:  dbt-console                        # the dashboard")
    out("       dbt-console run nightly --wait     # a run that succeeds")
    out("       dbt-console run ride_audit --wait  # a run that fails on purpose")
    out("       dbt-console runs")
    return 0


# --- jobs -------------------------------------------------------------------------

def cmd_jobs(args: Namespace, paths: Paths) -> int:
    from dbt_console import jobspec

    with Store(paths.store) as store:
        action = args.jobs_command
        if action == "list":
            return _jobs_list(store, args.json)
        if action == "show":
            sys.stdout.write(jobspec.dump_jobs([store.get_job(args.name)]))
            return 0
        if action == "import":
            jobs = jobspec.load_jobs_file(Path(args.file))
            existing = {j.name for j in store.list_jobs()}
            store.save_jobs(jobs)
            created = [j.name for j in jobs if j.name not in existing]
            updated = [j.name for j in jobs if j.name in existing]
            out(f"imported {len(jobs)} job(s) from {args.file}"
                + (f"; created: {', '.join(created)}" if created else "")
                + (f"; updated: {', '.join(updated)}" if updated else ""))
            return 0
        if action == "export":
            text = jobspec.dump_jobs(store.list_jobs(), include_secrets=args.include_secrets)
            if args.file == "-":
                sys.stdout.write(text)
            else:
                try:
                    Path(args.file).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise UserError(f"{args.file}: cannot write: {exc.strerror}") from None
                out(f"exported {len(store.list_jobs())} job(s) to {args.file}")
            return 0
        if action == "delete":
            store.delete_job(args.name)
            out(f"deleted job {args.name!r}; its past runs are kept")
            return 0
        if action in ("pause", "resume"):
            job = store.set_job_enabled(args.name, action == "resume")
            out(f"job {job.name!r} {'resumed' if job.enabled else 'paused'}")
            return 0
    raise AssertionError(action)


def _jobs_list(store: Store, as_json: bool) -> int:
    from dbt_console import jobspec

    jobs = store.list_jobs()
    latest = store.latest_runs()
    if as_json:
        docs = []
        for job in jobs:
            doc = {"id": job.id, **jobspec.public_dict(job)}
            last = latest.get(job.name)
            doc["next_fire"] = (humanize.iso_utc(_next_fire(job))
                                if job.enabled and job.schedule else None)
            doc["last_run"] = None if last is None else {
                "id": last.id, "status": last.status.value,
                "finished_at": humanize.iso_utc(last.finished_at)}
            docs.append(doc)
        out(json.dumps(docs, indent=2))
        return 0
    rows = []
    for job in jobs:
        last = latest.get(job.name)
        schedule = f"{job.schedule.cron} ({job.schedule.timezone})" if job.schedule else "-"
        nxt = humanize.local_time(_next_fire(job)) if job.enabled and job.schedule else "-"
        project = (f"{redact(job.git.url)}#{job.git.branch}" if job.git else job.project_dir) \
            or ""
        rows.append([str(job.id), job.name, "yes" if job.enabled else "paused", schedule, nxt,
                     f"#{last.id} {last.status.value}" if last else "-", project])
    # The id is what the API's paths and orchestrators' dbt Cloud operators call the job.
    out(humanize.table(["ID", "NAME", "ENABLED", "SCHEDULE", "NEXT FIRE", "LAST RUN",
                        "PROJECT"], rows))
    return 0


def _next_fire(job) -> float | None:
    from dbt_console.engine.scheduler import next_fire

    return next_fire(job.schedule)


# --- run, retry, cancel -------------------------------------------------------------

def cmd_run(args: Namespace, paths: Paths) -> int:
    with Store(paths.store) as store:
        job = store.get_job(args.job)
        branch, sha, trigger = args.branch, args.sha, Trigger.MANUAL
        if (branch or sha) and job.git is None:
            raise UserError(f"job {job.name!r} runs a local project_dir; --branch and --sha "
                            "are for git jobs")
        if job.ci is not None:
            if not branch:
                raise UserError(f"job {job.name!r} is a CI job: name the branch to test with "
                                f"--branch (it watches {', '.join(job.ci.branches)})")
            sha = sha or _branch_head(job, branch)
            trigger = ci.trigger(branch, sha)
        run = store.enqueue_run(job, trigger, current_user(), branch, sha)
        return _start(paths, store, run, args.wait)


def _branch_head(job, branch: str) -> str:
    from dbt_console.engine.workspace import WorkspaceError, remote_head

    try:
        return remote_head(job.git.url, branch)
    except WorkspaceError as exc:
        raise UserError(f"job {job.name!r}: --branch {branch}: {exc}") from None


def cmd_tokens(args: Namespace, paths: Paths) -> int:
    from dbt_console.api.tokens import new_token, token_hash
    from dbt_console.model import NAME_RE

    with Store(paths.store) as store:
        if args.tokens_command == "create":
            if not NAME_RE.match(args.name):
                raise UserError(f"token name {args.name!r}: use lower-case letters, digits, "
                                "- and _ (it names who asked, on every run it starts)")
            token = new_token()
            store.create_token(args.name, token_hash(token), current_user())
            out(token)
            sys.stderr.write(f"dbt-console: token {args.name!r} created; it is shown this "
                             "once and only its hash is kept\n")
        elif args.tokens_command == "revoke":
            store.revoke_token(args.name)
            out(f"token {args.name!r} revoked")
        else:
            rows = [[name, humanize.local_time(created), by,
                     humanize.local_time(revoked) if revoked else "live"]
                    for name, created, by, _, revoked in store.list_tokens()]
            out(humanize.table(["NAME", "CREATED", "BY", "STATE"], rows))
    return 0


def cmd_ci(args: Namespace, paths: Paths) -> int:
    """ci cleanup: a run per deleted branch that drops its schema, seen through."""
    from dbt_console.engine.ci_run import CLEANUP_PREFIX
    from dbt_console.engine.workspace import WorkspaceError, remote_heads

    with Store(paths.store) as store:
        jobs = [store.get_job(args.job)] if args.job else store.list_jobs()
        jobs = [j for j in jobs if j.ci is not None]
        if not jobs:
            raise UserError(f"job {args.job!r} is not a CI job (it has no ci: field)"
                            if args.job else "there are no CI jobs")
        worst = 0
        for job in jobs:
            try:
                heads = remote_heads(job.git.url)
            except WorkspaceError as exc:
                raise UserError(f"job {job.name!r}: cannot list the remote's branches: "
                                f"{exc}") from None
            known = {b.branch: b for b in store.ci_branches(job.name)}
            gone = [b for b in known if b not in heads]
            store.mark_ci_gone(job.name, gone)
            if args.branch is not None:
                if args.branch in heads:
                    raise UserError(f"branch {args.branch!r} still exists on the remote of "
                                    f"{job.name!r}; its next CI run would only make the schema "
                                    "again: delete the branch first")
                if args.branch not in known:
                    raise UserError(f"job {job.name!r} never ran branch {args.branch!r}")
                gone = [args.branch]
            todo = [b for b in gone if known[b].dropped_at is None or b == args.branch]
            if not todo:
                out(f"{job.name}: nothing to clean up (no deleted branch with a schema left)")
            for branch in todo:
                run = store.enqueue_run(job, f"{CLEANUP_PREFIX}{branch}", current_user())
                worst = max(worst, _start(paths, store, run, wait=True))
        return worst


def _start(paths: Paths, store: Store, run: Run, wait: bool) -> int:
    """A run is queued: print its id; with wait, see it through to the end."""
    from dbt_console.engine.lease import EngineBusy, LeaseKeeper, live_holder

    out(str(run.id))
    sys.stdout.flush()
    if live_holder(store) is None:
        if not wait:
            sys.stderr.write(
                f"dbt-console: run {run.id} of {run.job_name} is queued, but no engine is "
                "running to start it: start one with 'dbt-console serve', or use --wait to "
                "run it here\n")
            return 0
        keeper = LeaseKeeper("run --wait")
        try:
            keeper.acquire(store)
        except EngineBusy:
            pass  # an engine started just now: it will run it
        else:
            try:
                return _run_here(paths, store, run, keeper)
            finally:
                keeper.release(store)
    if not wait:
        return 0
    _follow_cancellable(store, run.id)
    return _summary(store, store.get_run(run.id))


def _run_here(paths: Paths, store: Store, run: Run, keeper) -> int:
    """No engine is alive: this process holds the lease and runs the run itself."""
    from dbt_console.engine.executor import Executor
    from dbt_console.engine.launcher import restore_default_sigint
    from dbt_console.engine.lease import recover

    restore_default_sigint()
    recover(store, keeper)
    warm = _warm_for(paths, store.run_job(run.id))
    executor = Executor(paths, warm)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            executor.execute(run.id)
        except BaseException as exc:  # re-raised on the main thread below
            failure.append(exc)

    thread = threading.Thread(target=work, name=f"run-{run.id}", daemon=True)
    thread.start()
    try:
        _follow_cancellable(store, run.id, on_poll=lambda: keeper.beat_if_due(store),
                            cancel=lambda: executor.cancel(run.id))
        thread.join()
    finally:
        if warm is not None:
            warm.close()
    if failure:
        raise failure[0]
    # No engine will come by to send this run's notifications now: try them here once;
    # whatever fails stays queued, with its retries, for the next engine.
    from dbt_console.engine.notify.notifier import send_due

    send_due(store, run.id)
    return _summary(store, store.get_run(run.id))


def _warm_for(paths: Paths, job):
    """A launcher for a run with no engine around: a helper that only imports dbt starts
    beside the first step and is ready for the second (the first runs cold). One-step
    jobs gain nothing from it and get none."""
    from dbt_console.config import load_settings
    from dbt_console.engine.executor import SetupError, find_dbt
    from dbt_console.engine.warm.launcher import WarmLauncher

    if len(job.commands) < 2 or not job.warm or not load_settings(paths).warm_starts:
        return None
    try:
        dbt = find_dbt(job)
    except SetupError:
        return None  # the run says so
    launcher = WarmLauncher(paths.helper_log, imports_only=True)
    launcher.prewarm([dbt])
    return launcher


def _follow_cancellable(store: Store, run_id: int, on_poll=None, cancel=None) -> None:
    """Stream a run's log to its end; Ctrl-C cancels the run (dbt gets SIGINT and stops
    cleanly) and the stream goes on until the run has ended."""
    while True:
        try:
            _follow(store, run_id, on_poll)
            return
        except KeyboardInterrupt:
            sys.stderr.write(f"\ndbt-console: cancelling run {run_id}...\n")
            store.request_cancel(run_id)
            if cancel is not None:
                cancel()


def _follow(store: Store, run_id: int, on_poll=None) -> Run:
    tail = RunTail(store, run_id)
    while True:
        lines = tail.poll()
        if lines:
            sys.stdout.write("".join(humanize.log_line(ln) + "\n" for ln in lines))
            sys.stdout.flush()
        if tail.finished:
            return tail.run
        if on_poll is not None:
            on_poll()
        time.sleep(FOLLOW_POLL_SECONDS)


def cmd_retry(args: Namespace, paths: Paths) -> int:
    from dbt_console.retries import retry

    with Store(paths.store) as store:
        run, note = retry(store, args.run_id, current_user())
        sys.stderr.write(f"dbt-console: {note}\n")
        return _start(paths, store, run, args.wait)


def cmd_cancel(args: Namespace, paths: Paths) -> int:
    from dbt_console.engine.lease import live_holder

    with Store(paths.store) as store:
        run = store.get_run(args.run_id)
        if run.status.finished:
            raise UserError(f"run {run.id} already finished: {run.status.value}")
        run = store.request_cancel(run.id)
        if run.status is RunStatus.CANCELLED:
            out(f"run {run.id} cancelled; it had not started")
            return 0
        if live_holder(store) is None:
            raise UserError(f"run {run.id} is {run.status.value} but no engine is alive to "
                            "stop it; the next engine to start marks it as failed")
        out(f"cancelling run {run.id}...")
        deadline = time.monotonic() + 30
        while not run.status.finished and time.monotonic() < deadline:
            time.sleep(0.1)
            run = store.get_run(run.id)
        out(f"run {run.id}: {run.status.value}")
        return 0 if run.status.finished else 1


# --- notifications ------------------------------------------------------------------

def cmd_hooks(args: Namespace, paths: Paths) -> int:
    import json as _json

    from dbt_console.engine.notify import payloads
    from dbt_console.engine.notify.send import attempt, masked_target
    from dbt_console.model import NodeResult

    with Store(paths.store) as store:
        job = store.get_job(args.job)
        if not job.hooks:
            raise UserError(f"job {job.name!r} has no hooks (add them under hooks: in its "
                            "jobs file)")
        sample = Run(id=0, job_id=job.id, job_name=job.name, status=RunStatus.ERROR,
                     trigger="test", actor=current_user(), queued_at=time.time(),
                     started_at=time.time() - 42, finished_at=time.time(),
                     error="a test event from dbt-console hooks test")
        failed = [NodeResult("test.example.a_failing_test", "fail",
                             message="this is a test event")]
        failing = 0
        for index, hook in enumerate(job.hooks):
            nodes = [(r.unique_id, r.status, r.message) for r in failed]
            if hook.type == "slack":
                body = payloads.slack(sample, "errored", {"fail": 1}, nodes)
            elif hook.type == "pagerduty":
                body = payloads.pagerduty("", sample, "errored", nodes)
            else:
                body = payloads.webhook(hook, index, sample, "errored", {"fail": 1}, nodes)
            result = attempt(hook, _json.dumps(body))
            failing += not result.delivered
            outcome = ("delivered" if result.delivered else f"FAILED: {result.error}")
            code = f" ({result.status_code})" if result.status_code is not None else ""
            out(f"hooks[{index}] {hook.type} {masked_target(hook)}: {outcome}{code}")
    return 1 if failing else 0


def cmd_deliveries(args: Namespace, paths: Paths) -> int:
    with Store(paths.store) as store:
        rows = store.list_deliveries(run_id=args.run, failed_only=args.failed)
    if args.json:
        out(json.dumps([{
            "id": d.id, "run_id": d.run_id, "job": d.job_name,
            "hook": {"type": d.hook_type, "target": d.target}, "event": d.event,
            "status": d.status, "attempts": d.attempts,
            "last_status_code": d.last_status_code, "last_error": d.last_error,
            "next_attempt_at": humanize.iso_utc(d.next_attempt_at)
            if d.status == "pending" else None,
        } for d in rows], indent=2))
        return 0
    out(humanize.table(
        ["ID", "RUN", "JOB", "HOOK", "EVENT", "STATUS", "TRIES", "LAST"],
        [[str(d.id), str(d.run_id), d.job_name, f"{d.hook_type} {d.target}", d.event,
          d.status, str(d.attempts), d.last_error or (str(d.last_status_code or ""))]
         for d in rows]))
    return 0


# --- the engine ---------------------------------------------------------------------

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


def cmd_docs(args: Namespace, paths: Paths) -> int:
    from dbt_console.docs_site import docs_dir, docs_server, find_docs, how_to_reach

    with Store(paths.store) as store:
        run = find_docs(store, args.job, args.run)
    server = docs_server(docs_dir(run.run_dir), args.port)
    url, ssh = how_to_reach(server.server_address[1])
    out(f"docs of {run.job_name} from run {run.id} ({run.status.value}, "
        f"{humanize.local_time(run.finished_at)}): {url}")
    out(f"from your laptop: {ssh}")
    out("Ctrl-C stops serving")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


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


# --- runs, logs -------------------------------------------------------------------------

def _summary(store: Store, run: Run) -> int:
    counts = store.node_counts([run.id])[run.id]
    nodes = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    line = (f"run {run.id} of {run.job_name}: {run.status.value} "
            f"in {humanize.duration(run.duration)}" + (f" ({nodes})" if nodes else ""))
    if run.error:
        line += f": {run.error}"
    out(line)
    failed = [r for r in store.node_results(run.id) if r.status in ("error", "fail")]
    for result in failed[:10]:
        first_line = (result.message or "").strip().splitlines()[:1]
        out(f"  {result.status}: {result.unique_id}: {''.join(first_line)}")
    return 0 if run.status is RunStatus.SUCCESS else 1


def cmd_runs(args: Namespace, paths: Paths) -> int:
    if args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    with Store(paths.store) as store:
        if args.job is not None and store.find_job(args.job) is None and not store.list_runs(
                args.job, limit=1):
            raise UserError(f"no job named {args.job!r} and no runs of one")
        runs = store.list_runs(args.job, limit=args.limit, status=args.status,
                               trigger=args.trigger, text=args.search, branch=args.branch)
        counts = store.node_counts([r.id for r in runs])
    if args.json:
        out(json.dumps([run_json(r, counts[r.id]) for r in runs], indent=2))
        return 0
    rows = [[str(r.id), r.job_name, r.status.value, humanize.trigger(r.trigger),
             humanize.local_time(r.started_at or r.queued_at),
             humanize.duration(r.duration), r.git_branch or "", (r.git_sha or "")[:12]]
            for r in runs]
    out(humanize.table(["ID", "JOB", "STATUS", "TRIGGER", "STARTED", "DURATION", "BRANCH",
                        "GIT SHA"], rows))
    return 0


def run_json(run: Run, nodes: dict[str, int]) -> dict:
    return {
        "id": run.id, "job": run.job_name, "status": run.status.value,
        "trigger": run.trigger, "actor": run.actor,
        "git_sha": run.git_sha, "git_branch": run.git_branch,
        "queued_at": humanize.iso_utc(run.queued_at),
        "started_at": humanize.iso_utc(run.started_at),
        "finished_at": humanize.iso_utc(run.finished_at),
        "duration": None if run.duration is None else round(run.duration, 3),
        "error": run.error, "nodes": nodes,
    }


def cmd_logs(args: Namespace, paths: Paths) -> int:
    with Store(paths.store) as store:
        run = store.get_run(args.run_id)
        if args.follow:
            from dbt_console.engine.lease import live_holder

            if not run.status.finished and live_holder(store) is None:
                sys.stderr.write(f"dbt-console: run {run.id} is {run.status.value} and no "
                                 "engine is running; following until one runs it\n")
            _follow(store, args.run_id)
            return 0
        batch: list[str] = []
        for line in store.iter_log(args.run_id):
            batch.append(humanize.log_line(line))
            if len(batch) >= 5000:
                out("\n".join(batch))
                batch.clear()
        if batch:
            out("\n".join(batch))
    return 0


def write_crash_report(text: str) -> Path:
    paths = resolve_paths()
    report = paths.data_dir / "crash.log"
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        with report.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n{text}\n")
    except OSError:
        sys.stderr.write(text)
    return report
