"""Plain data over a wire: the actions' arguments and answers as JSON and back, for the
engine's Unix socket. Only the types listed in TYPES are ever built from what a peer
sends (never pickle: a teammate's bytes must not choose what code runs)."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

TYPES: dict[str, type] = {}
_SEQUENCES = (("~l", list), ("~t", tuple), ("~s", set), ("~f", frozenset))


def allow(*types: type) -> None:
    for t in types:
        TYPES[t.__name__] = t


_PRIMITIVE = {str, int, float, bool}
_FIELDS: dict[type, tuple[tuple[str, Any], ...] | None] = {}
_NO_DEFAULT = object()


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _NO_DEFAULT


def _fields(cls: type) -> tuple[tuple[str, Any], ...] | None:
    """A dataclass's fields and their defaults (None: not a dataclass), once per class.
    A field at its default is not sent: the other end's constructor puts it back."""
    if cls not in _FIELDS:
        _FIELDS[cls] = (tuple((f.name, _default(f)) for f in dataclasses.fields(cls))
                        if dataclasses.is_dataclass(cls) else None)
    return _FIELDS[cls]


def encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # first: a str enum is a str too
        return {"~e": type(value).__name__, "v": value.value}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return {"~p": str(value)}
    fields = _fields(type(value))
    if fields is not None:
        out = {"~d": type(value).__name__}
        for name, default in fields:
            item = getattr(value, name)
            if item is default or (type(item) is type(default) and item == default):
                continue
            out[name] = item if item is None or type(item) in _PRIMITIVE else encode(item)
        return out
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        return {"~n": type(value).__name__, "v": [encode(v) for v in value]}
    if isinstance(value, (tuple, list, set, frozenset)):
        tag = {tuple: "~t", list: "~l", set: "~s", frozenset: "~f"}[type(value)]
        return {tag: [v if v is None or type(v) in _PRIMITIVE else encode(v) for v in value]}
    if isinstance(value, dict):
        return {"~m": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__}")


def decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "~m" in value:
        return {decode(k): decode(v) for k, v in value["~m"]}
    for tag, kind in _SEQUENCES:
        if tag in value:
            return kind([v if not isinstance(v, dict) else decode(v) for v in value[tag]])
    if "~p" in value:
        return Path(value["~p"])
    name = value.get("~e") or value.get("~d") or value.get("~n")
    cls = TYPES.get(name)
    if cls is None:
        raise ValueError(f"not a type that may be sent: {name!r}")
    if "~e" in value:
        return cls(value["v"])
    if "~n" in value:
        return cls(*(decode(v) for v in value["v"]))
    return cls(**{k: v if not isinstance(v, dict) else decode(v)
                  for k, v in value.items() if k != "~d"})
