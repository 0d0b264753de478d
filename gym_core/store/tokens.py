"""API tokens of ``rgym serve``, kept in the trace store so every server over a shared store knows them.

A token is ``rgym_`` and 43 random URL-safe characters (256 bits). The store keeps only its sha256: a
token is shown once, when it is created, and a copy of the database gives no one a usable token. The
secrets are high-entropy, so a plain digest (not a slow password hash) is the right tool.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update

from gym_core.errors import ConfigError, NotFoundError
from gym_core.store.ids import is_valid_prefix, new_id, normalize_prefix
from gym_core.store.models import ApiToken
from gym_core.store.trace_store import TraceStore

PREFIX = "rgym_"


class Role(StrEnum):
    """What a token may do (the matrix is in docs/api.md)."""

    AGENT = "agent"
    """Create and drive its own environments; list tasks. Nothing else."""
    VIEWER = "viewer"
    """Read runs, episodes, reports and the viewer."""
    ADMIN = "admin"
    """Everything, including managing tokens."""


class TokenPublic(BaseModel):
    """A token as listed: never its secret."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(store: TraceStore, role: Role | str, name: str) -> tuple[TokenPublic, str]:
    """A new token with ``role``; returns it and its secret (the only time the secret is known).

    Raises:
        ConfigError: an unknown role or an empty name.
    """
    try:
        chosen = Role(role)
    except ValueError:
        raise ConfigError(
            f"unknown role {role!r}", hint=f"choose one of {', '.join(r.value for r in Role)}"
        ) from None
    if not name.strip() or len(name) > 200:
        raise ConfigError("a token needs a name of 1 to 200 characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    row: dict[str, Any] = {
        "id": new_id(),
        "name": name.strip(),
        "role": chosen.value,
        "secret_sha256": _digest(secret),
        "created_at": datetime.now(UTC),
        "revoked_at": None,
        "last_used_at": None,
    }
    with store._write("create an API token") as conn:
        conn.execute(insert(ApiToken).values(**row))
    return TokenPublic.model_validate(row), secret


def check_token(store: TraceStore, secret: str) -> TokenPublic | None:
    """The live (not revoked) token whose secret this is, else None. Marks it used."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    digest = _digest(secret)
    with store._read() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.secret_sha256 == digest)).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, digest):
            return None
        token = TokenPublic.model_validate(row)
    now = datetime.now(UTC)
    last = token.last_used_at
    if last is None or (now - last).total_seconds() > 60:  # at most one write a minute per token
        with store._write("mark an API token used") as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return token


def list_tokens(store: TraceStore, *, include_revoked: bool = False) -> list[TokenPublic]:
    """Tokens, oldest first."""
    with store._read() as session:
        query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
        if not include_revoked:
            query = query.where(ApiToken.revoked_at.is_(None))
        return [TokenPublic.model_validate(row) for row in session.scalars(query)]


def revoke_token(store: TraceStore, token_id: str) -> TokenPublic:
    """Revoke the token with this id (or unique id prefix); it stops working at once.

    Raises:
        NotFoundError: no such token, or the prefix is ambiguous.
    """
    prefix = normalize_prefix(token_id)
    if not is_valid_prefix(prefix):
        raise NotFoundError(f"no API token with id {token_id!r}", hint="rgym tokens list shows their ids")
    with store._read() as session:
        rows = list(session.scalars(select(ApiToken).where(ApiToken.id.startswith(prefix)).limit(2)))
    if len(rows) != 1:
        what = "no API token" if not rows else "more than one API token"
        raise NotFoundError(f"{what} with id {token_id}", hint="rgym tokens list shows their ids")
    with store._write("revoke an API token") as conn:
        conn.execute(
            update(ApiToken)
            .where(ApiToken.id == rows[0].id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    with store._read() as session:
        return TokenPublic.model_validate(session.get_one(ApiToken, rows[0].id))
