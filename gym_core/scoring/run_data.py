"""The input of scoring: one run of k attempts, as plain frozen dataclasses.

The trace store's adapter builds these; scoring never touches the store, so every metric can be tested
on hand-made data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gym_core.outcomes import EPISODE_DONE_STATUSES, FailureKind, Origin

FINISHED_STATUSES = EPISODE_DONE_STATUSES
"""Episode statuses that count as a finished attempt (n). ``interrupted`` and ``running`` are pending."""

FAILURE_KINDS: tuple[str, ...] = tuple(kind.value for kind in FailureKind)
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
    """Baseline 0, reference 1 (docs/metrics.md); None for an invalid submission or a task without a
    reference."""


@dataclass(frozen=True)
class FailedTry:
    """An earlier try of an attempt that failed from the environment and was retried."""

    kind: str
    """What went wrong (an ``ErrorKind`` value)."""
    reason: str


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
    origin: str | None = None
    """``agent`` or ``environment``: whose doing the end was (None: unknown, counted as the agent's)."""
    error_kind: str | None = None
    """What went wrong when it ended on an error (an ``ErrorKind`` value)."""
    retried: tuple[FailedTry, ...] = ()
    """Earlier tries that failed from the environment and were retried; the attempt is its last try."""
    executed_files: frozenset[str] | None = None
    """Workspace files its trace shows it executed, with the local modules and scripts they import or run
    (``gym_core.scoring.method_code.executed_files``); None when unknown or when the trace names none.
    Method consistency counts only these of its changed code files, or every changed code file when None."""

    @property
    def finished(self) -> bool:
        """True when the attempt ended (submitted, truncated or crashed)."""
        return self.status in FINISHED_STATUSES

    @property
    def excluded(self) -> bool:
        """True when its last try still failed from the environment: left out of n, counted apart."""
        return self.finished and self.origin == Origin.ENVIRONMENT

    @property
    def tries(self) -> int:
        """Episodes this attempt took: 1, plus one per environment failure retried."""
        return 1 + len(self.retried)


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
    reference_raw: float | None
    """None for a task without a reference: its metrics are on the raw scale (see :attr:`has_reference`)."""
    success_threshold: float
    """On the normalized scale: an attempt succeeds when its final normalized score is at least this.
    Without a reference an attempt succeeds when its final raw score beats ``baseline_raw``."""
    k: int
    """Attempts requested (K)."""
    perturbations: dict[str, str]
    """Empty for a clean run; otherwise the ``--perturb KEY=VAL`` pairs."""
    attempts: tuple[Attempt, ...]
    created_at: str | None = field(default=None)
    """When the run started (ISO 8601), shown in reports when known."""
    baseline_public_raw: float | None = None
    """The baseline's public-split score (validate calls grade that split); None when unknown."""
    self_reported: bool = False
    """The task's grader scores what the agent itself wrote (no hidden data): not tamper-proof."""
    known_consistency: tuple[float, int] | None = None
    """Method consistency and how many attempts it compared, when already known (the trace store caches
    it per run); None: computed from the attempts' workspace diffs."""

    @property
    def has_reference(self) -> bool:
        """False for a task with ``reference: null``: scores are raw, success means beating the baseline."""
        return self.reference_raw is not None

    @property
    def higher_is_better(self) -> bool:
        """Direction of :meth:`score` values: normalized scores always rise; raw ones follow the metric."""
        return self.has_reference or self.direction == "maximize"

    def score(self, raw: float | None, normalized: float | None) -> float | None:
        """The value metrics use: the normalized score, or the raw one for a task without a reference."""
        return normalized if self.has_reference else raw

    def gain(self, value: float, *, public: bool) -> float:
        """How far a :meth:`score` value is above the baseline of its split, in the better direction.

        Normalized scores already are (baseline 0); a raw score is measured from the split's baseline.
        """
        if self.has_reference:
            return value
        base = (
            self.baseline_public_raw if public and self.baseline_public_raw is not None else self.baseline_raw
        )
        return value - base if self.direction == "maximize" else base - value

    @property
    def perturbed(self) -> bool:
        """True when the run was made with ``--perturb``."""
        return bool(self.perturbations)
