"""Each perturbation changes what it says and nothing else, seen through the public API and the trace store.

Episodes run on the local backend (bubblewrap), so these run in the fast subset; the Docker backend shares
the environment code that applies perturbations.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gym_core.env.research_env import ResearchEnv
from gym_core.store import TraceStore, open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
README = (FIXTURE / "README.md").read_text()
TERSE = "Write the mean of the hidden sample to answer.txt."
"""tiny-mean's ``terse`` description variant."""

BUDGET = {"wall_time_s": 120, "step_limit": 20, "eval_limit": 4}
"""Round numbers that halve exactly (the task's own eval_limit of 3 would round)."""


def _episode(
    store: TraceStore, actions: list[dict[str, Any]], **perturb: Any
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Reset an env with ``perturb`` and play ``actions``: (first observation, step observations, episode)."""
    env = ResearchEnv(FIXTURE, backend="local", store=store, budget=BUDGET, perturb=perturb, seed=5)
    try:
        first, info = env.reset(seed=5)
        observations = [env.step(action)[0] for action in actions]
    finally:
        env.close()
    return first, observations, str(info["episode_id"])


def _budget_of(store: TraceStore, episode_id: str) -> dict[str, Any]:
    return dict(store.get_run(store.get_episode(episode_id).run_id).budget)


def test_clean_episode_is_the_reference_point(store: TraceStore) -> None:
    first, (echo, read), episode = _episode(
        store,
        [
            {"tool": "bash", "command": "echo ran > proof.txt && echo done"},
            {"tool": "read_file", "path": "proof.txt"},
        ],
    )
    assert first["task"] == README
    assert (first["time_left_s"], first["steps_left"], first["evals_left"]) == (120.0, 20, 4)
    assert echo["exit_code"] == 0 and echo["output"].strip() == "done"
    assert read["output"] == "ran\n"
    assert store.get_run(store.get_episode(episode).run_id).perturbations == {}


def test_tool_failure_rate_one_fails_every_command_and_runs_none(store: TraceStore) -> None:
    first, observations, episode = _episode(
        store,
        [
            {"tool": "bash", "command": "echo ran > proof.txt"},
            {"tool": "bash", "command": "echo ran >> proof.txt"},
            {"tool": "read_file", "path": "proof.txt"},
            {"tool": "write_file", "path": "note.txt", "content": "file tools are not bash\n"},
            {"tool": "read_file", "path": "note.txt"},
        ],
        tool_failure_rate=1,
    )
    first_bash, second_bash, read_proof, _write, read_note = observations
    for obs in (first_bash, second_bash):
        assert obs["exit_code"] == 1
        assert obs["output"] == "Error: the command could not be started (transient tool failure); try again."
    # Neither command ran: the file they would have written does not exist.
    assert read_proof["exit_code"] == 1 and "cannot read proof.txt" in read_proof["output"]
    # Nothing else changed: the file tools work, the task text and the budgets are the clean ones.
    assert read_note["output"] == "file tools are not bash\n"
    assert first["task"] == README
    assert (first["time_left_s"], first["steps_left"], first["evals_left"]) == (120.0, 20, 4)
    steps = store.list_steps(episode)
    assert [bool(s.flags.get("injected_failure")) for s in steps[:5]] == [True, True, False, False, False]
    assert store.get_episode(episode).usage["injected_failures"] == 2
    assert store.get_run(store.get_episode(episode).run_id).perturbations == {"tool_failure_rate": "1.0"}


def test_budget_scale_halves_wall_time_steps_and_evals_and_nothing_else(store: TraceStore) -> None:
    _, _, clean = _episode(store, [])
    first, (echo,), scaled = _episode(store, [{"tool": "bash", "command": "echo ok"}], budget_scale=0.5)
    assert (first["time_left_s"], first["steps_left"], first["evals_left"]) == (60.0, 10, 2)
    assert echo["steps_left"] == 9 and echo["evals_left"] == 2 and echo["output"].strip() == "ok"
    assert first["task"] == README
    clean_budget, scaled_budget = _budget_of(store, clean), _budget_of(store, scaled)
    changed = {k: (clean_budget[k], v) for k, v in scaled_budget.items() if clean_budget[k] != v}
    assert changed == {"wall_time_s": (120.0, 60.0), "step_limit": (20, 10), "eval_limit": (4, 2)}
    assert store.get_episode(scaled).usage["wall_budget_s"] == 60.0


def test_budget_scale_rounds_steps_and_evals_and_keeps_one_step(store: TraceStore) -> None:
    env = ResearchEnv(FIXTURE, backend="local", record=False, budget=BUDGET, perturb={"budget_scale": 0.01})
    try:
        first, _ = env.reset(seed=0)
    finally:
        env.close()
    # 120 s * 0.01 = 1.2 s; 20 steps * 0.01 rounds to 0 but an episode needs 1; 4 evals * 0.01 rounds to 0.
    assert (first["time_left_s"], first["steps_left"], first["evals_left"]) == (1.2, 1, 0)


def test_prompt_swaps_the_description_and_nothing_else(store: TraceStore) -> None:
    first, _, episode = _episode(store, [], prompt="terse")
    assert first["task"] == TERSE
    assert (first["time_left_s"], first["steps_left"], first["evals_left"]) == (120.0, 20, 4)
    assert _budget_of(store, episode)["wall_time_s"] == 120.0


def test_context_padding_puts_that_many_characters_before_the_description(store: TraceStore) -> None:
    first, _, _ = _episode(store, [], context_padding=5000)
    again, _, _ = _episode(store, [], context_padding=5000)
    padding, separator, description = first["task"].partition("\n---\n\n")
    assert separator and description == README
    assert len(padding) == 5000
    assert "nothing in this line is relevant to the task" in padding
    assert again["task"] == first["task"]  # the same seed pads the same way
    assert (first["time_left_s"], first["steps_left"], first["evals_left"]) == (120.0, 20, 4)


def test_rgym_run_gives_each_attempt_the_scaled_budget_once(tmp_path: Path) -> None:
    # The run records the scaled budget; its attempts must run under that budget, not scale it again.
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "RGYM_STORE": url, "RGYM_TASKS_PATH": str(FIXTURE.parent)}
    command = [sys.executable, "-m", "gym_core.cli.main", "run", "tiny-mean", "--agent", "noop"]
    command += ["--runs", "1", "--seed", "3", "--backend", "local", "--no-progress", "--no-report"]
    command += ["--budget", "eval_limit=4", "--perturb", "budget_scale=0.5"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    with open_store(url) as store:
        run = store.get_run(run_id)
        (episode,) = store.list_episodes(run_id)
        (submit,) = store.list_steps(episode.id)
    assert run.perturbations == {"budget_scale": "0.5"}
    assert (run.budget["wall_time_s"], run.budget["step_limit"], run.budget["eval_limit"]) == (60.0, 10, 2)
    assert episode.usage["wall_budget_s"] == 60.0
    assert (submit.observation["steps_left"], submit.observation["evals_left"]) == (9, 2)
    assert 30.0 < submit.observation["time_left_s"] <= 60.0
