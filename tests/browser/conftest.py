"""Fixtures of the browser tests: the real app under uvicorn on a free port, and Debian's headless Chromium.

Chromium comes from ``scripts/ensure-system-packages`` (``/usr/bin/chromium``); no browser is ever
downloaded. Locally a missing Chromium skips these tests with the reason; under CI=true it fails them.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gym_core.server import create_app
from gym_core.server.auth import COOKIE
from gym_core.store import open_store
from gym_core.store.tokens import Role, create_token
from tests.conftest import IN_CI
from tests.server.traces import Filled, fill
from tests.server.viewer_cases import Cases, fill_cases

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium driven by Playwright."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing; run scripts/ensure-system-packages")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"the playwright package is missing ({exc}); run make install")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as exc:  # pragma: no cover - depends on the machine
            _unavailable(f"{CHROMIUM} does not start: {exc}")
        yield launched
        launched.close()


#: The viewer token of each served base URL (see :func:`sign_in`).
TOKENS: dict[str, str] = {}


def sign_in(page: Any, base: str) -> None:
    """Give the page's browser the viewer cookie that the login page would set."""
    page.context.add_cookies([{"name": COOKIE, "value": TOKENS[base], "url": base}])


@contextmanager
def serving(url: str) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, serving the store at ``url``; yields its base URL.

    The store gets a viewer token: :func:`sign_in` gives a page its cookie.
    """
    with open_store(url) as store:
        _, secret = create_token(store, Role.VIEWER, "browser tests")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(url), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    TOKENS[base] = secret
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail("the server did not answer /healthz within 15 s")
        time.sleep(0.05)  # poll interval of a bounded wait, not a synchronisation
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Filled]]:
    """The viewer's base URL, serving a freshly filled SQLite store, and what the store holds."""
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    store = open_store(url)
    try:
        filled = fill(store)
    finally:
        store.close()
    with serving(url) as base:
        yield base, filled


@pytest.fixture
def served_cases(tmp_path: Path) -> Iterator[tuple[str, Cases]]:
    """The viewer serving the runs of tests/server/viewer_cases.py."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with open_store(url) as store:
        cases = fill_cases(store)
    with serving(url) as base:
        yield base, cases
