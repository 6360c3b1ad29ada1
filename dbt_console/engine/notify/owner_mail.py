"""The delivery rows of model owners' digests (hooks/owners.py), queued with the run's
other deliveries: an email hook with `owners: true` mails each owner whose group had a
node fail or warn, from the manifest of the run's own last step."""

from __future__ import annotations

import json
import logging

from dbt_console import rundir
from dbt_console.hooks import owners
from dbt_console.model import Job, Run
from dbt_console.store import LogsStore, StepsStore
from dbt_console.store.repos import Repos

USES = (StepsStore, LogsStore)
EVENT = "owners"
ENDS = ("errored", "warned", "succeeded")

log = logging.getLogger(__name__)


def rows_for(store: Repos, job: Job, run: Run, event: str) -> list[tuple]:
    hooks = [(i, h) for i, h in enumerate(job.hooks)
             if h.type == "email" and h.options.get("owners")]
    if not hooks or event not in ENDS or not run.run_dir:
        return []
    results = [(r.unique_id, r.status, r.message) for r in store.node_results(run.id)]
    try:
        manifest = json.loads(rundir.manifest(run.run_dir).read_text())
    except (OSError, ValueError) as exc:  # the run ended before dbt parsed anything
        log.warning("run %s: no manifest to find model owners in: %s", run.id, exc)
        return []
    rows, found = [], owners.digests(manifest, results)
    for index, hook in hooks:
        domains = hook.options.get("owner_domains")
        for digest in found.values():
            if not owners.allowed(digest.email, domains):
                store.note(run.id, f"model owner {digest.email} (group "
                           f"{', '.join(sorted(digest.groups))}) not emailed: outside "
                           f"owner_domains ({', '.join(domains)})", "warn")
                continue
            rows.append((run.id, job.name, index, "email", f"mailto:{digest.email}", EVENT,
                         json.dumps(owners.body(run, digest))))
    return rows
