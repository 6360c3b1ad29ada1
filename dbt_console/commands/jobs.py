"""`demo` and `jobs`: writing the demo, and jobs as code in and out."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out
from dbt_console.errors import UserError
from dbt_console.jobfields import public_dict
from dbt_console.model import redact


def cmd_demo(args: Namespace, ctx: Context) -> int:
    from dbt_console.demo import missing, write_demo

    lacking = missing()
    if lacking:  # before writing anything: its runs could only fail
        raise UserError(lacking)
    jobs_file = write_demo(ctx.paths.demo)
    created, kept = _demo_jobs(ctx, jobs_file)
    out(f"demo dbt project: {jobs_file.parent / 'pedalshare'}")
    if created:
        out(f"demo jobs ({', '.join(created)}) imported from {jobs_file}")
    if kept:  # run again: what the user changed (edits, a pause) stays as they left it
        out(f"demo jobs already here, left as they are: {', '.join(kept)} (to reset them: "
            f"dbt-console jobs import {jobs_file})")
    out(f"store: {ctx.paths.store}")
    out()
    if not args.no_tui and sys.stdin.isatty() and sys.stdout.isatty():
        from dbt_console.tui.app import run_app

        ctx.close()
        return run_app(ctx.paths)
    out("next:  dbt-console                        # the dashboard")
    out("       dbt-console run nightly --wait     # a run that succeeds")
    out("       dbt-console run ride_audit --wait  # a run that fails on purpose")
    out("       dbt-console runs")
    return 0


def _demo_jobs(ctx: Context, jobs_file: Path) -> tuple[list[str], list[str]]:
    """Import the demo's jobs that are not in the store yet; (created, left alone)."""
    import yaml

    data = yaml.safe_load(jobs_file.read_text(encoding="utf-8"))
    here = {j.name for j in actions.jobs.list_all(ctx)}
    kept = [j["name"] for j in data["jobs"] if j["name"] in here]
    data["jobs"] = [j for j in data["jobs"] if j["name"] not in here]
    if not data["jobs"]:
        return [], kept
    done = actions.jobs.import_text(ctx, yaml.safe_dump(data, sort_keys=False),
                                    str(jobs_file), str(jobs_file.parent))
    return done.created, kept


def cmd_jobs(args: Namespace, ctx: Context) -> int:
    action = args.jobs_command
    if action == "list":
        return _jobs_list(ctx, args.json)
    if action == "show":
        sys.stdout.write(actions.jobs.export(ctx, names=[args.name]))
    elif action == "import":
        done = actions.jobs.import_file(ctx, Path(args.file))
        total = len(done.created) + len(done.updated) + len(done.unchanged)
        out(f"imported {total} job(s) from {args.file}"
            + (f"; created: {', '.join(done.created)}" if done.created else "")
            + (f"; updated: {', '.join(done.updated)}" if done.updated else "")
            + (f"; unchanged: {', '.join(done.unchanged)}" if done.unchanged else ""))
    elif action == "export":
        _export(ctx, args.file, args.include_secrets)
    elif action == "delete":
        actions.jobs.delete(ctx, args.name)
        out(f"deleted job {args.name!r}; its past runs are kept")
    elif action in ("pause", "resume"):
        job = actions.jobs.set_enabled(ctx, args.name, action == "resume")
        out(f"job {job.name!r} {'resumed' if job.enabled else 'paused'}")
    return 0


def _export(ctx: Context, file: str, include_secrets: bool) -> None:
    text = actions.jobs.export(ctx, include_secrets=include_secrets)
    if file == "-":
        sys.stdout.write(text)
        return
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{file}: cannot write: {exc.strerror}") from None
    out(f"exported {len(actions.jobs.list_all(ctx))} job(s) to {file}")


def _jobs_list(ctx: Context, as_json: bool) -> int:
    rows = actions.jobs.overview(ctx)
    if as_json:
        docs = []
        for row in rows:
            last = row.last
            docs.append({"id": row.job.id, **public_dict(row.job),
                         "next_fire": humanize.iso_utc(actions.jobs.next_fire(row.job)),
                         "last_run": None if last is None else {
                             "id": last.id, "status": last.status.value,
                             "finished_at": humanize.iso_utc(last.finished_at)}})
        out(json.dumps(docs, indent=2))
        return 0
    table = []
    for row in rows:
        job, last = row.job, row.last
        schedule = f"{job.schedule.cron} ({job.schedule.timezone})" if job.schedule else "-"
        nxt = actions.jobs.next_fire(job)
        project = (f"{redact(job.git.url)}#{job.git.branch}" if job.git else job.project_dir) \
            or ""
        table.append([str(job.id), job.name, "yes" if job.enabled else "paused", schedule,
                      humanize.fire_time(nxt, job.schedule),
                      f"#{last.id} {last.status.value}" if last else "-", project])
    # The id is what the API's paths and orchestrators' dbt Cloud operators call the job.
    out(humanize.table(["ID", "NAME", "ENABLED", "SCHEDULE", "NEXT FIRE", "LAST RUN",
                        "PROJECT"], table))
    return 0
