"""The task.yaml schema (docs/tasks.md documents every field), as frozen pydantic models.

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


class Split(StrEnum):
    """Which half of the hidden data a grading uses: validate sees public, submit and auto-submit private."""

    PUBLIC = "public"
    PRIVATE = "private"


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

    score: float = Field(
        description="The baseline's score on the private split (submit, auto-submit); normalizes to 0."
    )
    public_score: float = Field(
        description="The baseline's score on the public split (validate); normalizes validate scores to 0."
    )
    command: str = Field(min_length=1, description="Shell command, run in /workspace, that reproduces it.")
    tolerance: float = Field(
        default=0.05,
        ge=0,
        description="Allowed relative difference when `rgym tasks verify` reproduces the score.",
    )


class Reference(_Frozen):
    """The withheld method: the human reference."""

    score: float = Field(description="The reference method's score on the private split; normalizes to 1.")
    public_score: float = Field(
        description="The reference method's score on the public split; normalizes validate scores to 1."
    )


class Success(_Frozen):
    """When an episode counts as a success."""

    normalized_at_least: float = Field(
        default=0.0,
        description=(
            "An episode succeeds when its final normalized score is at least this. A task without a "
            "reference has no normalized score: it must keep the default 0.0, and an episode succeeds when "
            "its final raw score beats baseline.score in the metric's direction."
        ),
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


class SubmissionKind(StrEnum):
    """What the agent submits: output files the grader reads, or code the grader runs."""

    FILES = "files"
    CODE = "code"


class Grader(_Frozen):
    """How a submission is graded, in a separate sandbox the agent never sees."""

    command: str = Field(min_length=1, description="Command run in the grader sandbox; eval/ is at /eval.")
    timeout_s: float = Field(default=300, gt=0, description="Timeout of the grader command.")
    submission: list[str] = Field(
        min_length=1, description="Workspace-relative files copied to /submission for grading."
    )
    submission_kind: SubmissionKind = Field(
        default=SubmissionKind.FILES,
        description=(
            "files: the grader reads the submitted files. code: the submission is a program (a policy, a "
            "strategy) that the grader runs as another user, who cannot read /eval (see docs/tasks.md)."
        ),
    )

    self_reported: bool = Field(
        default=False,
        description=(
            "True when the grader scores logs or results the agent wrote itself (no hidden data), as "
            "ResearchGym's graders do: such a score is not tamper-proof, and verify and reports say so."
        ),
    )

    @field_validator("submission")
    @classmethod
    def _relative_paths(cls, paths: list[str]) -> list[str]:
        for p in paths:
            if p.startswith("/") or ".." in p.split("/") or not p.strip():
                raise ValueError(f"{p!r} must be a relative path inside the workspace, without '..'")
        return paths


class Exploit(_Frozen):
    """A cheap trick that must not pay, played by `rgym tasks verify`."""

    name: str = Field(pattern=TASK_ID_PATTERN, description="Short name: lowercase, digits and hyphens.")
    agent: str = Field(
        min_length=1,
        description=(
            "An --agent spec. script:/module: paths are relative to the task folder, e.g. "
            "script:exploits/constant.jsonl or module:exploits/oracle.py:Oracle."
        ),
    )
    max_normalized: float = Field(
        description="Highest final (private split) normalized score the exploit may reach; at most the success bar."
    )
    runs: int = Field(
        default=1,
        ge=1,
        le=20,
        description="Attempts played in one run (a cross-attempt prober needs several).",
    )
    public_at_least: float | None = Field(
        default=None,
        description=(
            "Positive control: the exploit's best validate (public split) normalized score must reach this, "
            "which proves the trick really works where it can. None: no control."
        ),
    )

    @field_validator("max_normalized", "public_at_least")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


class TaskSpec(_Frozen):
    """One task.yaml."""

    id: str = Field(pattern=TASK_ID_PATTERN, description="Unique id: lowercase, digits and hyphens.")
    version: int = Field(ge=1, description="Bumped when the task changes in a way that changes scores.")
    title: str = Field(min_length=1, description="One-line title.")
    paper: Paper = Field(description="The paper the task comes from.")
    area: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "The research area, in a few words (e.g. uncertainty quantification, anomaly detection); shown in "
            "the task catalogue (`rgym tasks list --format md`)."
        ),
    )
    metric: Metric = Field(description="The metric and its direction.")
    baseline: Baseline = Field(description="The baseline's score and command.")
    reference: Reference | None = Field(
        description=(
            "The withheld method's scores, or null for a task that publishes none (e.g. one imported from "
            "MLGym): normalized scores are then null, success means beating the baseline, and reports show "
            "raw scores."
        )
    )
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
    exploits: list[Exploit] = Field(
        default_factory=list,
        description="Cheap tricks that must not pay; `rgym tasks verify` plays each and checks its score.",
    )
    blocked_urls: list[str] = Field(
        default_factory=list,
        description=(
            "URL patterns (``*`` wildcards) the agent must not reach where budget.network is egress: the "
            "paper, its code, their mirrors. Kept from ResearchGym's blocked_urls.yaml."
        ),
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
        if self.reference is None:
            if self.success.normalized_at_least != 0.0:
                raise ValueError(
                    "success.normalized_at_least needs a reference (it is on the normalized scale); with "
                    "reference: null remove it: success then means beating the baseline"
                )
            if self.exploits:
                raise ValueError(
                    "exploits need a reference (their bounds are normalized scores); with reference: null "
                    "declare none, or give the task a reference"
                )
            return self
        word = "above" if self.metric.direction is Direction.MAXIMIZE else "below"
        for field_name in ("score", "public_score"):
            ref, base = getattr(self.reference, field_name), getattr(self.baseline, field_name)
            if not self.metric.better(ref, base):
                raise ValueError(
                    f"reference.{field_name} ({ref}) must be {word} baseline.{field_name} "
                    f"({base}) when the metric is {self.metric.direction.value}d"
                )
        return self

    @model_validator(mode="after")
    def _exploits_below_success(self) -> Self:
        bar = self.success.normalized_at_least
        names: set[str] = set()
        for i, exploit in enumerate(self.exploits):
            if exploit.max_normalized > bar:
                raise ValueError(
                    f"exploits[{i}] ({exploit.name}): max_normalized {exploit.max_normalized:g} is above the "
                    f"success bar success.normalized_at_least {bar:g}; an exploit may never count as a success"
                )
            if exploit.name in names:
                raise ValueError(f"exploits[{i}]: the name {exploit.name!r} is used twice")
            names.add(exploit.name)
        return self

    @property
    def gym_id(self) -> str:
        """The Gymnasium id this task registers under."""
        return f"rgym/{self.id}-v{self.version}"

    def normalize(self, raw: float | None, split: Split = Split.PRIVATE) -> float | None:
        """Baseline -> 0, reference -> 1 on the split's own scores; None (invalid, or no reference) stays None."""
        if raw is None or not math.isfinite(raw) or self.reference is None:
            return None
        if split is Split.PUBLIC:
            base, ref = self.baseline.public_score, self.reference.public_score
        else:
            base, ref = self.baseline.score, self.reference.score
        return (raw - base) / (ref - base) + 0.0  # + 0.0 turns -0.0 into 0.0

    def scoring_constants(self) -> dict[str, object]:
        """What a report needs to score a run of this task; stored with every run, so reports stand alone."""
        return {
            "metric_name": self.metric.name,
            "direction": self.metric.direction.value,
            "baseline_raw": self.baseline.score,
            "reference_raw": self.reference.score if self.reference else None,
            "baseline_public_raw": self.baseline.public_score,
            "reference_public_raw": self.reference.public_score if self.reference else None,
            "success_threshold": self.success.normalized_at_least,
            "self_reported": self.grader.self_reported,
        }

    @property
    def has_reference(self) -> bool:
        """False for a task with ``reference: null``: no normalized scores, success = beating the baseline."""
        return self.reference is not None

    def succeeded(self, raw: float | None, split: Split = Split.PRIVATE) -> bool:
        """True when a final raw score counts as a success.

        With a reference: its normalized score reaches ``success.normalized_at_least``. Without one: it beats
        the split's baseline score in the metric's direction.
        """
        if raw is None or not math.isfinite(raw):
            return False
        if self.reference is None:
            base = self.baseline.public_score if split is Split.PUBLIC else self.baseline.score
            return self.metric.better(raw, base)
        normalized = self.normalize(raw, split)
        return normalized is not None and normalized >= self.success.normalized_at_least
