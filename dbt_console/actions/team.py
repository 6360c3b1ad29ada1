"""Team access: grants of roles to unix users and groups, who you are, the audit log."""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass

from dbt_console.access import ROLES, Grant, check_role, unix_name
from dbt_console.actions.context import Context
from dbt_console.actions.guard import action
from dbt_console.errors import UserError
from dbt_console.store import AuditRow


@dataclass(frozen=True)
class Me:
    name: str
    kind: str
    role: str | None
    owner: str  # the store's owner, always admin


def _principal(principal: str) -> str:
    """A unix user or @group that exists on this machine, else a UserError."""
    try:
        if principal.startswith("@"):
            grp.getgrnam(principal[1:])
        else:
            pwd.getpwnam(principal)
    except KeyError:
        what = "group" if principal.startswith("@") else "user"
        raise UserError(f"no unix {what} named {principal.lstrip('@')!r} on this "
                        "machine") from None
    return principal


def owner(ctx: Context) -> str:
    return unix_name(os.stat(ctx.store.path).st_uid)  # (opening makes the store)


@action(None)
def whoami(ctx: Context) -> Me:
    """Anyone may ask who they are here, even with no role."""
    return Me(ctx.actor.name, ctx.actor.kind, ctx.role(), owner(ctx))


@action("viewer")
def grants(ctx: Context) -> list[Grant]:
    return ctx.store.grants()


@action("admin", changes=True, target=lambda ctx, principal, role, jobs="*":
        f"{principal} {role}" + (f" on jobs {jobs}" if jobs != "*" else ""))
def grant(ctx: Context, principal: str, role: str, jobs: str = "*") -> Grant:
    """Give a user or @group a role (on the jobs matching `jobs`); replaces their grant
    for the same jobs."""
    check_role(role)
    if not jobs.strip():
        raise UserError("--jobs: give a job name pattern, e.g. 'marts_*'")
    if principal == owner(ctx) and role != "admin":
        raise UserError(f"{principal} owns the store and is always admin")
    made = Grant(_principal(principal), role, jobs)
    ctx.store.grant(made, ctx.actor.name)
    return made


@action("admin", changes=True, target=lambda ctx, principal, jobs=None: principal)
def revoke(ctx: Context, principal: str, jobs: str | None = None) -> int:
    """Take a user's or @group's grants away (only the one for `jobs`, when given)."""
    if principal == owner(ctx):
        raise UserError(f"{principal} owns the store and is always admin; that cannot be "
                        "revoked")
    return ctx.store.revoke(principal, jobs)


@action("viewer")
def audit_log(ctx: Context, user: str | None = None, job: str | None = None,
              since: float | None = None, limit: int = 200) -> list[AuditRow]:
    return ctx.store.audit_rows(user, job, since, limit)


__all__ = ["ROLES", "Me", "audit_log", "grant", "grants", "revoke", "whoami"]


@action(None)
def may(ctx: Context, action_name: str, job: str | None = None) -> str | None:
    """Why the actor may not do `action_name` on `job`, or None (asked of the engine by a
    teammate's dashboard, whose own process cannot read the grants)."""
    from dbt_console.actions.guard import refusal

    return refusal(ctx, action_name, job)
