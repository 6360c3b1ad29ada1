"""DuckDB: a database file takes one writer at a time (a second process gets 'Could not
set lock on file'), so two runs writing one file never start together."""

from __future__ import annotations

import os

from dbt_console.engine.adapters.profile import Target


def exclusive_resource(target: Target) -> str | None:
    path = str(target.fields.get("path") or ":memory:")
    if path == ":memory:" or path.startswith(("md:", "motherduck:", "s3://")):
        return None  # nothing on this machine to share
    full = os.path.realpath(os.path.join(target.project_dir, os.path.expanduser(path)))
    return f"the DuckDB file {full}"
