"""Who may call what on ``rgym serve``: API tokens with roles, checked on every request.

Deny by default: only ``/healthz`` and the login page answer without a token. A token comes as
``Authorization: Bearer <token>`` (API clients, :class:`gym_core.remote.RemoteEnv`) or as the
``rgym_token`` cookie that the login page (or the ``?token=`` URL ``rgym serve`` prints, as Jupyter
does) sets for the viewer: HttpOnly and SameSite=Strict, so no script reads it and no other site sends it.

The roles (:class:`gym_core.store.tokens.Role`):

==================  ======  ======  ======
endpoint            agent   viewer  admin
==================  ======  ======  ======
/api/envs...        own     no      all
/api/tasks          yes     yes     yes
/openapi.json,/docs yes     yes     yes
/api/tokens...      no      no      yes
other GET (runs,    no      yes     yes
episodes, viewer)
anything else       no      no      yes
==================  ======  ======  ======
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import parse_qs, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from gym_core.store import TraceStore
from gym_core.store.tokens import Role, TokenPublic, check_token

COOKIE = "rgym_token"
OPEN_PATHS = frozenset({"/healthz", "/login"})
_ANY = frozenset(Role)
_LOGIN_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


def allowed_roles(method: str, path: str) -> frozenset[Role]:
    """The roles that may call ``method path`` (the table of the module docstring)."""
    if path == "/api/envs" or path.startswith("/api/envs/"):
        return frozenset({Role.AGENT, Role.ADMIN})
    if path in ("/api/tasks", "/openapi.json", "/docs", "/docs/oauth2-redirect"):
        return _ANY
    if path == "/api/tokens" or path.startswith("/api/tokens/"):
        return frozenset({Role.ADMIN})
    if method in ("GET", "HEAD"):
        return frozenset({Role.VIEWER, Role.ADMIN})
    return frozenset({Role.ADMIN})


def current_token(request: Request) -> TokenPublic:
    """The token of this request (set by :func:`require_tokens`)."""
    token: TokenPublic = request.state.token
    return token


def owner_filter(request: Request) -> str | None:
    """Whose environments this request may touch: an agent token only its own; an admin any (None)."""
    token = current_token(request)
    return token.id if token.role is Role.AGENT else None


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def _denied(status: int, detail: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="rgym"'} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _with_cookie(response: Response, secret: str, request: Request) -> Response:
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def login_page(message: str = "") -> HTMLResponse:
    """The static login page: one form that sends a token to ``/login``; no script."""
    page = resources.files("gym_core.server").joinpath("static/login.html").read_text(encoding="utf-8")
    page = page.replace("{{message}}", message)
    return HTMLResponse(page, headers={"Content-Security-Policy": _LOGIN_POLICY, "Cache-Control": "no-store"})


async def require_tokens(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """The middleware: every request but the open ones carries a live token whose role may call it."""
    path = request.url.path
    store: TraceStore = request.app.state.store
    given = request.query_params.get("token") if path in ("/", "/login") else None
    if path == "/login" and request.method == "POST":
        form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0].strip()
    if given is not None:
        # The URL that rgym serve prints, or the login form: swap the token for a cookie and drop it
        # from the address bar.
        token = await run_in_threadpool(check_token, store, given)
        if token is None:
            return login_page("That token is not valid (revoked, or mistyped).")
        target = "/" if path == "/login" else path
        rest = {k: v for k, v in request.query_params.items() if k != "token"}
        response = RedirectResponse(target + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
        return _with_cookie(response, given, request)
    if path in OPEN_PATHS:
        if path == "/login":
            return login_page()
        return await call_next(request)
    secret = _presented(request)
    token = await run_in_threadpool(check_token, store, secret) if secret else None
    if token is None:
        if _wants_html(request):
            return RedirectResponse("/login", status_code=303)
        what = "an invalid or revoked API token" if secret else "no API token"
        return _denied(
            401, f"{what}: send Authorization: Bearer <token> (rgym tokens create --role ROLE makes one)"
        )
    if token.role not in allowed_roles(request.method, path):
        return _denied(403, f"a {token.role.value} token may not {request.method} {path}")
    request.state.token = token
    return await call_next(request)
