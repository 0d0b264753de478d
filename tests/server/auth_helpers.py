"""Tokens for the server tests: a fresh token of a role in a store, as an Authorization header."""

from __future__ import annotations

from gym_core.store import open_store
from gym_core.store.tokens import Role, create_token


def token_for(store_url: str, role: Role | str, name: str = "tests") -> str:
    """A new token's secret."""
    with open_store(store_url) as store:
        return create_token(store, role, name)[1]


def bearer(store_url: str, role: Role | str = Role.VIEWER) -> dict[str, str]:
    """Headers that carry a new token of ``role``."""
    return {"Authorization": f"Bearer {token_for(store_url, role)}"}
