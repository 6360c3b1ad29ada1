"""A job as the texts of a form and back, for every field in jobfields.FIELDS.

Values are what the form's widgets hold: text for most, a bool for a bool field. Secrets
are shown masked and a mask left in place keeps the secret (jobfields.unmask). Opening a
job and saving it unchanged gives the job back exactly.
"""

from __future__ import annotations

from typing import Any

from dbt_console.jobfields import FIELDS, GROUP_DEFAULTS, Field, get, public_dict, put, unmask
from dbt_console.model import Job

DEFAULT_BOOLS = {"enabled": True, "warm": True}
NEW_JOB = {"schedule.timezone": "UTC", "git.branch": "main", "commands": "dbt build"}


def to_form(job: Job | None) -> dict[str, str | bool]:
    """The form's values for a job (secrets masked), or for a new one."""
    if job is None:
        return {f.path: NEW_JOB.get(f.path, DEFAULT_BOOLS.get(f.path, False)
                                    if f.kind == "bool" else "") for f in FIELDS}
    data = public_dict(job)
    return {f.path: _text(f, get(data, f.path)) for f in FIELDS}


def _text(f: Field, value: Any) -> str | bool:
    if f.kind == "bool":
        return DEFAULT_BOOLS.get(f.path, False) if value is None else bool(value)
    if value is None:
        return ""
    if f.kind == "lines":
        return "\n".join(value)
    if f.kind == "list":
        return value if isinstance(value, str) else ", ".join(value)
    if f.kind == "env":
        return "\n".join(f"{k}={v}" for k, v in value.items())
    if f.kind in ("yaml", "mapping"):
        import yaml

        return yaml.safe_dump(value, sort_keys=False, default_flow_style=False) if value else ""
    return str(value)


NUMBERS = {"int": (int, "a whole number"), "number": (float, "a number")}


def from_form(values: dict[str, str | bool], original: Job | None
              ) -> tuple[dict[str, Any], list[str]]:
    """The job's plain data from the form's values, and the problems of the text itself
    (what is wrong with the job is for jobrules to say)."""
    problems: list[str] = []
    data: dict[str, Any] = {}
    for f in FIELDS:
        raw = values.get(f.path, False if f.kind == "bool" else "")
        value = _parse(f, raw, problems)
        if value is not None:
            put(data, f.path, value)
    for group, defaults in GROUP_DEFAULTS.items():
        if group not in data:
            continue
        first = next(f.path.split(".", 1)[1] for f in FIELDS if f.path.startswith(group + "."))
        if first not in data[group]:
            del data[group]  # a group without its first field is not there (no git url)
        else:
            data[group] = {**defaults, **data[group]}
    if "sla" in data and not any(data["sla"].values()):
        del data["sla"]  # every alert left off: no sla at all
    return unmask(data, original), problems


def _parse(f: Field, raw: str | bool, problems: list[str]) -> Any:
    if f.kind == "bool":
        return bool(raw)
    text = str(raw)
    if f.kind in ("lines", "env", "yaml", "mapping"):
        if not text.strip():
            return [] if f.path == "commands" else None
    else:
        text = text.strip()
        if not text:
            return None
    if f.kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if f.kind == "list":
        items = [s.strip() for s in text.split(",") if s.strip()]
        return items[0] if f.path == "ci.branches" and len(items) == 1 else items
    if f.kind in NUMBERS:
        parse, words = NUMBERS[f.kind]
        try:
            return parse(text)
        except ValueError:
            problems.append(f"{f.path}: {text!r} is not {words}")
            return None
    if f.kind == "env":
        return _env(text, problems)
    if f.kind in ("yaml", "mapping"):
        return _yaml(f, text, problems)
    return text


def _env(text: str, problems: list[str]) -> dict[str, str] | None:
    env: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            problems.append(f"env line {n}: expected NAME=value, got {line.strip()!r}")
        else:
            env[key.strip()] = value
    return env or None


def _yaml(f: Field, text: str, problems: list[str]) -> list | dict | None:
    import yaml

    from dbt_console import plainyaml

    try:
        value = plainyaml.load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{f.path}: not valid YAML: {getattr(exc, 'problem', exc)}")
        return None
    if f.kind == "mapping" and not isinstance(value, dict):
        problems.append(f"{f.path}: a YAML mapping, e.g. {f.placeholder}")
        return None
    if f.kind == "yaml" and not isinstance(value, list):
        problems.append(f"{f.path}: a YAML list, e.g. - {{type: slack, url: ...}}")
        return None
    return value
