"""``/api/tokens``: API tokens, for admin tokens only (``rgym tokens`` does the same from a shell)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gym_core.server.auth import current_token
from gym_core.server.deps import StoreDep
from gym_core.store.tokens import Role, TokenPublic, create_token, list_tokens, revoke_token

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=200)


class TokenCreated(BaseModel):
    """A new token and its secret: the only time the secret is shown."""

    token: TokenPublic
    secret: str


@router.get("")
def get_tokens(store: StoreDep, include_revoked: bool = False) -> list[TokenPublic]:
    """Every token (never a secret)."""
    return list_tokens(store, include_revoked=include_revoked)


@router.post("", status_code=201)
def post_token(body: TokenCreate, store: StoreDep, request: Request) -> TokenCreated:
    """A new token."""
    name = f"{body.name} (by {current_token(request).name})"[:200]
    token, secret = create_token(store, body.role, name)
    return TokenCreated(token=token, secret=secret)


@router.delete("/{token_id}")
def delete_token(token_id: str, store: StoreDep) -> TokenPublic:
    """Revoke a token; it stops working at once."""
    return revoke_token(store, token_id)
