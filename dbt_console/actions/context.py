"""Who is acting, and the store they act on: what every action is given.

The actor comes from the kernel (the process's uid), or from the API token that signed a
request, never from $USER or $LOGNAME, which any process can set.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from dbt_console import access
from dbt_console.access import unix_name
from dbt_console.config import Paths
from dbt_console.store import Store

ROLE_SECONDS = 2.0


@dataclass(frozen=True)
class Actor:
    """Who acts: a unix user, an API token, or the engine itself (schedule, push, chain)."""

    name: str
    kind: str = "user"  # user | token | engine | anonymous
    via: str = "cli"
    uid: int | None = field(default=None, compare=False)  # a user's, from the kernel

    @property
    def is_token(self) -> bool:
        return self.kind == "token"


def unix_groups(name: str) -> set[str]:
    import grp
    import pwd

    try:
        gids = os.getgrouplist(name, pwd.getpwnam(name).pw_gid)
    except KeyError:
        return set()
    out = set()
    for gid in gids:
        try:
            out.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    return out


def local_actor(via: str) -> Actor:
    """The unix user running this process, by its real uid."""
    uid = os.getuid()
    return Actor(unix_name(uid), "user", via, uid)


def token_actor(name: str) -> Actor:
    return Actor(name, "token", "api")


class Remote(Protocol):
    def call(self, name: str, args: tuple, kwargs: dict) -> Any: ...


class ActionContext(Protocol):
    """What every action is given and every front end holds: a Context (the store itself)
    or a RemoteContext (the engine's socket, for a teammate). Only the action guard asks
    which, through `remote`."""

    paths: Paths
    actor: Actor
    remote: Remote | None  # None: act here; else every action call goes to the engine

    def role(self, job: str | None = None) -> str | None: ...

    def fork(self) -> ActionContext: ...

    def close(self) -> None: ...

    def __enter__(self) -> ActionContext: ...

    def __exit__(self, *exc: object) -> None: ...


class Context:
    """One actor's handle on the store. Used by one thread: a worker thread takes its own
    with fork() (SQLite connections are not shared between threads)."""

    remote: Remote | None = None  # acts here, on the store (ActionContext)

    def __init__(self, paths: Paths, actor: Actor):
        self.paths = paths
        self.actor = actor
        self._store: Store | None = None
        self._groups: set[str] | None = None
        self._roles: dict[str | None, tuple[float, str | None]] = {}

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.paths.store)
        return self._store

    def fork(self) -> Context:
        return Context(self.paths, self.actor)

    def acting_as(self, actor: Actor) -> Context:
        """The same store, another actor (an API request signed by a token)."""
        ctx = Context(self.paths, actor)
        ctx._store = self._store
        return ctx

    def role(self, job: str | None = None) -> str | None:
        """The actor's role (on `job`, for grants limited to some jobs). Read again after
        ROLE_SECONDS: a screen polling many times a second asks once, and a grant or a
        revocation takes effect within that."""
        now = time.monotonic()
        cached = self._roles.get(job)
        if cached is None or now - cached[0] > ROLE_SECONDS:
            cached = self._roles[job] = (now, self._read_role(job))
        return cached[1]

    def _read_role(self, job: str | None) -> str | None:
        actor = self.actor
        if actor.kind == "engine":
            return "admin"
        if actor.kind == "anonymous":  # the API before a request's token is known
            return None
        if actor.kind == "token":
            return self.store.token_role(actor.name)
        store = self.store
        owner = actor.uid is not None and actor.uid in (0, os.stat(self.paths.store).st_uid)
        if self._groups is None:
            self._groups = unix_groups(actor.name)
        return access.role_of(actor.name, self._groups, store.grants(), owner, job)

    def audit(self, row, outcome: str) -> None:
        """Write an action's audit row (guard.Audit): in its unit of work, when one is
        open."""
        self.store.audit(self.actor.name, self.actor.kind, self.actor.via, row.action,
                         row.job, row.target, row.detail or "", outcome)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(paths: Paths, via: str) -> ActionContext:
    """This process's way to the actions: the store itself when it is ours to write (the
    service user, or a single-user install), else the engine's socket (a teammate)."""
    from dbt_console.actions.remote import RemoteContext, socket_path
    from dbt_console.errors import UserError

    actor = local_actor(via)
    if _may_write(paths):
        return Context(paths, actor)
    if os.path.exists(socket_path(paths)):
        return RemoteContext(paths, actor, via)
    raise UserError(f"{paths.store} is not yours to write and no engine serves "
                    f"{socket_path(paths)}: ask for dbt-console serve to be started")


def _may_write(paths: Paths) -> bool:
    store, folder = paths.store, paths.data_dir
    if store.exists():
        return os.access(store, os.W_OK) and os.access(folder, os.W_OK)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)
