"""Fixtures for the agent tests, and imports of the helpers next to this file.

tests/agents/ deliberately has no __init__.py: as a package it would be called ``agents`` and shadow
the real package. Its helper modules are loaded by path here instead, so they import the same way
under any pytest import mode.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

# The repository root must come before tests/ on sys.path: with tests/ first, the directory
# tests/agents/ would be found as a namespace package called ``agents``.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def _load_helper(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_load_helper("fake_openai_server")
_load_helper("fake_env")

from fake_openai_server import FakeOpenAIServer  # noqa: E402


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """A started fake endpoint, with OPENAI_BASE_URL pointing at it and no RGYM_LLM_* settings."""
    for name in (
        "RGYM_LLM_TEMPERATURE",
        "RGYM_LLM_TIMEOUT_S",
        "RGYM_LLM_CONTEXT_CHARS",
        "RGYM_LLM_PRICE_PER_MTOK",
    ):
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        yield server
