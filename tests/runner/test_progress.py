"""The run progress bars: the "best" column shows the normalized score, or the raw one for a task without a
reference (``reference: null``), with the metric's direction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gym_core.env.research_env import ResearchEnv
from gym_core.runner.attempt import StepProgress, run_attempt
from gym_core.runner.progress import RunProgress, best_label
from gym_core.store import open_store
from rgym_agents.loader import load_agent

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "tiny-mean"


def _event(**kw: object) -> StepProgress:
    return StepProgress(index=0, steps=3, elapsed_s=1.0, **kw)  # type: ignore[arg-type]


def test_best_is_normalized_else_raw_with_the_direction_else_a_dash() -> None:
    assert best_label(_event(best_normalized=0.25, best_raw=3.0)) == "+0.250"
    assert best_label(_event(best_normalized=None, best_raw=0.8125, maximize=True)) == "0.8125 max"
    assert best_label(_event(best_normalized=None, best_raw=2.0, maximize=False)) == "2 min"
    assert best_label(_event(best_normalized=None)) == "  -  "


def test_a_bar_of_a_task_without_reference_shows_the_best_raw_score() -> None:
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    progress = RunProgress(attempts=[0], wall_budget_s=60, console=Console(file=out, width=140))
    with progress:
        progress.update(_event(best_normalized=None, best_raw=1.5, maximize=False))
    assert "best 1.5 min" in out.getvalue()


def _no_reference_copy(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    spec = yaml.safe_load((root / "task.yaml").read_text())
    spec["reference"] = None
    spec.pop("success", None)
    spec.pop("exploits", None)
    (root / "task.yaml").write_text(yaml.safe_dump(spec))
    return root


@pytest.mark.slow
def test_an_attempt_reports_the_best_raw_score_in_the_metrics_direction(tmp_path: Path) -> None:
    # abs_error is minimized: public split mean 9, so guesses 12, 9, 20 validate to 3, 0, 11; best is 0.
    script = tmp_path / "play.jsonl"
    actions = []
    for guess in (12, 9, 20):
        actions += [
            {"tool": "write_file", "path": "answer.txt", "content": f"{guess}\n"},
            {"tool": "validate"},
        ]
    script.write_text("\n".join(json.dumps(a) for a in actions) + "\n")
    store = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    env = ResearchEnv(_no_reference_copy(tmp_path), backend="local", store=store)
    events: list[StepProgress] = []
    try:
        result = run_attempt(env, load_agent(f"script:{script}"), index=0, seed=0, on_step=events.append)
    finally:
        env.close()
        store.close()
    assert result.status == "submitted"
    raws = [e.best_raw for e in events]
    assert 3.0 in raws and raws[-1] == 0.0  # 20 (then the private 10) never replaced the best 0
    assert all(e.best_normalized is None and e.maximize is False for e in events)
    assert best_label(events[-1]) == "0 min"
