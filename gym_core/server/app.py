"""The FastAPI app of ``rgym serve``: a JSON API under ``/api`` and the trace viewer at ``/``.

Every answer to bad input is a 4xx with one line in ``{"detail": ...}``; nothing a client sends can
produce a traceback in a response. The runs and episodes endpoints only read the store; the live
environments of ``/api/envs`` (when the app holds :class:`LiveSessions`) record episodes as
``env.step()`` does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gym_core import __version__
from gym_core.errors import EpisodeError, NotFoundError, RgymError, StoreError
from gym_core.server.auth import require_tokens
from gym_core.server.deps import StoreDep
from gym_core.server.hosts import AllowedHosts, HostCheckMiddleware
from gym_core.server.live import IdleReaper, LiveSessions
from gym_core.server.redaction import RedactionMiddleware
from gym_core.server.report_cache import ReportCache
from gym_core.server.routes import compare, envs, episodes, runs, suite_runs, tokens
from gym_core.server.schemas import Health
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store

log = logging.getLogger(__name__)

#: Headers on every response: no MIME sniffing (a step output served as text/plain stays text), no
#: framing, no referrer leaking run ids to other sites.
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped.

    Recorded outputs may hold lone surrogates (undecodable bytes kept by ``surrogateescape``), which
    cannot be encoded as UTF-8; ``\\udcxx`` escapes are valid JSON and keep the response from failing.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def create_app(
    store_url: str | None = None,
    *,
    live: LiveSessions | None = None,
    on_shutdown: Callable[[TraceStore], None] | None = None,
    bind: str = "127.0.0.1",
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """Open the trace store at ``store_url`` (default: ``RGYM_STORE``, else SQLite in the data dir) and
    build the app serving it.

    The store is opened without recovery, so serving never rewrites a run's status; it is closed when
    the app shuts down. With ``live``, the app also serves live environments at ``/api/envs``; idle
    ones are closed in the background, and every one is closed when the app shuts down.
    ``on_shutdown`` runs with the store as the app shuts down (uvicorn may end the process by the signal
    that stopped it right after, so cleanup that must happen belongs here).

    Requests must name an allowed ``Host`` (:mod:`gym_core.server.hosts`), and every answer but the live
    environments' has credentials redacted (:mod:`gym_core.server.redaction`).

    Args:
        bind: the address the server listens on (its own ``Host`` names derive from it).
        allowed_hosts: further ``Host`` names to answer to; default: ``RGYM_SERVE_ALLOWED_HOSTS``.

    Raises:
        StoreError: the store cannot be opened.
    """
    store = open_store(store_url, recover=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reaper = IdleReaper(live) if live is not None else None
        if reaper is not None:
            reaper.start()
        try:
            yield
        finally:
            if reaper is not None and live is not None:
                reaper.stop()
                live.close_all()
            if on_shutdown is not None:
                try:
                    on_shutdown(store)
                except RgymError as exc:
                    log.warning("shutting down: %s", exc)
            store.close()

    app = FastAPI(
        title="rgym traces",
        version=__version__,
        description="Read-only API over the rgym trace store. Ids accept any unique prefix.",
        default_response_class=AsciiJSONResponse,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.live = live
    app.state.reports = ReportCache()
    _add_error_handlers(app)
    app.middleware("http")(require_tokens)  # inner: every request but /healthz and /login needs a token
    app.middleware("http")(_common_headers)  # outer: on every answer, a 401 included
    app.add_middleware(RedactionMiddleware)
    names = get_settings().serve_allowed_host_names() if allowed_hosts is None else list(allowed_hosts)
    app.add_middleware(HostCheckMiddleware, allowed=AllowedHosts(bind, names))  # outermost: runs first
    app.include_router(runs.router, prefix="/api")
    app.include_router(episodes.router, prefix="/api")
    app.include_router(envs.router, prefix="/api")
    app.include_router(envs.tasks_router, prefix="/api")
    app.include_router(tokens.router, prefix="/api")
    app.include_router(compare.router, prefix="/api")
    app.include_router(suite_runs.router, prefix="/api")

    @app.get("/healthz", tags=["health"])
    def healthz(store: StoreDep) -> Health:
        """Whether the store answers (503 when it does not)."""
        store.list_runs(limit=1)
        return Health(status="ok", store=store.display_url)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def viewer() -> HTMLResponse:
        page, policy = _viewer_page()
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})

    return app


async def _common_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in _COMMON_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@cache
def _viewer_page() -> tuple[str, str]:
    """The viewer page and a Content-Security-Policy that lets only its own inline script and style run.

    The page escapes every recorded text itself; the policy is the second wall: even injected markup
    could run no script and load nothing from another origin.
    """
    page = resources.files("gym_core.server").joinpath("static/index.html").read_text(encoding="utf-8")
    scripts = " ".join(_hashes(page, "script"))
    styles = " ".join(_hashes(page, "style"))
    policy = (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return page, policy


def _hashes(page: str, tag: str) -> list[str]:
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for body in bodies
    ]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _add_error_handlers(app: FastAPI) -> None:
    """Every error becomes ``{"detail": "<one line>"}`` with a status that says whose fault it was."""

    @app.exception_handler(RgymError)
    async def rgym_error(_request: Request, exc: RgymError) -> Response:
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, EpisodeError):
            status = 409  # reset() before step(), or the episode has ended: the call is out of order
        elif isinstance(exc, StoreError):
            status = 503  # the database did not answer: not the client's fault, and may pass
        else:
            status = 400
        return AsciiJSONResponse({"detail": _one_line(str(exc))}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("path", "query"))
            problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
        return AsciiJSONResponse({"detail": _one_line("; ".join(problems) or "invalid request")}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        return AsciiJSONResponse(
            {"detail": _one_line(str(exc.detail))}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The traceback goes to the server's log, never to the client.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return AsciiJSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)
