"""Fixtures of the trace store tests: a fresh SQLite store, and a fresh PostgreSQL database per test.

The PostgreSQL fixtures (``postgres_url``, ``any_store_url``) live in tests/conftest.py, shared with the
runner's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.store import TraceStore, open_store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-existing SQLite store in a fresh folder."""
    return f"sqlite:///{tmp_path / 'store' / 'traces.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[TraceStore]:
    """A fresh SQLite trace store."""
    s = open_store(sqlite_url)
    yield s
    s.close()
