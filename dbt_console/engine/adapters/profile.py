"""Which profile target a job's run will use, read the way dbt reads it (enough of it):
dbt_project.yml's profile, profiles.yml where dbt looks for it, the job's target, and
env_var() with the job's environment. Best effort: anything unreadable gives None, and
the run then starts as it always did."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_console.model import Job

ENV_VAR = re.compile(r"""\{\{\s*env_var\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)"""
                     r"""\s*\}\}""")


@dataclass(frozen=True)
class Target:
    type: str
    fields: dict[str, Any]
    project_dir: Path
    profile: str = ""
    name: str = ""
    profiles_yml: Path | None = None


def project_dir(job: Job, workspaces: Path) -> Path | None:
    if job.git is not None:  # its clone, once a first run has made it
        path = workspaces / job.name / (job.git.subdirectory or "")
    else:
        path = Path(job.project_dir or "")
    return path if (path / "dbt_project.yml").is_file() else None


def render(value: Any, env: dict[str, str]) -> Any:
    """env_var('NAME', 'default') as dbt renders it; other Jinja is left as written."""
    if not isinstance(value, str):
        return value
    return ENV_VAR.sub(lambda m: env.get(m[1], m[2] if m[2] is not None else ""), value)


def _yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def target_of(job: Job, workspaces: Path) -> Target | None:
    project = project_dir(job, workspaces)
    if project is None:
        return None
    return target_in(project, job, {**os.environ, **job.env})


def target_in(project: Path, job: Job, env: dict[str, str]) -> Target | None:
    """The target a run of `job` in `project` uses, with `env` as dbt will see it."""
    profile_name = render(_yaml(project / "dbt_project.yml").get("profile"), env)
    profiles_dir = (Path(job.profiles_dir).expanduser() if job.profiles_dir
                    else project if (project / "profiles.yml").is_file()
                    else Path(env.get("DBT_PROFILES_DIR", "~/.dbt")).expanduser())
    profile = _yaml(profiles_dir / "profiles.yml").get(profile_name)
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        return None
    name = job.target or env.get("DBT_TARGET") or render(profile.get("target"), env)
    output = profile["outputs"].get(name)
    if not isinstance(output, dict) or not isinstance(output.get("type"), str):
        return None
    return Target(output["type"], {k: render(v, env) for k, v in output.items()}, project,
                  str(profile_name), str(name), profiles_dir / "profiles.yml")
