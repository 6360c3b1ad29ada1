"""Who may do what: roles, grants, and the rule that picks a person's role. Pure.

Roles are dbt Cloud's permission sets in four steps, each including the one before:

    viewer   jobs, runs, logs, failure review, docs, deliveries
    runner   + run, cancel, retry, rerun
    editor   + create, edit, delete, pause and resume jobs; hooks test
    admin    + grants, tokens, settings, and the job fields that choose what program runs
             as the service user (dbt_path, project_dir, git.url, command hooks)

The store's owner is always admin, so a single-user install needs no set-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from dbt_console.errors import UserError

ROLES = ("viewer", "runner", "editor", "admin")
TOKEN_ROLES = ("viewer", "runner", "editor")  # an admin acts in person, never by token


class Forbidden(UserError):
    """The actor's role does not allow this; the message says what it would take."""


@dataclass(frozen=True)
class Grant:
    principal: str  # a unix user, or @group
    role: str
    jobs: str = "*"  # the grant holds for jobs whose name matches this pattern

    @property
    def is_group(self) -> bool:
        return self.principal.startswith("@")


def rank(role: str | None) -> int:
    return -1 if role is None else ROLES.index(role)


def check_role(role: str, allowed: tuple[str, ...] = ROLES) -> str:
    if role not in allowed:
        raise UserError(f"unknown role {role!r} (one of: {', '.join(allowed)})")
    return role


def role_of(user: str, groups: set[str], grants: list[Grant], is_owner: bool,
            job: str | None = None) -> str | None:
    """The strongest role any of the user's grants gives them (for `job`, when grants are
    limited by pattern); None: no access at all."""
    if is_owner:
        return "admin"
    best: str | None = None
    for grant in grants:
        mine = grant.principal == user or (grant.is_group and grant.principal[1:] in groups)
        if not mine:
            continue
        if job is not None and not fnmatchcase(job, grant.jobs):
            continue
        if job is None and grant.jobs != "*" and grant.role != "viewer":
            # A limited grant gives its role on its jobs only; elsewhere it still lets
            # them see (a runner of marts_* can list the other jobs).
            best = best if rank(best) >= rank("viewer") else "viewer"
            continue
        if rank(grant.role) > rank(best):
            best = grant.role
    return best


def allows(role: str | None, needed: str) -> bool:
    return rank(role) >= rank(needed)


def unix_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (a bare container)
        return f"uid{uid}"
