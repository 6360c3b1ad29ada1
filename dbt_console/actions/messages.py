"""The engine socket's messages, one JSON object a line, typed for both ends: a teammate's
process sends Hello once and then Calls; the engine answers each with Done or Failed. A
line that is none of these is refused whole.

What a Call's arguments and a Done's value may hold is read from the actions' own type
hints (wire_types): only those types are ever built from what a peer sends (plain.py).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from dataclasses import dataclass
from typing import Any

import orjson

from dbt_console import plain


class BadMessage(ValueError):
    """A line that is no message of this protocol."""


@dataclass(frozen=True)
class Hello:
    via: str  # where the caller is: cli or dashboard


@dataclass(frozen=True)
class Call:
    name: str  # "jobs.update"
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class Done:
    value: Any


@dataclass(frozen=True)
class Failed:
    kind: str  # the error's class: Forbidden, NotFound, ConflictError, ValidationError...
    message: str
    problems: tuple[str, ...] = ()  # a ValidationError's, one per problem


def dump(message: Hello | Call | Done | Failed) -> bytes:
    if isinstance(message, Hello):
        body: dict = {"hello": message.via}
    elif isinstance(message, Call):
        body = {"call": message.name, "args": plain.encode(list(message.args)),
                "kwargs": plain.encode(message.kwargs)}
    elif isinstance(message, Done):
        body = {"ok": plain.encode(message.value)}
    else:
        body = {"error": message.kind, "message": message.message,
                "problems": list(message.problems)}
    return orjson.dumps(body) + b"\n"


def request(line: bytes) -> Hello | Call:
    """What a teammate's process sent (BadMessage: nothing this protocol knows)."""
    body = _object(line)
    if isinstance(body.get("hello"), str):
        return Hello(body["hello"])
    if isinstance(body.get("call"), str):
        try:
            args = plain.decode(body.get("args") or {"~l": []})
            kwargs = plain.decode(body.get("kwargs") or {"~m": []})
        except (TypeError, ValueError, KeyError) as exc:
            raise BadMessage(f"bad call: {exc}") from None
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise BadMessage("bad call: args is a list, kwargs a map")
        return Call(body["call"], tuple(args), kwargs)
    raise BadMessage("neither a hello nor a call")


def answer(line: bytes) -> Done | Failed:
    """What the engine answered."""
    body = _object(line)
    if "ok" in body:
        return Done(plain.decode(body["ok"]))
    if isinstance(body.get("error"), str):
        return Failed(body["error"], str(body.get("message", "")),
                      tuple(body.get("problems") or ()))
    raise BadMessage("neither an answer nor an error")


def _object(line: bytes) -> dict:
    try:
        body = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadMessage("not a JSON object")
    return body


@functools.cache
def wire_types() -> frozenset[type]:
    """Every dataclass, enum and named tuple an action takes or answers with, found in
    the actions' type hints and, within those types, their fields' hints."""
    import inspect  # here: a local dashboard or command never needs it

    from dbt_console.actions.guard import registry

    found: set[type] = set()
    for fn in registry().values():
        for hint in typing.get_type_hints(inspect.unwrap(fn)).values():
            _walk(hint, found)
    return frozenset(found)


def _walk(hint: Any, found: set[type]) -> None:
    if typing.get_origin(hint) is not None:
        for arg in typing.get_args(hint):
            _walk(arg, found)
        return
    if not isinstance(hint, type) or hint in found:
        return
    if (dataclasses.is_dataclass(hint) or issubclass(hint, enum.Enum)
            or (issubclass(hint, tuple) and hasattr(hint, "_fields"))):
        found.add(hint)
        for field_hint in typing.get_type_hints(hint).values():
            _walk(field_hint, found)


def allow_wire_types() -> None:
    plain.allow(*wire_types())
