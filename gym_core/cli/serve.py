"""``rgym serve``: the HTTP API and web trace viewer over a trace store, and (``--envs``) environments
that remote agents drive over HTTP."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from typing import Annotated

import typer
from rich.console import Console

from gym_core.cli.options import StoreOption
from gym_core.errors import ConfigError, RgymError

err_console = Console(stderr=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Mount ``serve`` on the root app."""
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 serves the traces to the network.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8000,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A Host name to answer to besides the bind address (repeatable; .example.org allows its "
            "subdomains). Requests naming any other host get a 400, so DNS rebinding cannot read traces. "
            "Also read from RGYM_SERVE_ALLOWED_HOSTS.",
        ),
    ] = None,
    store: StoreOption = None,
    envs: Annotated[
        bool,
        typer.Option(
            "--envs",
            help="Also serve environments that remote agents drive over HTTP (/api/envs; "
            "gym.make(..., remote=URL, token=...)), with agent tokens.",
        ),
    ] = False,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Sandbox backend of the served environments.")
    ] = None,
    max_envs: Annotated[
        int, typer.Option("--max-envs", min=1, help="At most this many live environments at once.")
    ] = 4,
) -> None:
    """Serve the HTTP API (/api, docs at /docs) and the web trace viewer (/) until Ctrl-C."""
    import uvicorn

    from gym_core.server import create_app
    from gym_core.settings import get_settings
    from gym_core.store import TraceStore, open_store
    from gym_core.store.tokens import Role, create_token, revoke_token

    live = None
    if envs:
        from gym_core.sandbox import default_backend
        from gym_core.sandbox.registry import sandbox_class
        from gym_core.server.live import LiveSessions, research_env_factory

        chosen = backend or default_backend()
        sandbox_class(chosen)  # an unknown backend fails here, as one line
        with open_store(store) as opened:  # creates and migrates the store once, before serving
            url = opened.url.render_as_string(hide_password=False)
        live = LiveSessions(research_env_factory(url, chosen), max_sessions=max_envs)
    elif backend is not None:
        raise ConfigError("--backend is for --envs", hint="add --envs to serve environments")
    served_token: list[str] = []  # the id of this server's admin token, revoked as it shuts down

    def revoke_served(opened: TraceStore) -> None:
        for token_id in served_token:
            revoke_token(opened, token_id)

    names = [*get_settings().serve_allowed_host_names(), *(allowed_host or [])]
    # A bad store fails here, as one line, before anything listens.
    app = create_app(store, live=live, on_shutdown=revoke_served, bind=host, allowed_hosts=names)
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if not _is_loopback(host):
        err_console.print(
            f"[yellow]warning:[/] listening on {host} over plain HTTP: tokens cross the network in clear; "
            "put a TLS proxy in front of it"
        )
    # A fresh admin token for this server's life, revoked when it stops (as Jupyter's URL token).
    token, secret = create_token(app.state.store, Role.ADMIN, f"rgym serve pid {os.getpid()}")
    served_token.append(token.id)
    # The one line tests and scripts read; with --port 0 it is the only place the port is told.
    typer.echo(f"rgym serve: http://{shown}:{bound_port}/ (store {app.state.store.display_url})")
    typer.echo(f"rgym serve: open http://{shown}:{bound_port}/?token={secret}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        with contextlib.suppress(RgymError), open_store(store) as opened:
            revoke_token(opened, token.id)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket of our own, so a bad address or a busy port is one clear line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host}: cannot resolve it ({exc.strerror})") from exc
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="choose another --port"
        ) from exc
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
