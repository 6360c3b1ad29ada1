"""`docs`: serving a run's dbt docs on this machine."""

from __future__ import annotations

import sys
from argparse import Namespace

from dbt_console import humanize
from dbt_console.commands import out
from dbt_console.config import Paths
from dbt_console.store import Store


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
