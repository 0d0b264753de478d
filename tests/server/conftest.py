"""Fixtures of the server tests: a real SQLite trace store filled through the store's write API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gym_core.server import create_app
from gym_core.store import open_store
from tests.server.auth_helpers import bearer
from tests.server.traces import Filled, fill

BASE_URL = "http://127.0.0.1"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'traces.db'}"


@pytest.fixture
def filled(store_url: str) -> Filled:
    store = open_store(store_url)
    try:
        return fill(store)
    finally:
        store.close()


@pytest.fixture
def client(store_url: str, filled: Filled) -> Iterator[TestClient]:
    # The app answers only to the Host names it is served under (loopback by default).
    app = create_app(store_url)
    with TestClient(
        app, base_url=BASE_URL, raise_server_exceptions=False, headers=bearer(store_url)
    ) as test_client:
        yield test_client
