"""``noop``: submits at once. The floor every other agent is compared with."""

from __future__ import annotations

from gym_core.actions import SUBMIT
from rgym_agents.base import Action, BaseAgent, Observation


class NoopAgent(BaseAgent):
    """Submits the untouched workspace on its first step."""

    name = "noop"

    def act(self, observation: Observation) -> Action | str:
        """Always submit."""
        self.require_task()
        return dict(SUBMIT)
