"""``rgym replay --execute``: re-run an episode's recorded actions in a fresh sandbox and compare.

Each recorded step is replayed in order and compared with its recording (see
:mod:`gym_core.replay.comparison`); the final score is compared with the recorded one. Nothing is written to
the store: a replay is an audit, not an attempt.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from gym_core.env.perturbations import Perturbations
from gym_core.env.research_env import ResearchEnv
from gym_core.replay.comparison import ReplayReport, StepDivergence, similarity
from gym_core.store import TraceStore
from gym_core.tasks.discovery import find_recorded_task
from gym_core.tasks.loader import Task


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
    # The recorded budget already includes budget_scale: replay under it, without scaling it again.
    perturb = Perturbations.parse(run.perturbations).without_budget_scale()
    env = ResearchEnv(task, backend=run.backend, record=False, budget=run.budget, perturb=perturb)
    try:
        env.reset(seed=episode.seed)
        with console.status(f"replaying {len(recorded)} step(s) of {episode.id}...") as status:
            for step in recorded:
                status.update(f"replaying step {step.index + 1}/{len(recorded)}...")
                # A long write_file content is cut in the step row; the full text is an artifact.
                action, not_kept = store.get_step_action(episode.id, step.index)
                obs, _, terminated, truncated, info = env.step(action)
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
                        similarity(full, obs["output"]),
                        action_incomplete=bool(not_kept),
                    )
                )
                if terminated or truncated:
                    report.replayed_final = info.get("final_raw_score")
                    break
    finally:
        env.interrupt("the replay ended")  # the replay's own end: nothing more is graded
        env.close()
    _print(report, console)
    return report


def _print(report: ReplayReport, console: Console) -> None:
    table = Table(title=f"replay of {report.episode_id}", title_justify="left")
    for column in ("step", "tool", "exit (recorded)", "exit (replay)", "output alike", ""):
        table.add_column(column, justify="right" if column.startswith(("exit", "output", "step")) else "left")
    for s in report.steps:
        mark = "[red]diverged[/]" if s.diverged else "[green]same[/]"
        if s.action_incomplete:
            mark += " [yellow](action replayed cut: its full text was past the artifact quota)[/]"
        table.add_row(
            str(s.index), s.tool, str(s.recorded_exit), str(s.replayed_exit), f"{s.similarity:.0%}", mark
        )
    console.print(table)
    diff = report.score_difference
    final = f"final score: recorded {report.recorded_final}, replayed {report.replayed_final}" + (
        f" (difference {diff:+.4g})" if diff is not None else ""
    )
    console.print(f"{report.diverged_steps} of {len(report.steps)} step(s) diverged; {final}")
