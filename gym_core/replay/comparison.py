"""How a replayed episode is compared with its recording: per step, and by the final score.

A step *diverges* when its exit code differs or its output is less than :data:`SIMILAR` alike (difflib
ratio over the first :data:`COMPARE_CHARS` characters, after the sandbox's own caps).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

SIMILAR = 0.9
"""Outputs at least this alike (0-1) count as the same."""
COMPARE_CHARS = 8192
"""Characters of each output compared (long outputs: the head is what differs in practice)."""


def similarity(a: str, b: str) -> float:
    """How alike two outputs are, from 0 (nothing in common) to 1 (the same), over their first characters."""
    a, b = a[:COMPARE_CHARS], b[:COMPARE_CHARS]
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class StepDivergence:
    """One replayed step beside its recording."""

    index: int
    tool: str
    recorded_exit: int | None
    replayed_exit: int | None
    similarity: float
    """:func:`similarity` of the recorded and the replayed output."""
    action_incomplete: bool = False
    """The recorded action was replayed cut: its full text was not kept (the episode's artifact quota)."""

    @property
    def diverged(self) -> bool:
        """True when the exit codes differ or the outputs are less than :data:`SIMILAR` alike."""
        return self.recorded_exit != self.replayed_exit or self.similarity < SIMILAR


@dataclass
class ReplayReport:
    """What the replay found."""

    episode_id: str
    steps: list[StepDivergence] = field(default_factory=list)
    recorded_final: float | None = None
    replayed_final: float | None = None
    task_changed: bool = False
    """True when the task's folder changed since the episode ran (its checksum differs)."""

    @property
    def diverged_steps(self) -> int:
        """How many replayed steps diverged from their recording."""
        return sum(s.diverged for s in self.steps)

    @property
    def score_difference(self) -> float | None:
        """Replayed minus recorded final raw score; None when either is missing."""
        if self.recorded_final is None or self.replayed_final is None:
            return None
        return self.replayed_final - self.recorded_final
