"""Every body ``rgym serve`` answers with passes through :func:`gym_core.redact.redact`.

Traces may hold credentials recorded before the store redacted errors, or in outputs the store keeps as
they were (an agent that printed its environment): the API never serves them. This is a pure ASGI
middleware, so it covers every route (JSON, plain text, HTML reports, streamed exports) in one place; a
response whose length changes gets its ``Content-Length`` fixed.

The live environments of ``/api/envs`` are left alone: their observations are what ``env.step()`` returns,
and a remote agent must see what a local one sees.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gym_core.redact import redact

#: Paths whose answers are live observations, not stored traces.
LIVE_PREFIX = "/api/envs"


def redact_bytes(body: bytes) -> bytes:
    """``body`` with credentials redacted; bytes that are not UTF-8 come back unchanged."""
    if not body:
        return body
    text = body.decode("utf-8", errors="surrogateescape")
    redacted = redact(text)
    return body if redacted == text else redacted.encode("utf-8", errors="surrogateescape")


class RedactionMiddleware:
    """Redacts credentials from every HTTP response body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(LIVE_PREFIX):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        held: list[bytes] = []

        async def redacting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if any(k.lower() == b"content-length" for k, _ in message.get("headers", [])):
                    start = message  # sent once the whole body is known, with its new length
                    return
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if (
                start is None
            ):  # streamed: each chunk is redacted on its own (the export sends a record a chunk)
                await send({**message, "body": redact_bytes(body)})
                return
            held.append(body)
            if more:
                return
            whole = redact_bytes(b"".join(held))
            fixed = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            fixed.append((b"content-length", str(len(whole)).encode("ascii")))
            await send({**start, "headers": fixed})
            await send({"type": "http.response.body", "body": whole, "more_body": False})

        await self.app(scope, receive, redacting_send)
