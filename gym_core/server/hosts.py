"""Which ``Host`` headers ``rgym serve`` answers to, so a DNS-rebinding page cannot read traces.

A page on ``http://attacker.example`` whose name the attacker re-points at 127.0.0.1 can make the browser send
requests to the local server with its own origin, and read the answers. The browser still sends
``Host: attacker.example``: refusing names the server was not told about closes that door.

Allowed are:

* the address the server is bound to, and ``localhost``, ``127.0.0.1`` and ``::1`` (a page can never make a
  browser send those unless it is served from this machine);
* any IP address literal when it is bound to every interface (``0.0.0.0`` or ``::``): an address is never a
  name an attacker can re-point;
* the names given with ``rgym serve --allowed-host NAME`` or ``RGYM_SERVE_ALLOWED_HOSTS`` (comma separated);
  a name starting with ``.`` allows its subdomains too.

Any other ``Host`` (or none) gets a 400 with one line.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = ("0.0.0.0", "::", "")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def host_name(header: str) -> str:
    """The name of a ``Host`` header value, without port or IPv6 brackets, lower-case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class AllowedHosts:
    """The ``Host`` names a server bound to ``bind`` answers to (see the module docstring)."""

    def __init__(self, bind: str = "127.0.0.1", names: Iterable[str] = ()) -> None:
        bind = host_name(bind)
        self.any_address = bind in _WILDCARDS
        self.names = {host_name(n) for n in names if n.strip()}
        if not self.any_address:
            self.names.add(bind)
        # A page can never make the browser send Host: localhost unless it is served from this machine.
        self.names.update(LOOPBACK_NAMES)

    def permits(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header is answered."""
        if not header:
            return False
        name = host_name(header)
        if name in self.names:
            return True
        if self.any_address and _ip(name) is not None:
            return True
        return any(n.startswith(".") and (name.endswith(n) or name == n[1:]) for n in self.names)


class HostCheckMiddleware:
    """Answers 400 to any request whose ``Host`` header is not allowed."""

    def __init__(self, app: ASGIApp, *, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), None)
        if self.allowed.permits(header):
            await self.app(scope, receive, send)
            return
        shown = (header or "").strip()[:100]
        detail = (
            f"Host {shown!r} is not one this server answers to; start rgym serve with --allowed-host "
            "NAME (or set RGYM_SERVE_ALLOWED_HOSTS) to allow a name"
        )
        body = json.dumps({"detail": detail}, ensure_ascii=True).encode("ascii")
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
