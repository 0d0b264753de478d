"""The input of scoring: one run of k attempts, as plain frozen dataclasses.

The trace store's adapter builds these; scoring never touches the store, so every metric can be tested
on hand-made data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FINISHED_STATUSES = frozenset({"submitted", "truncated", "crashed"})
"""Episode statuses that count as a finished attempt (n). ``interrupted`` and ``running`` are pending."""

FAILURE_KINDS = ("crashed", "timed_out", "oom", "invalid_submission", "no_submission")
"""Every failure kind, in the order reports list them."""


@dataclass(frozen=True)
class EvalPoint:
    """One grader call within an episode."""

    step_index: int
    t_s: float
    """Seconds since the episode's reset."""
    kind: str
    """``validate``, ``submit`` or ``auto`` (the auto-submit when a budget ran out)."""
    raw: float | None
    """The grader's raw score; None for an invalid submission."""
    normalized: float | None
    """Baseline 0, reference 1 (SPEC.md section 5); None for an invalid submission."""


@dataclass(frozen=True)
class Attempt:
    """One episode of a run."""

    episode_id: str
    index: int
    seed: int | None
    status: str
    """``submitted``, ``truncated``, ``crashed``, ``interrupted`` or ``running``."""
    failure_kind: str | None
    """None, or one of :data:`FAILURE_KINDS`."""
    final_raw: float | None
    final_normalized: float | None
    """None when the submission was invalid or missing; such an attempt counts as a failure."""
    succeeded: bool
    evaluations: tuple[EvalPoint, ...]
    wall_time_s: float
    wall_budget_s: float
    steps: int
    workspace_diff: dict[str, tuple[str, str]] | None = None
    """Path -> (initial text, final text) of changed, added (initial "") or removed (final "") text files;
    None when unknown."""

    @property
    def finished(self) -> bool:
        """True when the attempt ended (submitted, truncated or crashed) and so counts towards n."""
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True)
class RunData:
    """One run: k attempts of one agent on one task, with the task's scoring constants."""

    run_id: str
    task_id: str
    task_version: int
    task_checksum: str
    agent: str
    metric_name: str
    direction: str
    """``maximize`` or ``minimize``."""
    baseline_raw: float
    reference_raw: float
    success_threshold: float
    """On the normalized scale: an attempt succeeds when its final normalized score is at least this."""
    k: int
    """Attempts requested (K)."""
    perturbations: dict[str, str]
    """Empty for a clean run; otherwise the ``--perturb KEY=VAL`` pairs."""
    attempts: tuple[Attempt, ...]
    created_at: str | None = field(default=None)
    """When the run started (ISO 8601), shown in reports when known."""

    @property
    def perturbed(self) -> bool:
        """True when the run was made with ``--perturb``."""
        return bool(self.perturbations)
