"""rgym's built-in agents, and the protocol a user's own agent keeps.

Actions are built with :func:`bash`, :func:`write_file`, :func:`read_file`, :func:`validate` and :func:`submit`
(re-exported from :mod:`gym_core.actions`, their one definition). Write your own agent by subclassing
:class:`BaseAgent` (only ``act`` is required) and run it with
``rgym run TASK --agent module:pkg.mod:Class``; see docs/agents.md.
"""

from __future__ import annotations

from gym_core.actions import (
    SUBMIT,
    TOOL_NAMES,
    action_problem,
    bash,
    read_file,
    submit,
    validate,
    write_file,
)
from rgym_agents.base import (
    Action,
    Agent,
    BaseAgent,
    Observation,
    Plan,
    PlanAgent,
    TaskInfo,
)
from rgym_agents.loader import AGENT_NAMES, AgentFactory, agent_factory, ensure_agent, load_agent

__all__ = [
    "AGENT_NAMES",
    "SUBMIT",
    "TOOL_NAMES",
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
    "bash",
    "ensure_agent",
    "load_agent",
    "read_file",
    "submit",
    "validate",
    "write_file",
]
