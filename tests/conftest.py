"""Shared fixtures. Docker and PostgreSQL tests run for real; under CI=true a missing engine fails loudly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _docker_client():  # type: ignore[no-untyped-def]
    import docker

    client = docker.from_env(timeout=30)
    client.ping()
    return client


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """A live Docker client. Skips locally when no engine answers; fails under CI=true."""
    try:
        client = _docker_client()
    except Exception as exc:  # pragma: no cover - depends on the machine
        message = f"no Docker engine answers ({exc}); run scripts/ensure-docker"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data dir, so no test touches the user's trace store."""
    if "RGYM_DATA_DIR" not in os.environ or os.environ.get("RGYM_TEST_KEEP_DATA_DIR") != "1":
        data_dir = tmp_path_factory.mktemp("rgym-data")
        monkeypatch.setenv("RGYM_DATA_DIR", str(data_dir))
        monkeypatch.delenv("RGYM_STORE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
