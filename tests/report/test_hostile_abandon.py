"""An attempt the agent abandons must count: otherwise an agent drops every attempt that goes badly.

Through the Python API (``gym.make``) and over HTTP (``/api/envs``, an agent token), the agent calls
``reset()`` itself. Were ``reset()`` before the end to record the episode ``interrupted`` (pending, left out
of n), an agent that validates, sees a bad score and resets instead of submitting would keep only its good
attempts, and ``mean``, ``best_of_k`` and ``worst_of_k`` would be computed over the attempts it chose to
finish. An episode the agent ends early is ``truncated`` and graded; only the harness's own stops
(``env.interrupt()``) leave it pending (docs/api.md, "Ending an episode early").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.report.store_loader import load_run_data
from gym_core.scoring.metrics import compute_metrics
from gym_core.store import open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


@pytest.mark.slow  # two episodes
def test_an_attempt_abandoned_after_a_bad_validate_counts_as_a_failure(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'traces.db'}") as store:
        env = ResearchEnv(FIXTURE, backend="local", store=store)
        try:
            env.reset(seed=0)
            env.step({"tool": "write_file", "path": "answer.txt", "content": "19"})
            obs = env.step({"tool": "validate"})[0]
            assert obs["normalized_score"] < 0  # going badly: the agent resets rather than submit
            env.reset(seed=1)
            env.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
            assert env.step({"tool": "submit"})[4]["success"] is True
            run_id = env.run_id
        finally:
            env.close()
        assert run_id is not None
        metrics = compute_metrics(load_run_data(store, run_id))
    assert metrics.k == 2
    assert (metrics.n, metrics.c) == (2, 1), f"n={metrics.n} c={metrics.c} pending={metrics.n_pending}"


@pytest.mark.slow  # two episodes
def test_close_is_the_agents_end_and_interrupt_the_harnesss(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'traces.db'}") as store:
        closed = ResearchEnv(FIXTURE, backend="local", store=store)
        try:
            closed.reset(seed=0)
            closed.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
        finally:
            closed.close()  # before submitting: graded as it is, and it counts
        stopped = ResearchEnv(FIXTURE, backend="local", store=store)
        try:
            stopped.reset(seed=0)
            stopped.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
            stopped.interrupt("Ctrl-C")  # what the runner does on Ctrl-C: pending, for rgym resume
        finally:
            stopped.close()
        assert closed.run_id is not None and stopped.run_id is not None
        (by_agent,) = store.list_episodes(closed.run_id)
        (by_harness,) = store.list_episodes(stopped.run_id)
        assert (by_agent.status, by_agent.final_raw) == ("truncated", 0.0)
        assert [e.kind for e in store.list_evaluations(by_agent.id)] == ["auto"]
        assert store.list_steps(by_agent.id)[-1].action == "<closed by the agent>"
        assert compute_metrics(load_run_data(store, closed.run_id)).n == 1
        assert (by_harness.status, by_harness.final_raw) == ("interrupted", None)
        assert store.list_evaluations(by_harness.id) == []
        assert store.get_run(stopped.run_id).status == "interrupted"
        assert compute_metrics(load_run_data(store, stopped.run_id)).n_pending == 1
