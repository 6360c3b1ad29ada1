"""Jobs as code: a YAML file of jobs, read and written losslessly.

A file is all or nothing: when any job in it is invalid, the problems of every job are
reported together and none is saved.
"""

from __future__ import annotations

import stat
from pathlib import Path

import yaml

from dbt_console import plainyaml
from dbt_console.errors import UserError, ValidationError
from dbt_console.inputlimits import MAX_FILE_BYTES, MAX_JOBS
from dbt_console.jobfields import job_to_dict, public_dict
from dbt_console.jobrules import job_from_dict
from dbt_console.model import Job

TOP_LEVEL = {"jobs"}


def parse_jobs(text: str, source: str, base_dir: Path) -> list[Job]:
    """Jobs from YAML text. Relative project_dir paths are relative to base_dir (the
    file's directory), so a jobs file can live in the repository it describes."""
    if len(text) > MAX_FILE_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > (
            MAX_FILE_BYTES):
        raise UserError(f"{source}: over {MAX_FILE_BYTES >> 20} MiB, more than a jobs file "
                        "may hold")
    try:
        data = plainyaml.load(text)
    except RecursionError:
        raise UserError(f"{source}: nested too deeply to be a jobs file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise UserError(f"{source}: expected a mapping with a 'jobs:' list at the top")
    if len(data["jobs"]) > MAX_JOBS:
        raise UserError(f"{source}: {len(data['jobs'])} jobs, more than the {MAX_JOBS} a "
                        "store may hold")
    unknown = sorted(set(map(str, data)) - TOP_LEVEL)
    if unknown:
        raise UserError(f"{source}: unknown top-level key(s): {', '.join(unknown)} "
                        "(a jobs file holds 'jobs:' only)")
    jobs: list[Job] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["jobs"]):
        if isinstance(raw, dict) and True in raw:
            # YAML 1.1 (PyYAML) reads a bare `on:` key as the boolean true.
            raw = {("on" if k is True else k): v for k, v in raw.items()}
        if isinstance(raw, dict) and isinstance(raw.get("project_dir"), str):
            raw = {**raw, "project_dir": _resolve(raw["project_dir"], base_dir)}
        try:
            job = job_from_dict(raw, where=f"jobs[{i}]")
        except ValidationError as exc:
            problems.extend(f"{source}: {p}" for p in exc.problems)
            continue
        if job.name in seen:
            problems.append(f"{source}: job {job.name!r}: name: used twice in this file "
                            f"(jobs[{seen[job.name]}] and jobs[{i}])")
        seen[job.name] = i
        jobs.append(job)
    if problems:
        raise ValidationError(problems)
    return jobs


def read_jobs_file(path: Path) -> str:
    """A jobs file's text. Only a regular file, and at most the limit read: `/dev/zero`
    grew to gigabytes and a FIFO blocked forever when the size was checked after."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UserError(f"{path}: not a regular file (a jobs file is a YAML file)")
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise UserError(f"{path}: over {MAX_FILE_BYTES >> 20} MiB, more than a jobs "
                            "file may hold")
        return data.decode("utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None


def load_jobs_file(path: Path) -> list[Job]:
    return parse_jobs(read_jobs_file(path), str(path), path.resolve().parent)


def dump_jobs(jobs: list[Job], include_secrets: bool = False) -> str:
    """YAML for these jobs. Secret values are masked unless include_secrets."""
    docs = [job_to_dict(j) if include_secrets else public_dict(j) for j in jobs]
    return yaml.safe_dump({"jobs": docs}, sort_keys=False, allow_unicode=True, width=100)


def _resolve(project_dir: str, base_dir: Path) -> str:
    path = Path(project_dir).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())
