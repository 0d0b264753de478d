"""Live progress of a run: one bar per attempt (elapsed of the wall budget, steps, best score so far)."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from gym_core.runner.attempt import StepProgress

_STATUS_STYLE = {"submitted": "green", "truncated": "yellow", "crashed": "red", "interrupted": "red"}


class RunProgress:
    """Thread-safe rich progress bars for the attempts of one run."""

    def __init__(self, *, attempts: list[int], wall_budget_s: float, console: Console | None = None) -> None:
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
            "all attempts", total=len(attempts), clock="", steps=0, best="", status=""
        )
        self._bars: dict[int, TaskID] = {}
        for index in attempts:
            self._bars[index] = self._progress.add_task(
                f"attempt {index}",
                total=wall_budget_s,
                clock=self._clock(0.0),
                steps=0,
                best="  -  ",
                status="[dim]waiting[/]",
                start=False,
            )

    def _clock(self, elapsed: float) -> str:
        return f"{elapsed:6.0f}s/{self.wall_budget_s:.0f}s"

    def update(self, event: StepProgress) -> None:
        """Called by attempts after each step."""
        with self._lock:
            bar = self._bars.get(event.index)
            if bar is None:
                return
            self._progress.start_task(bar)
            best = f"{event.best_normalized:+.3f}" if event.best_normalized is not None else "  -  "
            style = _STATUS_STYLE.get(event.status, "cyan")
            self._progress.update(
                bar,
                completed=min(event.elapsed_s, self.wall_budget_s),
                clock=self._clock(event.elapsed_s),
                steps=event.steps,
                best=best,
                status=f"[{style}]{event.status}[/]",
            )
            if event.done:
                self._progress.update(
                    bar, completed=self.wall_budget_s if event.status != "submitted" else event.elapsed_s
                )
                self._progress.stop_task(bar)
                self._progress.advance(self._overall)

    def started(self, index: int) -> None:
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
