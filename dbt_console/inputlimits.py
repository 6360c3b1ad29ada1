"""What any input may hold and how much of it, before a rule reads it: sizes, valid text,
and how much of a bad input a message may show. Pure."""

from __future__ import annotations

from typing import Any

# Limits no real jobs file comes near; past them input is refused (exit 2), never stored:
# a 50 MB description once took 36 s and 216 MB to import, and 52 s to export.
MAX_FIELD_BYTES = 1 << 20   # any one text of a job
MAX_JOBS = 10_000           # jobs in a file, and in the store
MAX_FILE_BYTES = 16 << 20   # a jobs file
MAX_COMMANDS = 100          # a job's commands, and a run's steps_override
MAX_JSON_DEPTH = 32         # nesting of an API body or list parameter: dbt Cloud's need 4


def texts_of(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every text in a job's data, with its field's dotted path."""
    if isinstance(value, str):
        return [(path or "value", value)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in texts_of(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in texts_of(v, f"{path}[{i}]")]
    return []


def oversized(texts: list[tuple[str, str]]) -> list[str]:
    """The fields holding a text over MAX_FIELD_BYTES."""
    return [path for path, text in texts if len(text) > MAX_FIELD_BYTES // 4 and len(
        text.encode("utf-8", "surrogatepass")) > MAX_FIELD_BYTES]


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored, shown and handed to a process, or None. (A NUL ends
    a C string: an env value with one made the run die with 'embedded null byte'; a lone
    surrogate is no UTF-8: a job holding one broke every answer of the API that listed
    it.)"""
    if "\0" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid text (a lone surrogate {text[exc.start]!r} at {exc.start})"
    return None


# A message names what was wrong and where; it never echoes kilobytes of input back.
SHOWN_CHARS = 200


def shown(value: Any) -> str:
    """repr(value), cut to SHOWN_CHARS: a bad input as a message may quote it."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def one_line(text: str) -> bool:
    """No CR, LF or NUL: what a URL or an HTTP header must be (a CR/LF in one was saved,
    then failed every delivery attempt)."""
    return not any(c in text for c in "\r\n\0")


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects nest deeper than `limit` (walked without recursion)."""
    level = [value]
    for _ in range(limit + 1):
        level = [v for item in level if isinstance(item, (list, tuple, dict))
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True
