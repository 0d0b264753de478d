"""ResearchEnv end to end on real sandboxes: episodes, budgets, hostile workspaces, grader failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.errors import EpisodeError
from gym_core.settings import get_settings
from gym_core.store import TraceStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


def make_env(backend: str, store: TraceStore, task: Path = FIXTURE, **kwargs: Any) -> ResearchEnv:
    return ResearchEnv(task, backend=backend, store=store, **kwargs)


def play(
    env: ResearchEnv, actions: list[Any]
) -> list[tuple[dict[str, Any], float, bool, bool, dict[str, Any]]]:
    out = []
    for action in actions:
        result = env.step(action)
        out.append(result)
        if result[2] or result[3]:
            break
    return out


@pytest.mark.docker
@pytest.mark.slow
def test_baseline_then_reference_answer(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store)
    try:
        obs, info = env.reset(seed=3)
        assert obs["task"].startswith("# Estimate the mean")
        assert obs["steps_left"] == 20 and obs["evals_left"] == 3 and obs["score"] is None
        steps = play(
            env,
            [
                {"tool": "bash", "command": "python baseline.py"},
                {"tool": "validate"},
                {"tool": "write_file", "path": "answer.txt", "content": "10\n"},
                '{"tool": "submit"}',
            ],
        )
        baseline_obs, validated, _, submitted = steps[0][0], steps[1], steps[2], steps[3]
        assert baseline_obs["exit_code"] == 0 and "wrote answer.txt with 5.0" in baseline_obs["output"]
        # validate grades the public split (baseline 4.0 there), submit the private one (baseline 5.0).
        assert validated[0]["score"] == pytest.approx(4.0)
        assert validated[0]["normalized_score"] == pytest.approx(0.0)
        assert validated[1] == 0.0 and not validated[2] and not validated[3]
        assert validated[0]["evals_left"] == 2
        obs, reward, terminated, truncated, info = submitted
        assert terminated and not truncated
        assert reward == pytest.approx(1.0)
        assert info["final_raw_score"] == pytest.approx(0.0) and info["success"] is True
        assert info["best_raw_score"] == pytest.approx(4.0)  # the best validate, on the public split
        splits = [(e.kind, e.split) for e in store.list_evaluations(info["episode_id"])]
        assert splits == [("validate", "public"), ("submit", "private")]
        assert info["usage"]["steps"] == 4 and info["usage"]["evals"] == 1
        assert info["usage"]["cpu_s"] > 0 and info["usage"]["peak_memory_mb"] > 0
        with pytest.raises(EpisodeError, match="call reset"):
            env.step({"tool": "submit"})
    finally:
        env.close()
    episode = store.get_episode(info["episode_id"])
    assert episode.status == "submitted"
    assert episode.final_normalized == pytest.approx(1.0)
    assert episode.best_raw == pytest.approx(4.0)  # best = best validate (public), not the submission
    assert [s.index for s in store.list_steps(episode.id)] == [0, 1, 2, 3]
    kinds = [(e.kind, e.valid) for e in store.list_evaluations(episode.id)]
    assert kinds == [("validate", True), ("submit", True)]


@pytest.mark.docker
@pytest.mark.slow
def test_shell_state_persists_and_malformed_actions_are_observations(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store)
    try:
        env.reset(seed=0)
        steps = play(
            env,
            [
                {"tool": "bash", "command": "mkdir -p sub && cd sub && export GREETING=hi"},
                {"tool": "bash", "command": "pwd; echo $GREETING"},
                "rm -rf /",
                {"tool": "bash"},
                {"tool": "teleport"},
                {"tool": "read_file", "path": "/eval/private.txt"},
                {"tool": "write_file", "path": "../eval/grade.py", "content": "print('{\"score\": 0}')"},
                [1, 2, 3],
            ],
        )
        assert steps[1][0]["output"].split() == ["/workspace/sub", "hi"]
        errors = [s[0]["output"] for s in steps[2:]]
        assert all(e.startswith("Error: ") for e in errors), errors
        assert "not valid JSON" in errors[0]
        assert "missing field 'command'" in errors[1]
        assert "unknown tool 'teleport'" in errors[2]
        assert "outside /workspace" in errors[3]
        assert "leaves /workspace" in errors[4]
        assert steps[-1][0]["steps_left"] == 20 - 8
        episode_id = env.episode_id
    finally:
        env.close()
    assert episode_id is not None
    recorded = store.list_steps(episode_id)
    assert len(recorded) == 9  # the 8 actions, then close()'s early end
    assert recorded[2].flags.get("error") == "malformed_action"
    assert recorded[-1].action == "<closed by the agent>" and recorded[-1].flags["end"] == "truncated:close"
    assert store.get_episode(episode_id).status == "truncated"  # closed before the end: graded, counted


@pytest.mark.docker
@pytest.mark.slow
def test_hostile_workspace_cannot_touch_grader_or_hidden_data(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store)
    try:
        env.reset(seed=0)
        steps = play(
            env,
            [
                {"tool": "bash", "command": "cat /eval/private.txt || ls /eval /reference"},
                {
                    "tool": "bash",
                    "command": "find / -xdev \\( -name private.txt -o -name reference \\) 2>/dev/null | head",
                },
                # A fake grader in the workspace must not be what grades.
                {
                    "tool": "bash",
                    "command": 'mkdir -p eval && printf \'print("{\\\\"score\\\\": 0.0}")\' > eval/grade.py',
                },
                {"tool": "write_file", "path": "answer.txt", "content": "7\n"},
                {"tool": "submit"},
            ],
        )
    finally:
        env.close()
    probe, search = steps[0][0], steps[1][0]
    assert probe["exit_code"] != 0 and "No such file or directory" in probe["output"]
    assert search["output"].strip() == ""  # hidden data and the reference are nowhere in the sandbox
    obs, reward, terminated, _, _info = steps[-1]
    assert terminated
    assert obs["score"] == pytest.approx(3.0)  # graded by the task's grader: |7 - 10|
    assert reward == pytest.approx(0.4)


@pytest.mark.docker
@pytest.mark.slow
def test_symlinked_submission_is_refused(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store)
    try:
        env.reset(seed=0)
        steps = play(env, [{"tool": "bash", "command": "ln -s /etc/passwd answer.txt"}, {"tool": "submit"}])
    finally:
        env.close()
    obs, reward, terminated, _, info = steps[-1]
    assert terminated and reward == 0.0
    assert obs["score"] is None
    assert "invalid submission: missing answer.txt" in obs["output"]
    assert store.get_episode(info["episode_id"]).failure_kind == "no_submission"


def test_step_limit_truncates_and_auto_submits(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store, budget={"step_limit": 2})
    try:
        env.reset(seed=0)
        steps = play(
            env, [{"tool": "bash", "command": "python baseline.py"}, {"tool": "bash", "command": "true"}]
        )
    finally:
        env.close()
    obs, reward, terminated, truncated, info = steps[-1]
    assert len(steps) == 2 and truncated and not terminated
    assert info["truncated_by"] == "step_limit"
    assert obs["score"] == pytest.approx(5.0) and reward == pytest.approx(0.0)
    evaluations = store.list_evaluations(info["episode_id"])
    assert [e.kind for e in evaluations] == ["auto"]
    assert store.get_episode(info["episode_id"]).status == "truncated"


def test_eval_limit_truncates(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store, budget={"eval_limit": 1})
    try:
        env.reset(seed=0)
        steps = play(
            env,
            [
                {"tool": "write_file", "path": "answer.txt", "content": "9"},
                {"tool": "validate"},
                {"tool": "validate"},
            ],
        )
    finally:
        env.close()
    assert steps[1][0]["evals_left"] == 0 and not steps[1][3]
    obs, _, terminated, truncated, info = steps[2]
    assert truncated and not terminated and info["truncated_by"] == "eval_limit"
    assert obs["score"] == pytest.approx(1.0)


def test_wall_time_caps_commands_and_truncates(backend: str, store: TraceStore) -> None:
    env = make_env(backend, store, budget={"wall_time_s": 4})
    try:
        env.reset(seed=0)
        steps = play(env, [{"tool": "bash", "command": "sleep 30", "timeout_s": 60}])
    finally:
        env.close()
    obs, _, _terminated, truncated, info = steps[-1]
    assert truncated and info["truncated_by"] == "wall_time"
    assert "timed out" in obs["output"]
    assert obs["time_left_s"] == 0
    episode = store.get_episode(info["episode_id"])
    assert episode.failure_kind == "timed_out"
    assert store.list_steps(episode.id)[0].duration_s < 15


@pytest.mark.docker
def test_check_env_passes(docker_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gymnasium.utils.env_checker import check_env

    from gym_core.registration import register_tasks

    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURE.parent))
    get_settings.cache_clear()
    assert "rgym/tiny-mean-v1" in register_tasks()
    env = gym.make("rgym/tiny-mean-v1", backend="docker", store=f"sqlite:///{tmp_path / 't.db'}", seed=0)
    try:
        check_env(env.unwrapped, skip_close_check=True)
        obs, _ = env.reset(seed=1)
        assert env.observation_space.contains(obs)
    finally:
        env.close()


def test_bad_budget_override_is_a_clear_error() -> None:
    from gym_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown key walltime \(did you mean wall_time_s\? valid keys: "):
        ResearchEnv(FIXTURE, backend="local", record=False, budget={"walltime": 3})
    with pytest.raises(ConfigError, match="wall_time_s"):
        ResearchEnv(FIXTURE, backend="local", record=False, budget={"wall_time_s": -1})


def test_step_before_reset_is_refused() -> None:
    env = ResearchEnv(FIXTURE, backend="local", record=False)
    with pytest.raises(EpisodeError, match="reset"):
        env.step({"tool": "submit"})
    env.close()


def _task_with_grader(tmp_path: Path, grade_py: str) -> Path:
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    (root / "eval" / "grade.py").write_text(grade_py)
    spec = (root / "task.yaml").read_text().replace("timeout_s: 30, submission", "timeout_s: 3, submission")
    (root / "task.yaml").write_text(spec)
    return root


@pytest.mark.docker
@pytest.mark.slow
def test_a_grader_rejection_is_an_invalid_submission(
    docker_client: Any, store: TraceStore, tmp_path: Path
) -> None:
    env = make_env(
        "docker", store, task=_task_with_grader(tmp_path, "raise SystemExit('labels file corrupt')")
    )
    try:
        env.reset(seed=0)
        steps = play(env, [{"tool": "write_file", "path": "answer.txt", "content": "10"}, {"tool": "submit"}])
    finally:
        env.close()
    obs, reward, terminated, _, info = steps[-1]
    assert terminated and reward == 0.0 and obs["score"] is None
    assert "invalid submission: labels file corrupt" in obs["output"]
    episode = store.get_episode(info["episode_id"])
    assert (episode.failure_kind, episode.origin) == ("invalid_submission", "agent")
    evaluation = store.list_evaluations(episode.id)[-1]
    assert not evaluation.valid and "labels file corrupt" in evaluation.grader_output


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("grade_py", "failure"),
    [
        ("import time; time.sleep(60)", "timed_out"),
        ("print('{\"score\": NaN}')", "no_score"),
        ("print('all good')", "no_score"),
    ],
    ids=["timeout", "nan", "no-json"],
)
def test_a_grader_that_fails_on_everything_is_the_environments_failure(
    docker_client: Any, store: TraceStore, tmp_path: Path, grade_py: str, failure: str
) -> None:
    """Regraded once, then tried on the task's reference submission: it fails there too, so it is broken."""
    from gym_core.errors import GraderBroken

    env = make_env("docker", store, task=_task_with_grader(tmp_path, grade_py))
    try:
        env.reset(seed=0)
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
        with pytest.raises(GraderBroken, match=f"failed twice on this submission \\({failure}\\)"):
            env.step({"tool": "submit"})
        episode_id = env.episode_id
    finally:
        env.close()
    assert episode_id is not None
    episode = store.get_episode(episode_id)
    assert (episode.status, episode.origin, episode.error_kind) == ("crashed", "environment", "grader_broken")


def test_observation_space_admits_reset_observation_shape() -> None:
    env = ResearchEnv(FIXTURE, backend="local", record=False)
    sample = {
        "output": "ünïcode ✓ \x00 binary-ish",
        "exit_code": None,
        "time_left_s": 1.5,
        "steps_left": 3,
        "evals_left": 0,
        "score": None,
        "normalized_score": -0.5,
        "task": json.dumps({"a": 1}),
    }
    assert env.observation_space.contains(sample)
    assert not env.observation_space.contains({**sample, "steps_left": -1})
    assert not env.observation_space.contains({**sample, "score": float("nan")})
    env.close()


@pytest.mark.docker
@pytest.mark.slow
def test_blowups_inside_the_sandbox_are_observations_and_it_stays_usable(
    backend: str, store: TraceStore
) -> None:
    env = make_env(backend, store)
    try:
        env.reset(seed=0)
        steps = play(
            env,
            [
                {"tool": "bash", "command": "python -c 'x = bytearray(1024 * 1024 * 1024)'", "timeout_s": 30},
                {"tool": "bash", "command": "dd if=/dev/zero of=big bs=1M count=200", "timeout_s": 30},
                {"tool": "bash", "command": "rm -f big; yes", "timeout_s": 3},
                {"tool": "bash", "command": "echo still fine"},
            ],
        )
    finally:
        env.close()
    oom, disk, flood, after = (s[0] for s in steps)
    assert "out of memory" in oom["output"] and oom["exit_code"] != 0
    assert "No space left on device" in disk["output"] and disk["exit_code"] != 0
    assert "timed out" in flood["output"] and "[output truncated]" in flood["output"]
    assert len(flood["output"]) < 200_000
    assert after["output"].strip() == "still fine" and after["exit_code"] == 0
