"""``rgym replay --execute``: re-run an episode's recorded actions in a fresh sandbox and compare."""

from __future__ import annotations

from gym_core.replay.comparison import COMPARE_CHARS, SIMILAR, ReplayReport, StepDivergence, similarity
from gym_core.replay.execute import execute_replay

__all__ = ["COMPARE_CHARS", "SIMILAR", "ReplayReport", "StepDivergence", "execute_replay", "similarity"]
