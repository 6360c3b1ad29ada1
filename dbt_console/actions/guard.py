"""The one place every action passes through: who is acting, whether their role allows
it (for the job it touches, when grants are limited to some jobs), and the audit row of
each action that changes something, refused ones included."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from dbt_console.access import Forbidden, allows
from dbt_console.actions.context import Context
from dbt_console.engine.wake import nudge
from dbt_console.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])


T = TypeVar("T")


@dataclass(frozen=True)
class Noted(Generic[T]):
    """An action's result with what its audit row adds, known only once it has acted
    (the jobs a file changed, what a prune removed). The caller gets `result`."""

    result: T
    detail: str


def action(needs: str | None, changes: bool = False, job: Callable[..., str | None] | None = None,
           target: Callable[..., str] | None = None,
           detail: Callable[..., str] | None = None) -> Callable[[F], F]:
    """Make a function an action: `needs` is the least role that may call it (None:
    anyone); `job` (same arguments) names the job it acts on, for grants limited to some
    jobs. An action that `changes` something runs as one unit of work whose audit row
    commits with its change, or alone with its refusal; `target` and `detail` (same
    arguments) say what it acted on and what was asked (a runner's overrides), and an
    action may add to the detail by returning Noted."""
    def wrap(fn: F) -> F:
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"

        @functools.wraps(fn)
        def guarded(ctx: Context, *args: Any, **kwargs: Any) -> Any:
            if ctx.remote is not None:  # a teammate: the engine decides
                return ctx.remote.call(name, args, kwargs)
            if needs is None:
                return fn(ctx, *args, **kwargs)
            job_name = _quietly(job, ctx, *args, **kwargs)
            role = ctx.role(job_name)
            if not changes:  # a read: no audit row, nothing to describe
                if not allows(role, needs):
                    raise _refusal(ctx, name, needs, job_name, role)
                return fn(ctx, *args, **kwargs)
            row = Audit(name, job_name, _quietly(target, ctx, *args, **kwargs)
                           or _words(args, kwargs), _quietly(detail, ctx, *args, **kwargs))
            if not allows(role, needs):
                refusal = _refusal(ctx, name, needs, job_name, role)
                ctx.audit(row, f"refused: {refusal}")
                raise refusal
            result = _in_unit(ctx, row, fn, args, kwargs)
            nudge(ctx.paths.data_dir)  # a queued run starts now, not on the engine's tick
            return result
        guarded.needs = needs  # type: ignore[attr-defined]
        guarded.action_name = name  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]
    return wrap


@dataclass(frozen=True)
class Audit:
    action: str
    job: str | None
    target: str
    detail: str | None

    def adding(self, more: str) -> Audit:
        return replace(self, detail="; ".join(filter(None, (self.detail, more))))


def _in_unit(ctx: Context, row: Audit, fn: Callable[..., Any], args: tuple,
             kwargs: dict) -> Any:
    """The action and its audit row as one unit of work (Store.unit). A refusal rolls
    back whatever it changed before refusing, and its row is written alone."""
    try:
        with ctx.store.unit():
            result = fn(ctx, *args, **kwargs)
            if isinstance(result, Noted):
                row, result = row.adding(result.detail), result.result
            ctx.audit(row, "done")
    except UserError as exc:
        ctx.audit(row, f"refused: {exc}")
        raise
    return result


@functools.cache
def registry() -> dict[str, Callable[..., Any]]:
    """Every action by name ("jobs.update"): what a teammate's call over the socket may
    name. Read from the action modules (actions.SUBJECTS), so what is callable never
    depends on which modules happened to be imported."""
    from dbt_console import actions

    found = {}
    for subject in actions.SUBJECTS:
        module = getattr(actions, subject)
        for fn in vars(module).values():
            if getattr(fn, "__module__", None) == module.__name__ and hasattr(fn, "action_name"):
                found[fn.action_name] = fn
    return found


def find(name: str) -> Callable[..., Any] | None:
    """The action `name` ("jobs.update"), or None; loads its module only (a key's check
    on the dashboard must not import every action)."""
    from dbt_console import actions

    subject, _, function = name.partition(".")
    if subject not in actions.SUBJECTS:
        return None
    found = getattr(getattr(actions, subject), function, None)
    return found if getattr(found, "action_name", None) == name else None


def refusal(ctx: Context, name: str, job: str | None = None) -> str | None:
    """Why the actor may not do the action `name` ("jobs.update") on `job`, or None: for
    a key to say so when pressed, before a form is filled in for nothing."""
    needs = getattr(find(name), "needs", None)
    if needs is None or allows(ctx.role(job), needs):
        return None
    return str(_refusal(ctx, name, needs, job, ctx.role(job)))


def _refusal(ctx: Context, name: str, needs: str, job: str | None,
             role: str | None) -> Forbidden:
    return Forbidden(
        f"{name}" + (f" on job {job!r}" if job else "") + f" takes the {needs} role; "
        + f"{ctx.actor.name} " + (f"is {role}" if role else "has no role here")
        + ("" if ctx.actor.is_token else f" (an admin grants it: dbt-console access grant "
           f"{ctx.actor.name} {needs})"))


def _quietly(fn: Callable[..., Any] | None, ctx: Context, *args: Any, **kwargs: Any) -> Any:
    """A job or target name for the check and the audit; a lookup that fails (no such
    run) leaves it to the action to say so."""
    if fn is None:
        return None
    try:
        return fn(ctx, *args, **kwargs)
    except UserError:
        return None


def _words(args: tuple, kwargs: dict) -> str:
    parts = [str(a) for a in args if isinstance(a, (str, int))]
    parts += [f"{k}={v}" for k, v in kwargs.items() if isinstance(v, (str, int, bool))]
    return " ".join(parts)
