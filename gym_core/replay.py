"""``rgym replay --execute``: re-run an episode's recorded actions in a fresh sandbox and compare.

Each recorded step is replayed in order; a step *diverges* when its exit code differs or its output is
less than :data:`SIMILAR` alike (difflib ratio, after the sandbox's own caps). The final score is
compared with the recorded one. Nothing is written to the store: a replay is an audit, not an attempt.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from gym_core.env.research_env import ResearchEnv
from gym_core.store import TraceStore
from gym_core.tasks.discovery import find_recorded_task
from gym_core.tasks.loader import Task

#: Outputs at least this alike (0-1) count as the same.
SIMILAR = 0.9
#: Characters of each output compared (long outputs: the head is what differs in practice).
COMPARE_CHARS = 8192


@dataclass(frozen=True)
class StepDivergence:
    """One replayed step beside its recording."""

    index: int
    tool: str
    recorded_exit: int | None
    replayed_exit: int | None
    similarity: float

    @property
    def diverged(self) -> bool:
        return self.recorded_exit != self.replayed_exit or self.similarity < SIMILAR


@dataclass
class ReplayReport:
    """What the replay found."""

    episode_id: str
    steps: list[StepDivergence] = field(default_factory=list)
    recorded_final: float | None = None
    replayed_final: float | None = None
    task_changed: bool = False

    @property
    def diverged_steps(self) -> int:
        return sum(s.diverged for s in self.steps)

    @property
    def score_difference(self) -> float | None:
        if self.recorded_final is None or self.replayed_final is None:
            return None
        return self.replayed_final - self.recorded_final


def _similarity(a: str, b: str) -> float:
    a, b = a[:COMPARE_CHARS], b[:COMPARE_CHARS]
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _task(store: TraceStore, run_id: str) -> tuple[Task, bool]:
    run = store.get_run(run_id)
    task = find_recorded_task(run.task_id, run.config.get("task_root"))
    return task, task.checksum != run.task_checksum


def execute_replay(store: TraceStore, episode_id: str, *, console: Console | None = None) -> ReplayReport:
    """Replay ``episode_id`` and print a per-step comparison; returns the report."""
    console = console or Console()
    episode = store.get_episode(episode_id)
    run = store.get_run(episode.run_id)
    task, changed = _task(store, run.id)
    if changed:
        console.print(
            f"[yellow]warning: task {task.id} changed since this episode ran; differences may come from that[/]"
        )
    report = ReplayReport(episode.id, recorded_final=episode.final_raw, task_changed=changed)
    recorded = store.list_steps(episode.id)
    env = ResearchEnv(task, backend=run.backend, record=False, budget=run.budget, perturb=run.perturbations)
    try:
        env.reset(seed=episode.seed)
        with console.status(f"replaying {len(recorded)} step(s) of {episode.id}...") as status:
            for step in recorded:
                status.update(f"replaying step {step.index + 1}/{len(recorded)}...")
                obs, _, terminated, truncated, info = env.step(step.action)
                full = (
                    store.get_step_output(episode.id, step.index)
                    if step.overflow
                    else str(step.observation.get("output") or "")
                )
                tool = step.action.get("tool", "?") if isinstance(step.action, dict) else "(raw)"
                report.steps.append(
                    StepDivergence(
                        step.index,
                        str(tool),
                        step.exit_code,
                        obs["exit_code"],
                        _similarity(full, obs["output"]),
                    )
                )
                if terminated or truncated:
                    report.replayed_final = info.get("final_raw_score")
                    break
    finally:
        env.close()
    _print(report, console)
    return report


def _print(report: ReplayReport, console: Console) -> None:
    table = Table(title=f"replay of {report.episode_id}", title_justify="left")
    for column in ("step", "tool", "exit (recorded)", "exit (replay)", "output alike", ""):
        table.add_column(column, justify="right" if column.startswith(("exit", "output", "step")) else "left")
    for s in report.steps:
        mark = "[red]diverged[/]" if s.diverged else "[green]same[/]"
        table.add_row(
            str(s.index), s.tool, str(s.recorded_exit), str(s.replayed_exit), f"{s.similarity:.0%}", mark
        )
    console.print(table)
    diff = report.score_difference
    final = f"final score: recorded {report.recorded_final}, replayed {report.replayed_final}" + (
        f" (difference {diff:+.4g})" if diff is not None else ""
    )
    console.print(f"{report.diverged_steps} of {len(report.steps)} step(s) diverged; {final}")
