"""Which dbt project and environment a job belongs to, as dbt Cloud's API groups jobs: a
project per distinct dbt project (a git URL and subdirectory, or a project_dir), an
environment per project and target. The store gives each an id once and keeps it."""

from __future__ import annotations

from pathlib import Path

from dbt_console.model import Job, redact

DEFAULT_ENVIRONMENT = "default"  # a job with no target: the profile's own default target


def source_of(job: Job) -> str:
    """What makes two jobs one project. Credentials in a URL do not."""
    if job.git is not None:
        return f"git:{redact(job.git.url)}#{job.git.subdirectory or ''}"
    return f"dir:{Path(job.project_dir or '').expanduser()}"


def name_for(job: Job) -> str:
    """A project's name when first seen: a local project's own name (dbt_project.yml),
    else the repository's (plus the subdirectory). Kept from then on, so a client that
    looks a project up by name finds it again."""
    if job.git is not None:
        repo = job.git.url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        repo = repo[:-4] if repo.endswith(".git") else repo
        return f"{repo}/{job.git.subdirectory}" if job.git.subdirectory else repo or "project"
    project = Path(job.project_dir or "").expanduser()
    return _dbt_project_name(project) or project.name or "project"


def _dbt_project_name(project: Path) -> str | None:
    import yaml

    try:
        data = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def environment_of(job: Job) -> str:
    """The environment's key within its project: the job's target ('' for the default)."""
    return job.target or ""


def environment_name(target: str) -> str:
    return target or DEFAULT_ENVIRONMENT
