"""Who is acting, and the store they act on: what every action is given.

The actor comes from the kernel (the process's uid), or from the API token that signed a
request, never from $USER or $LOGNAME, which any process can set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from dbt_console.config import Paths
from dbt_console.store import Store

# Where an action came from: the audit trail says so, and a few rules depend on it (a
# run asked for through the API has trigger `api`).
VIA = ("cli", "dashboard", "api", "engine")


@dataclass(frozen=True)
class Actor:
    """Who acts: a unix user, an API token, or the engine itself (schedule, push, chain)."""

    name: str
    kind: str = "user"  # user | token | engine
    via: str = "cli"

    @property
    def is_token(self) -> bool:
        return self.kind == "token"


def unix_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (a bare container)
        return f"uid{uid}"


def local_actor(via: str) -> Actor:
    """The unix user running this process, by its real uid."""
    return Actor(unix_name(os.getuid()), "user", via)


def token_actor(name: str) -> Actor:
    return Actor(name, "token", "api")


ENGINE = Actor("engine", "engine", "engine")


class Context:
    """One actor's handle on the store. Used by one thread: a worker thread takes its own
    with fork() (SQLite connections are not shared between threads)."""

    def __init__(self, paths: Paths, actor: Actor):
        self.paths = paths
        self.actor = actor
        self._store: Store | None = None

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

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def with_via(actor: Actor, via: str) -> Actor:
    return replace(actor, via=via)
