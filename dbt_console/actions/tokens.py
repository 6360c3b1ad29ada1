"""API tokens: made here, shown once, kept only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from dbt_console.access import TOKEN_ROLES, check_role
from dbt_console.actions.context import Actor, Context, token_actor
from dbt_console.actions.guard import action
from dbt_console.errors import UserError
from dbt_console.jobrules import NAME_RE

PREFIX = "dbtc_"


@dataclass(frozen=True)
class TokenRow:
    name: str
    created_at: float
    created_by: str
    revoked_at: float | None
    role: str


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain hash is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


@action("admin", changes=True, target=lambda ctx, name, *a, **k: f"token {name}")
def create(ctx: Context, name: str, role: str = "runner") -> str:
    """A new token with a role; the only time it is seen. Returns it."""
    check_role(role, TOKEN_ROLES)
    if not NAME_RE.match(name):
        raise UserError(f"token name {name!r}: use letters, digits, - and _ (it "
                        "names who asked, on every run it starts)")
    token = PREFIX + secrets.token_urlsafe(32)
    ctx.store.create_token(name, token_hash(token), ctx.actor.name, role)
    return token


@action("admin", changes=True, target=lambda ctx, name: f"token {name}")
def revoke(ctx: Context, name: str) -> None:
    ctx.store.revoke_token(name)


@action("admin")
def list_all(ctx: Context) -> list[TokenRow]:
    return [TokenRow(name, created, by, revoked, role)
            for name, created, by, _, revoked, role in ctx.store.list_tokens()]


REFUSED = Actor("(no valid token)", "token", "api")


def refused(ctx: Context, address: str, failures: int) -> None:
    """An audit row for a token that matched none: from where, and how many so far. Never
    the token's text: a mistyped real token would be half a secret in the log."""
    ctx.store.audit(REFUSED.name, REFUSED.kind, REFUSED.via, "tokens.authenticate", None,
                    f"from {address}", "",
                    f"refused: no valid token ({failures} from this address in 15 min)")


def authenticate(ctx: Context, token: str | None) -> Actor | None:
    """The actor a presented token acts as, or None for no token or a dead one."""
    if not token:
        return None
    found = ctx.store.token_by_hash(token_hash(token))
    return None if found is None else token_actor(found[0])
