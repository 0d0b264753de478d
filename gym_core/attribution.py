"""Whose failure an ended attempt is: the agent's, or the environment's (rgym or the machine).

pass^k is the most fault-sensitive number rgym reports: one harness failure in twenty counted against a
perfect agent takes its pass^5 from 1.0 to about 0.77. So environment failures are told apart, retried and,
when they persist, excluded. The opposite mistake is as bad: an agent that could make its own failure look
like the environment's would be excluded instead of failed. The rule is therefore: **whatever the agent's
input can cause is the agent's**; only failures that happen independently of the agent are the
environment's. This module is the one place that applies it (docs/metrics.md has the table).

Agent:
    an invalid or missing submission; the agent's exception or non-action; an exhausted budget, an OOM or a
    timeout in its own command; a full disk from its own files; a grader that crashes, times out or loses
    its sandbox while it runs on the submission, again when regraded, while it grades the task's reference
    submission fine; a sandbox failure
    the agent could have caused (its processes exhausted the pid limit, the sandbox was OOM-killed, or a
    backend where the agent's uid could end the sandbox itself).
Environment:
    a sandbox that died or vanished when the agent could not have caused it (a container killed from
    outside), an engine error or refused exec not caused by the agent; the trace store failing; an exception
    in rgym's own code; an agent's own process that rgym cannot start; a grader sandbox that does not
    start; a grader that also fails on the reference submission, or whose failure does not reproduce on a
    regrade (then the regrade's verdict stands and nothing is attributed).
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_core.errors import AgentError, AgentHostError, GraderBroken, GradingError, SandboxError, StoreError
from gym_core.outcomes import ErrorKind, Origin
from gym_core.sandbox.base import SandboxHealth


@dataclass(frozen=True)
class Attribution:
    """Whose doing an episode's end is, what went wrong (None when nothing did), and why (one line)."""

    origin: Origin
    kind: ErrorKind | None
    reason: str


def attribute_exception(exc: BaseException, health: SandboxHealth | None = None) -> Attribution:
    """Attribute an exception that ended an episode.

    Args:
        exc: what was raised (by the agent's code, rgym's code, the sandbox or the store).
        health: the sandbox's own account, when the exception came from the agent's sandbox.
    """
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    if isinstance(exc, AgentError):
        return Attribution(Origin.AGENT, ErrorKind.AGENT_ERROR, reason)
    if isinstance(exc, AgentHostError):
        return Attribution(Origin.ENVIRONMENT, ErrorKind.AGENT_HOST, reason)
    if isinstance(exc, GraderBroken):
        return Attribution(Origin.ENVIRONMENT, ErrorKind.GRADER_BROKEN, reason)
    if isinstance(exc, GradingError):
        return Attribution(Origin.ENVIRONMENT, ErrorKind.GRADER_SANDBOX, reason)
    if isinstance(exc, SandboxError):
        if health is not None and health.agent_could_cause:
            why = f"{reason} ({health.reason})" if health.reason else reason
            kind = ErrorKind.ENGINE_ERROR if health.alive else ErrorKind.SANDBOX_LOST
            return Attribution(Origin.AGENT, kind, why)
        if health is not None and not health.alive:
            return Attribution(Origin.ENVIRONMENT, ErrorKind.SANDBOX_LOST, f"{reason} ({health.reason})")
        return Attribution(Origin.ENVIRONMENT, ErrorKind.ENGINE_ERROR, reason)
    if isinstance(exc, StoreError):
        return Attribution(Origin.ENVIRONMENT, ErrorKind.STORE_ERROR, reason)
    return Attribution(Origin.ENVIRONMENT, ErrorKind.RGYM_ERROR, f"{type(exc).__name__}: {reason}")
