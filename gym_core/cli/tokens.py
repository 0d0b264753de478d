"""CLI: ``rgym tokens`` creates, lists and revokes the API tokens of ``rgym serve``.

Tokens live in the trace store, so every server over a shared store (the team stack) knows them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gym_core.cli.consoles import make_console
from gym_core.cli.options import StoreOption

app = typer.Typer(
    help="API tokens of rgym serve: agent (drives its own environments), viewer (reads), admin.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help="agent, viewer or admin.")],
    name: Annotated[str | None, typer.Option("--name", help="Who or what it is for.")] = None,
    store: StoreOption = None,
) -> None:
    """Create a token and print its secret, once: it is stored only as a hash."""
    from gym_core.store import open_store
    from gym_core.store.tokens import create_token

    with open_store(store) as opened:
        token, secret = create_token(opened, role, name or f"{role} token")
    typer.echo(
        f"created {token.role.value} token {token.id} ({token.name}); its secret, shown once:", err=True
    )
    typer.echo(secret)


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Revoked tokens too.")] = False,
    store: StoreOption = None,
) -> None:
    """The tokens (never their secrets)."""
    from rich.table import Table

    from gym_core.store import open_store
    from gym_core.store.tokens import list_tokens

    with open_store(store) as opened:
        tokens = list_tokens(opened, include_revoked=all_)
    table = Table("id", "role", "name", "created", "last used", "revoked", box=None)
    for t in tokens:
        table.add_row(
            t.id,
            t.role.value,
            t.name,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-",
        )
    make_console().print(table if tokens else "no tokens (rgym tokens create --role ROLE makes one)")


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (or a unique prefix), as `list` shows.")],
    store: StoreOption = None,
) -> None:
    """Revoke a token: it stops working at once, on every server over this store."""
    from gym_core.store import open_store
    from gym_core.store.tokens import revoke_token

    with open_store(store) as opened:
        token = revoke_token(opened, token_id)
    typer.echo(f"revoked {token.role.value} token {token.id} ({token.name})")
