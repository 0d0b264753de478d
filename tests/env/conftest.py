"""Fixtures of the env tests: both backends, and a fresh SQLite trace store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.store import TraceStore, open_store


@pytest.fixture(params=[pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.slow]), "local"])
def backend(request: pytest.FixtureRequest) -> str:
    """Both backends; the local one is fast, so tests without marks of their own run in the fast subset."""
    if request.param == "docker":
        request.getfixturevalue("docker_client")
    return str(request.param)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()
