"""The demo: a small dbt project on DuckDB (a bike-share network) and three jobs.

Written fresh each time, so it is idempotent: project files and seeds are overwritten,
dbt's own state (target/, the DuckDB file) is left where it is.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from dbt_console.demo.seeds import seed_files

PROJECT_NAME = "pedalshare"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def missing() -> str | None:
    """What this install lacks to run the demo (dbt-core and dbt-duckdb beside it)."""
    from importlib.util import find_spec

    for module, package in (("dbt.cli", "dbt-core"), ("dbt.adapters.duckdb", "dbt-duckdb")):
        try:
            found = find_spec(module) is not None
        except ModuleNotFoundError:  # its parent package is missing
            found = False
        if not found:
            return (f"the demo runs dbt on DuckDB, and {package} is not installed beside "
                    "dbt-console: pip install 'dbt-console[duckdb]' (or '.[duckdb]' in a "
                    "checkout)")
    return None


def write_demo(dest: Path) -> Path:
    """Write the demo project under dest and return the path of its jobs file. A demo
    project already there is left as it is: it may hold the user's own edits."""
    package = resources.files(__package__)
    project = dest / PROJECT_NAME
    jobs_file = dest / "jobs.yml"
    jobs_file.parent.mkdir(parents=True, exist_ok=True)
    jobs_file.write_text((package / "jobs.yml").read_text(encoding="utf-8"), encoding="utf-8")
    if project.exists():
        return jobs_file
    with resources.as_file(package / "project") as source:
        # Files made new, not copied with their modes: the installed package's 0644 would
        # make the project readable by everyone (the umask decides, as for all we write).
        shutil.copytree(source, project, dirs_exist_ok=True, copy_function=shutil.copyfile)
    for path in [project, *project.rglob("*")]:
        if path.is_dir():
            path.chmod(0o777 & ~_umask())
    for name, text in seed_files().items():
        (project / "seeds" / name).write_text(text, encoding="utf-8")
    return jobs_file
