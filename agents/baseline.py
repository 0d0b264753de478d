"""``baseline``: runs the task's baseline command, then submits. Its score should match baseline.score."""

from __future__ import annotations

from rgym_agents.base import Observation, Plan, PlanAgent, TaskInfo


class BaselineAgent(PlanAgent):
    """Runs ``baseline.command`` in /workspace, then submits whatever it produced."""

    name = "baseline"

    def plan(self, task: TaskInfo, first: Observation) -> Plan:
        """One bash step with the baseline command; returning submits."""
        yield {"tool": "bash", "command": task.baseline_command}
