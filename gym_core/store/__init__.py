"""The trace store (docs/api.md, "Trace store"): runs, episodes, steps, evaluations and artifacts, durable on return.

Open it with :func:`open_store`; see :class:`TraceStore` for the whole API.
"""

from __future__ import annotations

from gym_core.outcomes import (
    EPISODE_DONE_STATUSES,
    EPISODE_FINAL_STATUSES,
    RUN_FINAL_STATUSES,
    EpisodeStatus,
    EvaluationKind,
    RunStatus,
)
from gym_core.store.inline import INLINE_TEXT_CAP
from gym_core.store.records import EpisodePublic, EvaluationPublic, RunPublic, StepPublic
from gym_core.store.trace_store import TraceStore, open_store

__all__ = [
    "EPISODE_DONE_STATUSES",
    "EPISODE_FINAL_STATUSES",
    "INLINE_TEXT_CAP",
    "RUN_FINAL_STATUSES",
    "EpisodePublic",
    "EpisodeStatus",
    "EvaluationKind",
    "EvaluationPublic",
    "RunPublic",
    "RunStatus",
    "StepPublic",
    "TraceStore",
    "open_store",
]
