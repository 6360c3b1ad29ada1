"""What each CLI command does. The TUI calls the same store and engine functions."""

from __future__ import annotations

import getpass
import json
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

from dbt_console import humanize
from dbt_console.config import Paths, resolve_paths
from dbt_console.errors import UserError
from dbt_console.model import Run, RunStatus, Trigger
from dbt_console.store import Store
from dbt_console.store.tail import RunTail

# A poll that finds nothing new is one PRAGMA: cheap enough to do 50 times a second.
FOLLOW_POLL_SECONDS = 0.02


def dispatch(args: Namespace) -> int:
    paths = resolve_paths()
    handler = {
        "demo": cmd_demo, "jobs": cmd_jobs, "run": cmd_run, "runs": cmd_runs, "logs": cmd_logs,
    }[args.command]
    return handler(args, paths)


def actor() -> str:
    """Who asked: the unix user, as a production audit trail wants it."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"


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
    out("next:  dbt-console run nightly --wait     # a run that succeeds")
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
        project = (f"{job.git.url}#{job.git.branch}" if job.git else job.project_dir) or ""
        rows.append([job.name, "yes" if job.enabled else "paused", schedule,
                     f"#{last.id} {last.status.value}" if last else "-", project])
    out(humanize.table(["NAME", "ENABLED", "SCHEDULE", "LAST RUN", "PROJECT"], rows))
    return 0


# --- run, runs, logs ------------------------------------------------------------------

def cmd_run(args: Namespace, paths: Paths) -> int:
    with Store(paths.store) as store:
        job = store.get_job(args.job)
        run = store.enqueue_run(job, Trigger.MANUAL, actor())
        out(str(run.id))
        sys.stdout.flush()
        if not args.wait:
            sys.stderr.write(
                f"dbt-console: run {run.id} of {job.name} is queued; no engine is running to "
                "start it (use --wait to run it here now)\n")
            return 0
        return _run_here(paths, store, run)


def _run_here(paths: Paths, store: Store, run: Run) -> int:
    from dbt_console.engine.executor import Executor
    from dbt_console.engine.launcher import restore_default_sigint

    restore_default_sigint()
    executor = Executor(paths)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            executor.execute(run.id)
        except BaseException as exc:  # re-raised on the main thread below
            failure.append(exc)

    thread = threading.Thread(target=work, name=f"run-{run.id}", daemon=True)
    thread.start()
    while True:
        try:
            _follow(store, run.id)
            break
        except KeyboardInterrupt:
            # Ctrl-C cancels the run cleanly (dbt gets SIGINT) and keeps streaming its end.
            sys.stderr.write(f"\ndbt-console: cancelling run {run.id}...\n")
            executor.cancel(run.id)
    thread.join()
    if failure:
        raise failure[0]
    return _summary(store, store.get_run(run.id))


def _follow(store: Store, run_id: int) -> Run:
    tail = RunTail(store, run_id)
    while True:
        lines = tail.poll()
        if lines:
            sys.stdout.write("".join(humanize.log_line(ln) + "\n" for ln in lines))
            sys.stdout.flush()
        if tail.finished:
            return tail.run
        time.sleep(FOLLOW_POLL_SECONDS)


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
        runs = store.list_runs(args.job, limit=args.limit)
        counts = store.node_counts([r.id for r in runs])
    if args.json:
        out(json.dumps([run_json(r, counts[r.id]) for r in runs], indent=2))
        return 0
    rows = [[str(r.id), r.job_name, r.status.value, r.trigger,
             humanize.local_time(r.started_at or r.queued_at),
             humanize.duration(r.duration), (r.git_sha or "")[:12]] for r in runs]
    out(humanize.table(["ID", "JOB", "STATUS", "TRIGGER", "STARTED", "DURATION", "GIT SHA"],
                       rows))
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
        store.get_run(args.run_id)
        if args.follow:
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
