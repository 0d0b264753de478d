"""``measured.json``: what ``rgym tasks verify --measure`` measured of a task, kept in the task's folder.

The README's task catalogue (``rgym tasks list --format md``) reads it, never a local trace store, so the
catalogue is the same on every clone. The file records the task checksum it was measured on (the checksum
leaves ``measured.json`` itself out), so a measurement of an older version of the task shows as stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gym_core.errors import Problem, TaskSpecError
from gym_core.tasks.loader import Task, display_path, validation_problems

MEASURED_FILE = "measured.json"
MEASURE_K = 5
"""Attempts of the tuner in one measurement: the catalogue shows pass@5 and pass^5."""


class TunerMeasurement(BaseModel):
    """One run of the tuner agent on the task, as ``rgym run TASK --agent tuner --runs 5`` would make it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str = Field(description="The agent spec measured (tuner).")
    k: int = Field(ge=1, description="Attempts requested.")
    n: int = Field(ge=0, description="Attempts that finished.")
    c: int = Field(ge=0, description="Attempts that succeeded.")
    pass_at_k: float | None = Field(description="pass@k; null when fewer than k attempts finished.")
    pass_hat_k: float | None = Field(description="pass^k; null when fewer than k attempts finished.")
    best_of_k: float | None = Field(description="Best final normalized score.")
    mean: float | None = Field(description="Mean final normalized score of the valid attempts.")
    wall_time_s: float = Field(ge=0, description="Wall time of the whole run.")


class Measured(BaseModel):
    """The content of measured.json."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    task_version: int
    task_checksum: str = Field(description="Checksum of the task folder measured (without measured.json).")
    measured_at: str = Field(description="When, ISO 8601 UTC.")
    rgym_version: str
    backend: str
    seed: int
    tuner: TunerMeasurement

    def is_current(self, task: Task) -> bool:
        """True when it was measured on this very version of the task."""
        return self.task_checksum == task.checksum


def read_measured(task: Task) -> Measured | None:
    """The task's measured.json, or None when it has none.

    Raises:
        TaskSpecError: the file exists but is not a valid measurement.
    """
    path = task.root / MEASURED_FILE
    if not path.is_file():
        return None
    label = display_path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaskSpecError(
            [
                Problem(
                    label, "", f"is not readable JSON ({exc}); re-run `rgym tasks verify {task.id} --measure`"
                )
            ]
        ) from None
    try:
        return Measured.model_validate(data)
    except ValidationError as exc:
        raise TaskSpecError(validation_problems(exc, label)) from None


def write_measured(task: Task, measured: Measured) -> Path:
    """Write measured.json into the task folder (sorted keys, one trailing newline: stable diffs)."""
    path = task.root / MEASURED_FILE
    path.write_text(
        json.dumps(measured.model_dump(mode="json"), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path
