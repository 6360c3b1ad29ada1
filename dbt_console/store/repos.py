"""Narrow repositories: a part of the engine is given the store's concerns it uses (the
mixins Store is made of, one module each), never the whole Store. The executor cannot
reach tokens or grants, the notifier cannot queue a run, a chore cannot end one.

A method of a concern the part was not given is an AttributeError naming the concern it
belongs to, so a part that reaches further fails in the first test that takes that path.
"""

from __future__ import annotations

from typing import Any

from dbt_console.store.base import StoreBase

# What every holder may do: group its changes, and wait for their commit.
ALWAYS = frozenset({"atomic", "on_commit", "data_version"})


def methods(concern: type) -> frozenset[str]:
    return frozenset(name for name, value in vars(concern).items()
                     if callable(value) and not name.startswith("_"))


class Repos:
    """The store as far as `concerns` reach, on the connection of `store` (a Store, or
    another Repos to narrow further). Closing it closes the connection only when it was
    opened for it (owns)."""

    def __init__(self, store: StoreBase | Repos, concerns: tuple[type, ...],
                 owns: bool = False):
        if isinstance(store, Repos):
            wider = [c for c in concerns if c not in store._concerns]
            if wider:
                raise TypeError(f"cannot widen a narrow store to {_names(wider)} (it was "
                                f"given {_names(store._concerns)})")
            store = store._store
        self._store = store
        self._concerns = concerns
        self._allowed = ALWAYS.union(*map(methods, concerns))
        self._owns = owns

    def only(self, *concerns: type) -> Repos:
        return Repos(self, concerns)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not set yet (copy, pickle): never the store's
            raise AttributeError(name)
        if name in self._allowed:
            value = getattr(self._store, name)
            self.__dict__[name] = value  # the next call skips this lookup
            return value
        owner = next((c for c in type(self._store).__mro__ if name in vars(c)), None)
        raise AttributeError(
            f"store.{name}: this part was given {_names(self._concerns)}"
            + (f"; {name} is {owner.__name__}'s" if owner is not None else ""))

    def close(self) -> None:
        if self._owns:
            self._store.close()

    def __enter__(self) -> Repos:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def joined(*groups: tuple[type, ...]) -> tuple[type, ...]:
    """The concerns of several parts together, each once."""
    return tuple(dict.fromkeys(c for group in groups for c in group))


def opened(path, concerns: tuple[type, ...], must_exist: bool = True) -> Repos:
    """A connection of the thread's own (SQLite's are not shared between threads), as far
    as `concerns` reach; closing the view closes it."""
    from dbt_console.store import Store

    return Repos(Store(path, must_exist=must_exist), concerns, owns=True)


def _names(concerns) -> str:
    return ", ".join(c.__name__ for c in concerns) or "nothing"
