"""`ci cleanup`: a run per deleted CI branch that drops its schema."""

from __future__ import annotations

from argparse import Namespace

from dbt_console.commands import out
from dbt_console.commands.running import start
from dbt_console.config import Paths, current_user
from dbt_console.errors import UserError
from dbt_console.store import Store


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
                worst = max(worst, start(paths, store, run, wait=True))
        return worst
