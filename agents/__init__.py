"""rgym's built-in agents, and the protocol a user's own agent keeps.

Write your own by subclassing :class:`BaseAgent` (only ``act`` is required) and run it with
``rgym run TASK --agent module:pkg.mod:Class``; see docs/agents.md.
"""

from __future__ import annotations

from agents.base import (
    SUBMIT,
    TOOLS,
    Action,
    Agent,
    BaseAgent,
    Observation,
    Plan,
    PlanAgent,
    TaskInfo,
    action_problem,
)
from agents.loader import AGENT_NAMES, AgentFactory, agent_factory, ensure_agent, load_agent

__all__ = [
    "AGENT_NAMES",
    "SUBMIT",
    "TOOLS",
    "Action",
    "Agent",
    "AgentFactory",
    "BaseAgent",
    "Observation",
    "Plan",
    "PlanAgent",
    "TaskInfo",
    "action_problem",
    "agent_factory",
    "ensure_agent",
    "load_agent",
]
