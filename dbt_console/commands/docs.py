"""`docs`: serving a run's dbt docs on this machine."""

from __future__ import annotations

import sys
from argparse import Namespace

from dbt_console import actions, humanize
from dbt_console.actions import Context
from dbt_console.commands import out


def cmd_docs(args: Namespace, ctx: Context) -> int:
    from dbt_console.docs_site import docs_server, how_to_reach

    run, directory = actions.docs.find(ctx, args.job, args.run)
    server = docs_server(directory, args.port)
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
