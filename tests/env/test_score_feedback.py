"""Score-only feedback: the agent learns the score, validity and a rejection's reason, nothing else.

Played as an agent would, through ``env.step()`` on real Docker sandboxes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.store import TraceStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
SECRET = "DIAGNOSTIC-hidden-mean-is-10"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _chatty_task(tmp_path: Path) -> Path:
    """tiny-mean whose grader prints diagnostics computed on the hidden data, as graders do."""
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    grade = (root / "eval" / "grade.py").read_text()
    grade = grade.replace(
        'print(json.dumps({"score": abs(value - mean)}))',
        f'print("{SECRET}", sorted(hidden))\nprint(json.dumps({{"score": abs(value - mean), "hidden_mean": mean}}))',
    )
    (root / "eval" / "grade.py").write_text(grade)
    return root


def _containers(run_id: str) -> list[Any]:
    import docker

    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": f"rgym.run={run_id}"}))
    finally:
        client.close()


def test_validate_and_submit_show_the_score_only_and_the_store_keeps_the_rest(
    docker_client: Any, store: TraceStore, tmp_path: Path
) -> None:
    env = ResearchEnv(_chatty_task(tmp_path), backend="docker", store=store)
    try:
        env.reset(seed=0)
        env.step({"tool": "bash", "command": "python baseline.py"})
        validated, _, _, _, v_info = env.step({"tool": "validate"})
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
        submitted, reward, terminated, _, s_info = env.step({"tool": "submit"})
    finally:
        env.close()
    assert validated["output"] == "[validate] abs_error = 4 (normalized 0.000)"
    assert submitted["output"] == "[submit] abs_error = 0 (normalized 1.000)"
    assert terminated and reward == 1.0
    for seen in (validated, submitted, v_info, s_info):
        text = repr(seen)
        assert SECRET not in text and "hidden_mean" not in text and "[10.0, 11.0, 12.0, 8.0" not in text
    kept = [e.grader_output for e in store.list_evaluations(s_info["episode_id"])]
    assert len(kept) == 2 and all(SECRET in text and "hidden_mean" in text for text in kept)


def test_junk_after_a_valid_validate_is_invalid_not_a_crash(docker_client: Any, store: TraceStore) -> None:
    env = ResearchEnv(FIXTURE, backend="docker", store=store)
    try:
        env.reset(seed=0)
        env.step({"tool": "bash", "command": "python baseline.py"})
        first, *_ = env.step({"tool": "validate"})
        env.step({"tool": "write_file", "path": "answer.txt", "content": "not a number"})
        second, _, terminated, truncated, _ = env.step({"tool": "validate"})
        assert first["score"] == 4.0 and second["score"] is None and second["exit_code"] == 1
        assert "answer.txt must hold one number" in second["output"]
        assert not terminated and not truncated  # the episode goes on
        final, reward, terminated, _, info = env.step({"tool": "submit"})
        run_id = env.run_id
    finally:
        env.close()
    assert terminated and reward == 0.0 and final["score"] is None
    episode = store.get_episode(info["episode_id"])
    assert episode.status == "submitted" and episode.failure_kind == "invalid_submission"
    assert episode.best_raw == 4.0 and episode.final_raw is None
    assert run_id is not None and _containers(run_id) == []


def test_an_exception_inside_step_stops_the_sandbox_and_leaves_no_container(
    docker_client: Any, store: TraceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gym_core.env import evaluation

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("injected fault in rgym's own code")

    env = ResearchEnv(FIXTURE, backend="docker", store=store)
    try:
        env.reset(seed=0)
        run_id, episode_id = env.run_id, env.episode_id
        assert run_id is not None and len(_containers(run_id)) == 1
        monkeypatch.setattr(evaluation.Evaluator, "evaluate", broken)
        with pytest.raises(RuntimeError, match="injected fault"):
            env.step({"tool": "validate"})
        assert _containers(run_id) == []
    finally:
        env.close()
    assert episode_id is not None
    episode = store.get_episode(episode_id)
    assert episode.status == "crashed" and "injected fault" in (episode.error or "")
