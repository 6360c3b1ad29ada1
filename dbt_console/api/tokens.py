"""API tokens as HTTP carries them (actions/tokens.py makes and checks them)."""

from __future__ import annotations


def from_header(value: str | None) -> str | None:
    """The token in `Authorization: Token <t>` or `Bearer <t>`, else None."""
    scheme, _, token = (value or "").strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        return None
    return token.strip()
