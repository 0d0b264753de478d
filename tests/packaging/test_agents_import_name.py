"""rgym's built-in agents install as ``rgym_agents``, so they coexist with other top-level ``agents``.

The OpenAI Agents SDK (``openai-agents``) installs a top-level ``agents`` package; agent developers are
exactly the people who have both. This installs rgym (as a wheel built from this checkout, not editable)
and the SDK into one fresh venv and imports each from outside the repository, where pytest's
``pythonpath`` cannot shadow the SDK.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, agents, rgym_agents, gym_core
from rgym_agents import BaseAgent, agent_factory
print(json.dumps({
    "agents": agents.__file__,
    "sdk_agent_class": hasattr(agents, "Agent") and hasattr(agents, "Runner"),
    "rgym_agents": rgym_agents.__file__,
    "base_agent": BaseAgent.__module__,
    "noop": type(agent_factory("noop")()).__name__,
    "gym_core": gym_core.__file__,
}))
"""


@pytest.mark.slow
@pytest.mark.longest_first
def test_rgym_and_openai_agents_import_side_by_side(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(wheels),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("rgym-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
            "openai-agents",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run(
        [str(python), "-c", PROBE],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    import json

    found = json.loads(result.stdout.strip().splitlines()[-1])
    site = str(env_dir)
    assert found["agents"].startswith(site) and found["sdk_agent_class"], found  # the SDK's agents, not ours
    assert found["rgym_agents"].startswith(site) and found["gym_core"].startswith(site), found
    assert found["base_agent"] == "rgym_agents.base"
    assert found["noop"] == "NoopAgent"
