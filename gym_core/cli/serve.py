"""``rgym serve``: the HTTP API and web trace viewer over a trace store (read-only)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Annotated

import typer
from rich.console import Console

from gym_core.cli.options import StoreOption
from gym_core.errors import ConfigError

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
    store: StoreOption = None,
) -> None:
    """Serve the HTTP API (/api, docs at /docs) and the web trace viewer (/) until Ctrl-C."""
    import uvicorn

    from gym_core.server import create_app

    app = create_app(store)  # a bad store fails here, as one line, before anything listens
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if not _is_loopback(host):
        err_console.print(
            f"[yellow]warning:[/] listening on {host}: anyone who can reach it can read every trace "
            "(there is no authentication)"
        )
    # The one line tests and scripts read; with --port 0 it is the only place the port is told.
    typer.echo(f"rgym serve: http://{shown}:{bound_port}/ (store {app.state.store.display_url})")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


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
