"""End-to-end fixtures: the fake OpenAI-compatible server from tests/agents, loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

AGENT_TESTS = Path(__file__).resolve().parent.parent / "agents"

if "fake_openai_server" not in sys.modules:
    spec = importlib.util.spec_from_file_location("fake_openai_server", AGENT_TESTS / "fake_openai_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_openai_server"] = module
    spec.loader.exec_module(module)
