"""The README's task catalogue, ``rgym tasks list --format md``: generated from the task specs and from the
measurements ``rgym tasks verify --measure`` writes into each task folder (``measured.json``), never from a
local trace store, so every clone prints the same table."""

from __future__ import annotations

from collections.abc import Iterable

from gym_core.errors import TaskSpecError
from gym_core.tasks.loader import Task
from gym_core.tasks.measured import MEASURE_K, Measured, read_measured

HEADERS = (
    "task",
    "paper",
    "area",
    "metric",
    "baseline → reference",
    f"tuner pass@{MEASURE_K}",
    f"tuner pass^{MEASURE_K}",
)

NOT_MEASURED = "not measured"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _score(value: float) -> str:
    return f"{value:.4g}"


def _measured_cells(task: Task) -> tuple[str, str]:
    try:
        measured: Measured | None = read_measured(task)
    except TaskSpecError:
        return "invalid measured.json", "invalid measured.json"
    if measured is None:
        return NOT_MEASURED, NOT_MEASURED
    tuner = measured.tuner
    stale = "" if measured.is_current(task) else " (stale)"
    at = "n/a" if tuner.pass_at_k is None else f"{tuner.pass_at_k:.2f}"
    hat = "n/a" if tuner.pass_hat_k is None else f"{tuner.pass_hat_k:.2f}"
    if tuner.k != MEASURE_K:
        at, hat = f"{at} (k={tuner.k})", f"{hat} (k={tuner.k})"
    return at + stale, hat + stale


def catalogue_row(task: Task) -> tuple[str, ...]:
    """One task's cells, in the order of :data:`HEADERS`."""
    spec = task.spec
    paper = spec.paper
    title = f"[{_cell(paper.title)}]({paper.url})" if paper.url else _cell(paper.title)
    arrow = "↓" if spec.metric.direction == "minimize" else "↑"
    at, hat = _measured_cells(task)
    return (
        f"`{spec.id}`",
        f"{title}, {_cell(paper.venue)} {paper.year}",
        _cell(spec.area) if spec.area else "",
        f"{_cell(spec.metric.name)} {arrow}",
        f"{_score(spec.baseline.score)} → "
        + (_score(spec.reference.score) if spec.reference else "no reference"),
        at,
        hat,
    )


def render_catalogue(tasks: Iterable[Task]) -> str:
    """The catalogue as a Markdown table, tasks sorted by id."""
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    for task in sorted(tasks, key=lambda t: t.id):
        lines.append("| " + " | ".join(catalogue_row(task)) + " |")
    return "\n".join(lines) + "\n"
