"""The attribution rule: whatever the agent's input can cause is the agent's; the rest is the environment's."""

from __future__ import annotations

import pytest

from gym_core.attribution import attribute_exception
from gym_core.errors import AgentError, GraderBroken, GradingError, SandboxError, StoreError
from gym_core.outcomes import ErrorKind, Origin
from gym_core.sandbox.base import SandboxHealth

ALIVE_HEALTHY = SandboxHealth(alive=True, agent_could_cause=False, reason="the container runs")
KILLED_OUTSIDE = SandboxHealth(alive=False, agent_could_cause=False, reason="stopped from outside")
PIDS_FULL = SandboxHealth(alive=True, agent_could_cause=True, reason="the pid limit is reached")
OOM = SandboxHealth(alive=False, agent_could_cause=True, reason="OOM-killed")


@pytest.mark.parametrize(
    ("exc", "health", "origin", "kind"),
    [
        (AgentError("agent.act() raised KeyError"), None, Origin.AGENT, ErrorKind.AGENT_ERROR),
        (SandboxError("exec failed"), PIDS_FULL, Origin.AGENT, ErrorKind.ENGINE_ERROR),
        (SandboxError("exec failed"), OOM, Origin.AGENT, ErrorKind.SANDBOX_LOST),
        (SandboxError("exec failed"), KILLED_OUTSIDE, Origin.ENVIRONMENT, ErrorKind.SANDBOX_LOST),
        (SandboxError("exec refused"), ALIVE_HEALTHY, Origin.ENVIRONMENT, ErrorKind.ENGINE_ERROR),
        (SandboxError("engine gone"), None, Origin.ENVIRONMENT, ErrorKind.ENGINE_ERROR),
        (GradingError("the grader sandbox failed"), None, Origin.ENVIRONMENT, ErrorKind.GRADER_SANDBOX),
        (GraderBroken("fails on the reference too"), None, Origin.ENVIRONMENT, ErrorKind.GRADER_BROKEN),
        (StoreError("database is locked"), None, Origin.ENVIRONMENT, ErrorKind.STORE_ERROR),
        (TypeError("'>' not supported"), None, Origin.ENVIRONMENT, ErrorKind.RGYM_ERROR),
    ],
)
def test_attribution_table(
    exc: BaseException, health: SandboxHealth | None, origin: Origin, kind: ErrorKind
) -> None:
    found = attribute_exception(exc, health)
    assert (found.origin, found.kind) == (origin, kind)
    assert found.reason


def test_a_backend_without_a_diagnosis_blames_the_agent() -> None:
    """The default diagnosis assumes the agent could have caused it: no exclusion by ignorance."""
    from types import SimpleNamespace

    from gym_core.sandbox.base import Sandbox

    health = Sandbox.diagnose(SimpleNamespace(alive=False))  # type: ignore[arg-type]
    assert health.agent_could_cause
    assert attribute_exception(SandboxError("gone"), health).origin is Origin.AGENT
