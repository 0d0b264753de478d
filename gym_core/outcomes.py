"""The closed sets that describe how runs, episodes and evaluations end, defined once.

The trace store stores their values, scoring counts them and reports print them. Each is a ``StrEnum``, so a
member equals its string value (``EpisodeStatus.SUBMITTED == "submitted"``) and JSON shows the plain value.
"""

from __future__ import annotations

from enum import StrEnum


class EpisodeStatus(StrEnum):
    """Where an episode (one attempt) stands."""

    RUNNING = "running"
    SUBMITTED = "submitted"
    """The agent submitted (``terminated``)."""
    TRUNCATED = "truncated"
    """A budget ran out, or the agent ended the episode early (``reset()``, ``close()``, idling until the server
    reaped it); the workspace was auto-submitted and the attempt counts."""
    CRASHED = "crashed"
    """The episode ended on an error (the agent's or the environment's)."""
    INTERRUPTED = "interrupted"
    """Cut short by the harness (Ctrl-C or SIGTERM of the runner, a killed or crashed process, the server
    shutting down), never by the agent; pending, and ``rgym resume`` runs it again."""

    @property
    def final(self) -> bool:
        """True for every status but running."""
        return self is not EpisodeStatus.RUNNING

    @property
    def done(self) -> bool:
        """True when the attempt finished for good and counts towards n (interrupted ones are re-run)."""
        return self in _DONE


_DONE = frozenset({EpisodeStatus.SUBMITTED, EpisodeStatus.TRUNCATED, EpisodeStatus.CRASHED})

EPISODE_FINAL_STATUSES = frozenset(s for s in EpisodeStatus if s.final)
EPISODE_DONE_STATUSES = _DONE


class RunStatus(StrEnum):
    """Where a run (k attempts) stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


RUN_FINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.INTERRUPTED, RunStatus.FAILED})


class FailureKind(StrEnum):
    """Why a finished attempt failed, in the order reports list them."""

    CRASHED = "crashed"
    TIMED_OUT = "timed_out"
    OOM = "oom"
    INVALID_SUBMISSION = "invalid_submission"
    NO_SUBMISSION = "no_submission"


class EvaluationKind(StrEnum):
    """What asked for a grading."""

    VALIDATE = "validate"
    """The agent's validate call (public split)."""
    SUBMIT = "submit"
    """The agent's submit (private split)."""
    AUTO = "auto"
    """The auto-submit when a budget ran out (private split)."""


class RunSource(StrEnum):
    """What created a run: ``rgym run`` (resumable) or the Python API (``gym.make``, ``ResearchEnv``)."""

    CLI = "rgym run"
    PYTHON_API = "python-api"


class Origin(StrEnum):
    """Whose failure an ended attempt is: the rule is that whatever the agent's input can cause is the agent's."""

    AGENT = "agent"
    ENVIRONMENT = "environment"
    """rgym or the machine: retried (``--retries``), and excluded from pass@k and pass^k if it persists."""


class ErrorKind(StrEnum):
    """What went wrong, for the harness-reliability section of reports (environment failures by kind)."""

    SANDBOX_LOST = "sandbox_lost"
    """The agent's sandbox died or vanished, not by anything the agent could do (e.g. killed from outside)."""
    ENGINE_ERROR = "engine_error"
    """The sandbox engine refused or failed an operation (an exec refused, the engine unreachable)."""
    GRADER_SANDBOX = "grader_sandbox"
    """The grader's sandbox could not be started."""
    GRADER_BROKEN = "grader_broken"
    """The grader failed twice on the submission and also on the task's reference submission."""
    STORE_ERROR = "store_error"
    """The trace store failed."""
    RGYM_ERROR = "rgym_error"
    """An exception in rgym's own code."""
    AGENT_HOST = "agent_host"
    """rgym could not start the agent's own process on the host (no free uid, a full disk, no bubblewrap)."""
    AGENT_ERROR = "agent_error"
    """The agent raised, returned no action or could not be built."""
