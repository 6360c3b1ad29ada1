"""The store's schema: what this dbt-console makes, and `store migrate`, which brings an
older store up to it. Only an engine (as it starts, holding the lease) or this action
migrates; every other command refuses an older store in one line."""

from __future__ import annotations

from dataclasses import dataclass

from dbt_console.config import Paths
from dbt_console.engine.lease import EngineBusy, LeaseKeeper
from dbt_console.errors import UserError
from dbt_console.store import Store, schema


@dataclass(frozen=True)
class Migrated:
    before: int
    after: int


def current() -> str:
    """The schema this dbt-console makes, as SQL (the checked-in store/schema.sql)."""
    return schema.current()


def migrate(paths: Paths, by: str) -> Migrated:
    """Bring the store up to this dbt-console's schema, holding the engine's lease while
    it does: an engine that runs (of any version) is never migrated under."""
    if not paths.store.exists():
        raise UserError(f"no store at {paths.store}: nothing to migrate (dbt-console makes "
                        "one at the current schema when first used)")
    keeper = LeaseKeeper("store migrate")
    with Store(paths.store, must_exist=True, upgrade=True) as store:
        try:
            keeper.acquire(store)
        except EngineBusy as busy:
            raise UserError(f"{busy}: stop it first (dbt-console engine stop), or restart "
                            "it with this dbt-console, which migrates as it starts") from None
        try:
            return Migrated(*store.upgrade(by))
        finally:
            keeper.release(store)
