"""API tokens: made here, shown once, kept only as a hash."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "dbtc_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain hash is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def from_header(value: str | None) -> str | None:
    """The token in `Authorization: Token <t>` or `Bearer <t>`, else None."""
    scheme, _, token = (value or "").strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        return None
    return token.strip()
