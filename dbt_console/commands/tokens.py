"""`tokens`: the HTTP API's tokens, shown once and kept as hashes."""

from __future__ import annotations

import sys
from argparse import Namespace

from dbt_console import humanize
from dbt_console.commands import out
from dbt_console.config import Paths, current_user
from dbt_console.errors import UserError
from dbt_console.store import Store


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
