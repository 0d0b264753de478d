"""The trace store (SPEC.md section 7): runs, episodes, steps, evaluations and artifacts, durable on return.

Open it with :func:`open_store`; see :class:`TraceStore` for the whole API.
"""

from __future__ import annotations

from gym_core.store.records import EpisodePublic, EvaluationPublic, RunPublic, StepPublic
from gym_core.store.trace_store import (
    EPISODE_DONE_STATUSES,
    EPISODE_FINAL_STATUSES,
    INLINE_TEXT_CAP,
    RUN_FINAL_STATUSES,
    EpisodeStatus,
    EvaluationKind,
    FinalEpisodeStatus,
    RunStatus,
    TraceStore,
    open_store,
)

__all__ = [
    "EPISODE_DONE_STATUSES",
    "EPISODE_FINAL_STATUSES",
    "INLINE_TEXT_CAP",
    "RUN_FINAL_STATUSES",
    "EpisodePublic",
    "EpisodeStatus",
    "EvaluationKind",
    "EvaluationPublic",
    "FinalEpisodeStatus",
    "RunPublic",
    "RunStatus",
    "StepPublic",
    "TraceStore",
    "open_store",
]
