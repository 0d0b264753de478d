"""Live progress of a run: one bar per attempt (elapsed of the wall budget, steps, best score so far).

The best score is the normalized one (``+0.412``); a task without a reference has none, so its bar shows the
best raw score with the metric's direction instead (``0.7655 max``: higher is better; ``0.031 min``).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from gym_core.outcomes import EpisodeStatus
from gym_core.runner.attempt import StepProgress

_STATUS_STYLE = {
    EpisodeStatus.SUBMITTED: "green",
    EpisodeStatus.TRUNCATED: "yellow",
    EpisodeStatus.CRASHED: "red",
    EpisodeStatus.INTERRUPTED: "red",
}


def best_label(event: StepProgress) -> str:
    """The "best" column of a bar: the normalized score, else the raw one with its direction, else a dash."""
    if event.best_normalized is not None:
        return f"{event.best_normalized:+.3f}"
    if event.best_raw is not None:
        return f"{event.best_raw:.4g} {'max' if event.maximize else 'min'}"
    return "  -  "


class RunProgress:
    """Thread-safe rich progress bars for the attempts of one run, or of every run of a suite run.

    A bar is keyed by the attempt index (one run) or by ``(run id, index)`` (a suite run).
    """

    def __init__(
        self,
        *,
        attempts: list[int] | None = None,
        wall_budget_s: float = 0.0,
        console: Console | None = None,
    ) -> None:
        self.wall_budget_s = wall_budget_s
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("[bold]{task.description}", justify="right"),
            BarColumn(bar_width=28),
            TextColumn("{task.fields[clock]}"),
            TextColumn("steps {task.fields[steps]:>3}"),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self._overall = self._progress.add_task(
            "all attempts", total=0, clock="", steps=0, best="", status=""
        )
        self._bars: dict[Hashable, TaskID] = {}
        self._budgets: dict[Hashable, float] = {}
        for index in attempts or []:
            self.add(index, f"attempt {index}", wall_budget_s)

    def add(self, key: Hashable, label: str, wall_budget_s: float) -> None:
        """A bar for one more attempt, waiting to start."""
        with self._lock:
            self._budgets[key] = wall_budget_s
            self._bars[key] = self._progress.add_task(
                label,
                total=wall_budget_s,
                clock=self._clock(0.0, wall_budget_s),
                steps=0,
                best="  -  ",
                status="[dim]waiting[/]",
                start=False,
            )
            self._progress.update(self._overall, total=len(self._bars))

    @staticmethod
    def _clock(elapsed: float, budget: float) -> str:
        return f"{elapsed:6.0f}s/{budget:.0f}s"

    def update(self, event: StepProgress, key: Hashable | None = None) -> None:
        """Called by attempts after each step (``key`` defaults to the attempt index)."""
        key = event.index if key is None else key
        with self._lock:
            bar = self._bars.get(key)
            if bar is None:
                return
            budget = self._budgets[key]
            self._progress.start_task(bar)
            best = best_label(event)
            style = _STATUS_STYLE.get(event.status, "cyan")
            self._progress.update(
                bar,
                completed=min(event.elapsed_s, budget),
                clock=self._clock(event.elapsed_s, budget),
                steps=event.steps,
                best=best,
                status=f"[{style}]{event.status}[/]",
            )
            if event.done:
                self._progress.update(
                    bar,
                    completed=budget if event.status != EpisodeStatus.SUBMITTED else event.elapsed_s,
                )
                self._progress.stop_task(bar)
                self._progress.advance(self._overall)

    def retrying(self, index: Hashable, attempt: int, reason: str) -> None:
        """An attempt (its index or key) failed from the environment and starts again (its bar starts over)."""
        with self._lock:
            bar = self._bars.get(index)
            if bar is None:
                return
            self._progress.reset(bar, total=self._budgets[index], start=True)
            self._progress.update(
                bar, steps=0, best="  -  ", status=f"[yellow]retry {attempt}: {reason[:40]}[/]"
            )
            self._progress.advance(self._overall, -1)

    def started(self, index: Hashable) -> None:
        """An attempt began."""
        with self._lock:
            bar = self._bars.get(index)
            if bar is not None:
                self._progress.start_task(bar)
                self._progress.update(bar, status="[cyan]running[/]")

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()
