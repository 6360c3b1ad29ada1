"""`demo` and `jobs`: writing the demo, and jobs as code in and out."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

from dbt_console import humanize
from dbt_console.commands import out
from dbt_console.config import Paths
from dbt_console.errors import UserError
from dbt_console.model import redact
from dbt_console.store import Store


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
