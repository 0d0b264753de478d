"""The task.yaml schema (SPEC.md section 1), as frozen pydantic models.

Every field is documented with ``Field(description=...)`` so that ``TaskSpec.model_json_schema()`` is
a usable reference for benchmark maintainers.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TASK_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Direction(StrEnum):
    """Whether a larger or a smaller metric value is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class Network(StrEnum):
    """Whether the agent's sandbox may reach the network."""

    NONE = "none"
    EGRESS = "egress"


class Paper(_Frozen):
    """The paper the task comes from."""

    title: str = Field(min_length=1, description="Title of the paper.")
    venue: str = Field(min_length=1, description="Where it was published, e.g. ICML.")
    year: int = Field(ge=1900, le=2100, description="Year of publication.")
    url: str | None = Field(default=None, description="Where to read it, e.g. an arXiv abstract page.")


class Metric(_Frozen):
    """The number the grader reports."""

    name: str = Field(min_length=1, description="Name of the metric, e.g. ece or accuracy.")
    direction: Direction = Field(description="maximize or minimize.")

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b`` in this metric's direction."""
        return a > b if self.direction is Direction.MAXIMIZE else a < b


class Baseline(_Frozen):
    """The published or measured baseline, and how to reproduce it inside the workspace."""

    score: float = Field(description="The baseline's score on the metric; normalizes to 0.")
    command: str = Field(min_length=1, description="Shell command, run in /workspace, that reproduces it.")
    tolerance: float = Field(
        default=0.05,
        ge=0,
        description="Allowed relative difference when `rgym tasks verify` reproduces the score.",
    )


class Reference(_Frozen):
    """The withheld method: the human reference."""

    score: float = Field(description="The reference method's score on the metric; normalizes to 1.")


class Success(_Frozen):
    """When an episode counts as a success."""

    normalized_at_least: float = Field(
        default=0.0, description="An episode succeeds when its final normalized score is at least this."
    )


PositiveFloat = Annotated[float, Field(gt=0)]


class Budget(_Frozen):
    """Per-episode budgets and resource limits; a run may override any of them."""

    wall_time_s: float = Field(default=1800, gt=0, description="Wall time of an episode, counted from reset.")
    step_limit: int = Field(default=200, gt=0, description="Most actions an episode may take.")
    eval_limit: int = Field(default=20, ge=0, description="Most validate calls an episode may make.")
    command_timeout_s: float = Field(default=600, gt=0, description="Default timeout of one command.")
    cpus: float = Field(default=1.0, gt=0, description="CPU cores the sandbox may use.")
    memory_mb: int = Field(default=2048, gt=0, description="Memory limit of the sandbox in MiB.")
    pids: int = Field(default=256, gt=0, description="Most processes the sandbox may hold at once.")
    disk_mb: int = Field(default=2048, gt=0, description="Size limit of /workspace in MiB.")
    gpus: int = Field(default=0, ge=0, description="GPUs requested (passed to Docker device requests).")
    network: Network = Field(default=Network.NONE, description="none or egress.")

    @field_validator("wall_time_s", "command_timeout_s", "cpus")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    def override(self, changes: dict[str, Any]) -> Budget:
        """A copy with ``changes`` applied and validated; unknown keys are refused."""
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"unknown budget key(s): {', '.join(unknown)}")
        return type(self).model_validate({**self.model_dump(), **changes})


class Grader(_Frozen):
    """How a submission is graded, in a separate sandbox the agent never sees."""

    command: str = Field(min_length=1, description="Command run in the grader sandbox; eval/ is at /eval.")
    timeout_s: float = Field(default=300, gt=0, description="Timeout of the grader command.")
    submission: list[str] = Field(
        min_length=1, description="Workspace-relative files copied to /submission for grading."
    )

    @field_validator("submission")
    @classmethod
    def _relative_paths(cls, paths: list[str]) -> list[str]:
        for p in paths:
            if p.startswith("/") or ".." in p.split("/") or not p.strip():
                raise ValueError(f"{p!r} must be a relative path inside the workspace, without '..'")
        return paths


class TaskSpec(_Frozen):
    """One task.yaml."""

    id: str = Field(pattern=TASK_ID_PATTERN, description="Unique id: lowercase, digits and hyphens.")
    version: int = Field(ge=1, description="Bumped when the task changes in a way that changes scores.")
    title: str = Field(min_length=1, description="One-line title.")
    paper: Paper = Field(description="The paper the task comes from.")
    metric: Metric = Field(description="The metric and its direction.")
    baseline: Baseline = Field(description="The baseline's score and command.")
    reference: Reference = Field(description="The withheld method's score.")
    success: Success = Field(default_factory=Success, description="When an episode succeeds.")
    budget: Budget = Field(default_factory=Budget, description="Default budgets of an episode.")
    grader: Grader = Field(description="How submissions are graded.")
    description_variants: dict[str, str] = Field(
        default_factory=dict, description="Named rewordings of README.md, for perturbation runs."
    )
    knobs: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Tunable hyperparameters of the baseline: name -> candidate values (for the tuner agent).",
    )

    @field_validator("knobs")
    @classmethod
    def _knobs_have_values(cls, knobs: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in knobs.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"knob name {name!r} must be an identifier")
            if not values:
                raise ValueError(f"knob {name!r} needs at least one value")
        return knobs

    @model_validator(mode="after")
    def _reference_beats_baseline(self) -> Self:
        if not self.metric.better(self.reference.score, self.baseline.score):
            word = "above" if self.metric.direction is Direction.MAXIMIZE else "below"
            raise ValueError(
                f"reference.score ({self.reference.score}) must be {word} baseline.score "
                f"({self.baseline.score}) when the metric is {self.metric.direction.value}d"
            )
        return self

    @property
    def gym_id(self) -> str:
        """The Gymnasium id this task registers under."""
        return f"rgym/{self.id}-v{self.version}"

    def normalize(self, raw: float | None) -> float | None:
        """SPEC.md section 5: baseline -> 0, reference -> 1; None (invalid) stays None."""
        if raw is None or not math.isfinite(raw):
            return None
        span = self.reference.score - self.baseline.score
        return (raw - self.baseline.score) / span + 0.0  # + 0.0 turns -0.0 into 0.0

    def succeeded(self, normalized: float | None) -> bool:
        """True when a final normalized score counts as a success."""
        return normalized is not None and normalized >= self.success.normalized_at_least
