"""What a run's steps run with: which dbt, the environment dbt-console sets (dbt
Cloud's variables among them), and whether `dbt deps` is due."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

from dbt_console import rundir
from dbt_console.model import ENV_REF_RE, Job, Run

DEPS_MARKER = ".dbt-console-deps"

# What dbt and its adapters need of the engine's environment to start, read and write
# text, find certificates and reach the network. Nothing else passes: a job's SQL can read
# its own process's environment (DuckDB's read_text('/proc/self/environ')), so the
# engine's tokens and passwords, and other jobs' secrets, must never be in it. A job takes
# more by name (`env: {X: ${X}}`); an admin passes more to every job with pass_env.
PASSED = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP",
    "TMP", "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy",
    "https_proxy", "no_proxy", "all_proxy",
})
PASSED_PREFIXES = ("LC_",)


def base_env(pass_env: Iterable[str] = (),
             environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The part of the engine's environment every step starts from: PASSED, and the
    names settings.toml's pass_env matches (shell patterns such as SNOWFLAKE_*)."""
    patterns = tuple(pass_env)
    return {k: v for k, v in environ.items()
            if k in PASSED or k.startswith(PASSED_PREFIXES)
            or any(fnmatchcase(k, p) for p in patterns)}


class SetupError(Exception):
    """A step could not be started; the message is the run's failure reason."""


def find_dbt(job: Job) -> str:
    """The dbt executable for a job: its dbt_path, else the dbt installed beside this
    Python (the [duckdb] extra puts it there), else the first dbt on PATH."""
    if job.dbt_path:
        path = Path(job.dbt_path).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SetupError(f"dbt not found at {path} (the job's dbt_path)")
        return str(path)
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise SetupError("dbt not found: not installed beside this Python nor on PATH; "
                         "install dbt-core and an adapter, or set the job's dbt_path")
    return found


def step_env(job: Job, run_id: int, run_dir: Path, project_dir: Path,
             pass_env: Iterable[str] = ()) -> dict[str, str]:
    env = base_env(pass_env)
    for key, value in job.env.items():
        ref = ENV_REF_RE.match(value)
        if ref:
            if ref[1] not in os.environ:
                raise SetupError(f"env.{key}: ${{{ref[1]}}} is not set in the environment "
                                 "of the process running the job")
            value = os.environ[ref[1]]
        env[key] = value
    env.update({
        "DBT_TARGET_PATH": str(rundir.target(run_dir)),
        "DBT_LOG_PATH": str(rundir.logs(run_dir)),
        "DBT_LOG_FORMAT": "json",
        # With JSON on stdout dbt writes its debug file log as JSON too, which costs ~0.1 s
        # per start; the text format is what people read in logs/dbt.log anyway.
        "DBT_LOG_FORMAT_FILE": "debug",
        "DBT_USE_COLORS": "false",
        # Python block-buffers a pipe; unbuffered, each log line arrives as dbt writes it.
        "PYTHONUNBUFFERED": "1",
        "DBT_CONSOLE_RUN_ID": str(run_id),
        "DBT_CONSOLE_JOB": job.name,
    })
    if job.profiles_dir:
        env["DBT_PROFILES_DIR"] = str(Path(job.profiles_dir).expanduser())
    elif (project_dir / "profiles.yml").is_file():
        env["DBT_PROFILES_DIR"] = str(project_dir)
    if job.target:
        env["DBT_TARGET"] = job.target
    return env


def cloud_env(job: Job, run: Run, sha: str | None, cause: str | None) -> dict[str, str]:
    """The variables dbt Cloud sets for every run, so macros written for it keep working.
    Their DBT_ENV_CUSTOM_ENV_ twins put them in every artifact's metadata.env, where
    clients look for the run id (Dagster reads run_results.json's)."""
    env = {
        "DBT_CLOUD_JOB_ID": str(job.id or ""),
        "DBT_CLOUD_RUN_ID": str(run.id),
        "DBT_CLOUD_RUN_REASON_CATEGORY": run.trigger.reason_category,
        "DBT_CLOUD_GIT_SHA": sha or "",
    }
    env.update({f"DBT_ENV_CUSTOM_ENV_{k}": v for k, v in env.items()})
    # The cause is free text from whoever asked: it stays out of the artifacts.
    env["DBT_CLOUD_RUN_REASON"] = cause or run.trigger.words(run.actor)
    return env


PACKAGE_FILES = ("packages.yml", "dependencies.yml", "package-lock.yml")


def deps_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        path = project_dir / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def deps_needed(project_dir: Path) -> Path | None:
    """The marker file to write after `dbt deps` when the project declares packages that
    are not installed as declared; None when deps can be skipped. Skipping saves a dbt
    start per run and lets a server with no network run a project whose packages are in."""
    package_files = [project_dir / n for n in ("packages.yml", "dependencies.yml")]
    if not any(p.is_file() for p in package_files):
        return None
    import yaml

    declared = False
    for name in ("packages.yml", "dependencies.yml"):
        try:
            data = yaml.safe_load((project_dir / name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        declared = declared or bool(isinstance(data, dict) and data.get("packages"))
    if not declared:
        return None
    install_dir = "dbt_packages"
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
        install_dir = project.get("packages-install-path") or install_dir
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    marker = project_dir / install_dir / DEPS_MARKER
    if marker.is_file() and marker.read_text() == deps_fingerprint(project_dir):
        return None
    marker.parent.mkdir(parents=True, exist_ok=True)
    return marker
