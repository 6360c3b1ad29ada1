"""`dbt-console` on the command line: parse the arguments, call a command, map the outcome
to an exit code. 0 success, 1 the run errored or was cancelled, 2 bad input, 3 not
allowed (your role does not let you)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback

from dbt_console import __version__
from dbt_console.access import Forbidden
from dbt_console.errors import UserError, no_space, no_space_words
from dbt_console.model import RunStatus

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_NOT_ALLOWED = 0, 1, 2, 3
MAX_ID = (1 << 63) - 1  # SQLite's largest integer
MAX_LIMIT = 100_000


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like every bad input
        sys.stderr.write(f"dbt-console: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _whole(what: str, high: int):
    """An argparse type: a whole number from 1 to high, named `what` in its message."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} is a number, got {text!r}") from None
        if not 1 <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} is a number from 1 to {high}, "
                                             f"got {value}")
        return value
    return parse


_run_id = _whole("a run id", MAX_ID)
_limit = _whole("a limit", MAX_LIMIT)


def _sha(text: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{7,40}", text):
        raise argparse.ArgumentTypeError(f"a git sha is 7 to 40 hex digits, got {text!r}")
    return text.lower()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dbt-console",
                     description="Run dbt Core jobs in production: schedules, logs, history.")
    parser.add_argument("--version", action="version", version=f"dbt-console {__version__}")
    parser.add_argument("--no-mouse", action="store_true",
                        help="the dashboard leaves the mouse to the terminal (its own select "
                             "and paste); also mouse = false in dashboard.toml")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _jobs_commands(sub)
    _engine_commands(sub)
    _run_commands(sub)
    _history_commands(sub)
    _access_commands(sub)
    _store_commands(sub)
    return parser


def _store_commands(sub) -> None:
    store = sub.add_parser("store", help="the store's schema; migrating an older store")
    store_sub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True,
                                     parser_class=_Parser)
    store_sub.add_parser("schema", help="print the schema this dbt-console makes (SQL)")
    store_sub.add_parser("migrate", help="bring an older store up to this dbt-console's "
                                         "schema (no engine may be running)")


def _jobs_commands(sub) -> None:
    """demo and jobs"""
    demo = sub.add_parser("demo", help="write the demo dbt project and its jobs")
    demo.add_argument("--no-tui", action="store_true", help="only write, do not open the dashboard")

    jobs = sub.add_parser("jobs", help="list, show, import, export, delete jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True,
                                   parser_class=_Parser)
    ls = jobs_sub.add_parser("list", help="all jobs")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    show = jobs_sub.add_parser("show", help="one job as YAML")
    show.add_argument("name")
    imp = jobs_sub.add_parser("import", help="create or update the jobs of a YAML file")
    imp.add_argument("file")
    exp = jobs_sub.add_parser("export", help="all jobs as YAML, to FILE or stdout")
    exp.add_argument("file", nargs="?", default="-")
    exp.add_argument("--include-secrets", action="store_true",
                     help="write secret values in clear (they are masked otherwise)")
    delete = jobs_sub.add_parser("delete", help="delete a job (its past runs stay)")
    delete.add_argument("name")
    pause = jobs_sub.add_parser("pause", help="stop a job's schedule (runs asked for still run)")
    pause.add_argument("name")
    resume = jobs_sub.add_parser("resume", help="start a paused job's schedule again")
    resume.add_argument("name")


def _engine_commands(sub) -> None:
    """serve, engine, tokens, hooks, deliveries, status"""
    serve = sub.add_parser("serve", help="run the engine in the foreground: schedules, queue, "
                                         "runs (and the HTTP API with --api)")
    serve.add_argument("--api", metavar="HOST:PORT",
                       help="also serve dbt Cloud's Admin API v2 (a port alone: 127.0.0.1)")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve the API over HTTPS")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    serve.add_argument("--metrics", metavar="HOST:PORT",
                       help="serve /metrics (Prometheus) and /healthz there (a port alone: "
                            "127.0.0.1); with --api they are on the API's address too")
    # What `engine start` and the dashboard start: the engine, going away once idle.
    serve.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    engine = sub.add_parser("engine", help="start a background engine, or stop the engine")
    engine_sub = engine.add_subparsers(dest="engine_command", metavar="ACTION", required=True,
                                       parser_class=_Parser)
    engine_sub.add_parser("start", help="start an engine in the background (what the "
                                        "dashboard does when none runs); it stops when idle")
    stop = engine_sub.add_parser("stop", help="stop the engine holding the store; runs in "
                                              "flight get its stop grace")
    stop.add_argument("--no-wait", action="store_true", help="ask, and do not wait")
    tokens = sub.add_parser("tokens", help="API tokens: create (shown once), list, revoke")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", metavar="COMMAND",
                                       parser_class=_Parser)
    tokens_sub.required = True
    create = tokens_sub.add_parser("create", help="a new token, printed once")
    create.add_argument("name", help="who uses it: recorded as who asked, on its runs")
    create.add_argument("--role", default="runner", metavar="ROLE",
                        help="viewer, runner (the default) or editor")
    tokens_sub.add_parser("list", help="tokens by name (never the tokens themselves)")
    revoke = tokens_sub.add_parser("revoke", help="a revoked token is refused at once")
    revoke.add_argument("name")
    hooks = sub.add_parser("hooks", help="notification hooks")
    hooks_sub = hooks.add_subparsers(dest="hooks_command", metavar="ACTION", required=True,
                                     parser_class=_Parser)
    hooks_test = hooks_sub.add_parser("test", help="send a test event to every hook of a job")
    hooks_test.add_argument("job")
    deliveries = sub.add_parser("deliveries", help="notification deliveries, newest first")
    deliveries.add_argument("--failed", action="store_true", help="only those given up on")
    deliveries.add_argument("--run", type=_run_id, help="only this run's")
    deliveries.add_argument("--json", action="store_true", help="machine-readable output")
    status = sub.add_parser("status", help="the engine, the queue, runs in flight, next fires")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    prune = sub.add_parser("prune", help="remove finished runs past retention (settings "
                                         "keep_runs_days, keep_runs_per_job) now")
    prune.add_argument("--dry-run", action="store_true",
                       help="only say which runs would go and the space they take")


def _run_commands(sub) -> None:
    """run, cancel, docs, retry, rerun"""
    run = sub.add_parser("run", help="queue a run of a job now and print its id")
    run.add_argument("job")
    run.add_argument("--wait", action="store_true",
                     help="stream its log until it ends; exit 0 on success, 1 on failure "
                          "(runs it here when no engine is alive)")
    run.add_argument("--branch", help="git jobs: run this branch instead of the job's "
                                      "(a CI job needs one)")
    run.add_argument("--sha", type=_sha, help="git jobs: run this commit of the branch")
    cancel = sub.add_parser("cancel", help="cancel a queued or running run")
    cancel.add_argument("run_id", type=_run_id, metavar="RUN")
    docs = sub.add_parser("docs", help="serve a job's dbt docs from its latest run with docs")
    docs.add_argument("job")
    docs.add_argument("--run", type=_run_id, metavar="N", help="this run's docs instead")
    docs.add_argument("--port", type=int, default=8080, help="default 8080; 0: any free port")
    retry = sub.add_parser("retry", help="a new run that re-runs only what failed in RUN")
    retry.add_argument("run_id", type=_run_id, metavar="RUN")
    retry.add_argument("--wait", action="store_true", help="as for run")
    rerun = sub.add_parser("rerun", help="dbt Cloud's rerun: retry the job's latest run if it "
                                         "failed, else run the job")
    rerun.add_argument("job")
    rerun.add_argument("--wait", action="store_true", help="as for run")


def _access_commands(sub) -> None:
    """access, audit"""
    access = sub.add_parser("access", help="team access: grant roles to unix users and "
                                           "groups, revoke them, list them")
    access_sub = access.add_subparsers(dest="access_command", metavar="ACTION",
                                       required=True, parser_class=_Parser)
    grant = access_sub.add_parser("grant", help="give a user (or @group) a role")
    grant.add_argument("principal", metavar="USER|@GROUP")
    grant.add_argument("role", help="viewer, runner, editor or admin")
    grant.add_argument("--jobs", default="*", metavar="PATTERN",
                       help="only on jobs whose name matches, e.g. 'marts_*'")
    revoke = access_sub.add_parser("revoke", help="take a user's (or @group's) grants away")
    revoke.add_argument("principal", metavar="USER|@GROUP")
    revoke.add_argument("--jobs", metavar="PATTERN", help="only the grant for these jobs")
    listing = access_sub.add_parser("list", help="the owner and every grant")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    access_sub.add_parser("whoami", help="who you are here, and your role")

    audit = sub.add_parser("audit", help="the audit log: every change, who, from where, "
                                         "done or refused")
    audit.add_argument("--user", help="only this user's or token's")
    audit.add_argument("--job", help="only this job's")
    audit.add_argument("--since", metavar="TIME", help="only since, e.g. 2026-12-01")
    audit.add_argument("--limit", type=_limit, default=200, help="how many (default 200)")
    audit.add_argument("--json", action="store_true", help="machine-readable output")


def _history_commands(sub) -> None:
    """runs, ci, compare, review, logs"""
    runs = sub.add_parser("runs", help="past and current runs, newest first")
    runs.add_argument("--job", help="only this job's runs")
    runs.add_argument("--status", choices=[s.value for s in RunStatus],
                      help="only runs with this status")
    runs.add_argument("--trigger", help="only runs whose trigger starts with this "
                                        "(manual, schedule, catch-up, retry:, job:...)")
    runs.add_argument("--branch", help="only runs of this git branch (CI runs of a branch)")
    runs.add_argument("--search", help="text in job, trigger, who asked, branch, sha or error")
    runs.add_argument("--limit", type=_limit, default=20, help="how many (default 20)")
    runs.add_argument("--json", action="store_true", help="machine-readable output")

    ci = sub.add_parser("ci", help="continuous integration: CI jobs' branch schemas")
    ci_sub = ci.add_subparsers(dest="ci_command", metavar="COMMAND", parser_class=_Parser)
    ci_sub.required = True
    cleanup = ci_sub.add_parser(
        "cleanup", help="drop the schemas of CI branches deleted from the remote")
    cleanup.add_argument("job", nargs="?", help="only this CI job's branches")
    cleanup.add_argument("--branch", help="only this (deleted) branch")

    compare = sub.add_parser("compare", help="a CI run's compare changes: each model the "
                                             "branch modified against production's")
    compare.add_argument("run_id", type=_run_id, metavar="RUN")
    compare.add_argument("--json", action="store_true", help="machine-readable output")

    review = sub.add_parser("review", help="failure review of a run: what failed, its message "
                                           "and SQL, the commits since the last green run")
    review.add_argument("run_id", type=_run_id, metavar="RUN")
    review.add_argument("--json", action="store_true", help="machine-readable output")

    logs = sub.add_parser("logs", help="the log of a run")
    logs.add_argument("run_id", type=_run_id, metavar="RUN")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing lines until the run ends")


def _data_dir() -> str:
    try:
        from dbt_console.config import resolve_paths

        return str(resolve_paths().data_dir)
    except Exception:  # the message must not fail on a home it cannot resolve
        return "dbt-console's data directory"


def main(argv: list[str] | None = None) -> int:
    # What dbt-console and its dbt children write (run directories, logs, clones) is for
    # the owner and their group (teammates), never everyone, whatever the umask.
    os.umask(0o007)
    args = build_parser().parse_args(argv)
    from dbt_console import commands

    try:
        if args.command is None:
            from dbt_console.config import resolve_paths
            from dbt_console.tui.app import run_app

            return run_app(resolve_paths(), mouse=not args.no_mouse)
        return commands.dispatch(args)
    except Forbidden as exc:
        sys.stderr.write(f"dbt-console: not allowed: {exc}\n")
        return EXIT_NOT_ALLOWED
    except UserError as exc:
        sys.stderr.write(f"dbt-console: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `dbt-console logs 3 | head`
        sys.stderr.close()
        return EXIT_OK
    except PermissionError as exc:  # a store shared with a group this user is not in
        sys.stderr.write(f"dbt-console: {exc.filename or 'the data directory'}: permission "
                         "denied: the store is shared with its owner's group, which you are "
                         "not in (ask its owner: README, 'A shared server, step by step')\n")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if no_space(exc):  # where a crash report could not be written either
            sys.stderr.write(f"dbt-console: {no_space_words(_data_dir())}\n")
            return EXIT_BAD_INPUT
        report = commands.write_crash_report(traceback.format_exc())
        sys.stderr.write("dbt-console: unexpected error; the details are "
                         + (f"in {report}\n" if report else "above\n"))
        return EXIT_RUN_FAILED
