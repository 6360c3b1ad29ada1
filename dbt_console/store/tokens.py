"""API tokens, kept only as hashes."""

from __future__ import annotations

import time

from dbt_console.errors import NotFound, UserError
from dbt_console.store.base import StoreBase


class TokensStore(StoreBase):
    def create_token(self, name: str, token_hash: str, created_by: str,
                     role: str = "runner") -> None:
        with self._tx() as conn:
            row = conn.execute("SELECT revoked_at FROM api_tokens WHERE name = ?",
                               (name,)).fetchone()
            if row is not None and row[0] is None:
                raise UserError(f"a token named {name!r} exists; revoke it first "
                                f"(dbt-console tokens revoke {name})")
            conn.execute("INSERT OR REPLACE INTO api_tokens (name, hash, created_at, "
                         "created_by, role) VALUES (?, ?, ?, ?, ?)",
                         (name, token_hash, time.time(), created_by, role))

    def token_by_hash(self, token_hash: str) -> tuple[str, str] | None:
        """(name, role) of the live token with this hash, or None."""
        return self.conn.execute("SELECT name, role FROM api_tokens WHERE hash = ? AND "
                                 "revoked_at IS NULL", (token_hash,)).fetchone()

    def list_tokens(self) -> list[tuple[str, float, str, float | None, float | None, str]]:
        """(name, created_at, created_by, last_used_at, revoked_at, role), by name."""
        return self.conn.execute("SELECT name, created_at, created_by, last_used_at, "
                                 "revoked_at, role FROM api_tokens ORDER BY name").fetchall()

    def revoke_token(self, name: str) -> None:
        with self._tx() as conn:
            if not conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND "
                                "revoked_at IS NULL", (time.time(), name)).rowcount:
                raise NotFound(f"no live token named {name!r} (see dbt-console tokens list)")
