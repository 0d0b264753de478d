"""The tuner: seeded random search over knobs, within the budgets, submitting its best."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fake_env import BASELINE_COMMAND, FakeEnv, make_task, run_episode

from rgym_agents.tuner import KNOBS_FILE, TunerAgent, config_at, config_count, sample_configs

KNOBS: dict[str, list[Any]] = {
    "lr": [0.001, 0.01, 0.1, 1.0],
    "depth": [1, 2, 3, 4, 5],
    "act": ["relu", "tanh"],
}


def score(config: dict[str, Any] | None) -> float:
    """A deterministic landscape; the default config (None) scores 0.5."""
    if config is None:
        return 0.5
    return round(config["lr"] * 10 + config["depth"] / 10 + (0.05 if config["act"] == "tanh" else 0.0), 6)


def written_configs(env: FakeEnv) -> list[dict[str, Any]]:
    return [
        json.loads(a["content"]) for a in env.actions if a["tool"] == "write_file" and a["path"] == KNOBS_FILE
    ]


def tried_scores(env: FakeEnv) -> list[float]:
    return [s for s in env.validations if s is not None]


def test_same_seed_same_episode_other_seed_other_configs() -> None:
    a = run_episode(TunerAgent(), FakeEnv(make_task(knobs=KNOBS), score), seed=7)
    b = run_episode(TunerAgent(), FakeEnv(make_task(knobs=KNOBS), score), seed=7)
    c = run_episode(TunerAgent(), FakeEnv(make_task(knobs=KNOBS), score), seed=8)
    assert a.actions == b.actions
    assert written_configs(a) != written_configs(c)


def test_never_repeats_a_config_and_exhausts_a_small_space() -> None:
    knobs = {"lr": [0.1, 1.0], "act": ["relu", "tanh"]}  # 4 configs, but 8 trials allowed
    env = run_episode(
        TunerAgent(trials=8), FakeEnv(make_task(knobs=knobs), lambda c: 0.0 if c is None else c["lr"])
    )
    tried = [json.dumps(c, sort_keys=True) for c in written_configs(env)[:4]]
    assert len(tried) == len(set(tried)) == 4
    assert len(env.validations) == 5  # the default config plus the four configs


def test_default_trials_is_min_of_eval_limit_and_8() -> None:
    env = run_episode(TunerAgent(), FakeEnv(make_task(knobs=KNOBS, eval_limit=20), score))
    assert len(env.validations) == 8
    env = run_episode(TunerAgent(), FakeEnv(make_task(knobs=KNOBS, eval_limit=3), score))
    assert len(env.validations) == 3


def test_submits_its_best_config_maximize() -> None:
    env = run_episode(TunerAgent(trials=6), FakeEnv(make_task(knobs=KNOBS), score), seed=3)
    assert env.terminated and env.actions[-1] == {"tool": "submit"}
    best = max(tried_scores(env))
    assert env.final_score == best
    assert best > 0.5  # some config beat the default on this landscape
    assert score(json.loads(env.files[KNOBS_FILE])) == best


def test_picks_the_minimum_for_minimize_tasks() -> None:
    env = run_episode(
        TunerAgent(trials=6), FakeEnv(make_task(knobs=KNOBS, direction="minimize"), score), seed=3
    )
    assert env.final_score == min(tried_scores(env))
    # The tuner re-ran the best config at the end, so the workspace holds its predictions.
    assert env.actions[-2] == {"tool": "bash", "command": BASELINE_COMMAND}


def test_restores_the_default_config_when_it_was_best() -> None:
    env = run_episode(
        TunerAgent(trials=4), FakeEnv(make_task(knobs=KNOBS), lambda c: 1.0 if c is None else 0.1)
    )
    assert KNOBS_FILE not in env.files
    assert env.final_score == 1.0
    assert env.actions[-2]["command"].startswith(f"rm -f {KNOBS_FILE}")


def test_skips_the_rerun_when_the_last_trial_was_best() -> None:
    # Scores rise with every trial, so the last one is best and is already in the workspace.
    counter = iter(range(100))
    env = run_episode(TunerAgent(trials=3), FakeEnv(make_task(knobs=KNOBS), lambda c: float(next(counter))))
    assert [a["tool"] for a in env.actions[-2:]] == ["validate", "submit"]
    assert env.final_score == 2.0


def test_stays_within_evals_left() -> None:
    env = run_episode(TunerAgent(trials=50), FakeEnv(make_task(knobs=KNOBS, eval_limit=4), score))
    assert len(env.validations) == 4
    assert env.terminated and not env.truncated


def test_stops_when_steps_run_low_and_still_submits() -> None:
    env = run_episode(TunerAgent(trials=50), FakeEnv(make_task(knobs=KNOBS, step_limit=14), score))
    assert env.terminated and not env.truncated
    assert env.final_score == max(tried_scores(env))


def test_stops_when_time_is_short() -> None:
    # Each command takes 100 s of a 350 s budget: two trials fit, a third would not leave time to re-run.
    env = run_episode(
        TunerAgent(trials=8), FakeEnv(make_task(knobs=KNOBS, wall_time_s=350), score, command_seconds=100)
    )
    assert env.terminated and not env.truncated
    assert len(env.validations) == 2


def test_copes_with_failed_commands_and_invalid_scores() -> None:
    def flaky(config: dict[str, Any] | None) -> float | None:
        if config is None:
            return None  # the default produces an invalid submission
        if config["act"] == "relu":
            raise RuntimeError("diverged")
        return score(config)

    env = run_episode(TunerAgent(trials=8), FakeEnv(make_task(knobs=KNOBS), flaky), seed=1)
    failed = [
        i
        for i, (a, o) in enumerate(zip(env.actions, env.observations, strict=True))
        if a["tool"] == "bash" and o["exit_code"]
    ]
    assert failed, "seed 1 should draw some failing configs"
    # A failed command leaves stale outputs: it is never validated.
    assert all(env.actions[i + 1]["tool"] != "validate" for i in failed)
    assert None in env.validations  # the default's invalid score was seen and ignored
    assert env.final_score == max(tried_scores(env))
    assert json.loads(env.files[KNOBS_FILE])["act"] == "tanh"


def test_without_knobs_it_acts_like_the_baseline_agent() -> None:
    env = run_episode(TunerAgent(), FakeEnv(make_task(knobs={}), lambda c: 0.5))
    assert env.actions == [{"tool": "bash", "command": BASELINE_COMMAND}, {"tool": "submit"}]


def test_when_nothing_validates_it_submits_the_default_workspace() -> None:
    env = run_episode(TunerAgent(trials=3), FakeEnv(make_task(knobs=KNOBS), lambda c: None))
    assert env.terminated
    assert KNOBS_FILE not in env.files  # the tried knobs were not left behind


def test_rejects_zero_trials() -> None:
    from gym_core.errors import AgentError

    with pytest.raises(AgentError, match="trials must be >= 1"):
        TunerAgent(trials=0)


def test_config_sampling_covers_huge_spaces_without_materialising_them() -> None:
    knobs = {f"k{i}": list(range(10)) for i in range(20)}  # 10**20 configs
    assert config_count(knobs) == 10**20
    configs = sample_configs(knobs, 5, random.Random(0))
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == 5
    assert config_at({"a": [1, 2], "b": ["x", "y", "z"]}, 5) == {"a": 2, "b": "z"}
