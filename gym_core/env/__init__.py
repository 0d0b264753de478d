"""The Gymnasium environment: actions, observations, budgets and perturbations."""

from __future__ import annotations

from gym_core.actions import Action, parse_action
from gym_core.env.perturbations import Perturbations
from gym_core.env.research_env import ResearchEnv

__all__ = ["Action", "Perturbations", "ResearchEnv", "parse_action"]
