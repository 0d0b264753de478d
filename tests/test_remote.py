"""RemoteEnv against a real ``rgym serve --envs`` process over real HTTP, on the Docker backend: Gymnasium's
checker passes, ``gym.make(..., remote=URL)`` works, and an episode completes and is recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from gym_core.errors import EpisodeError, RgymError
from gym_core.registration import register_tasks
from gym_core.remote import RemoteEnv
from gym_core.settings import get_settings
from gym_core.store import open_store
from gym_core.store.tokens import Role
from tests.server.auth_helpers import token_for

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tasks"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def server(
    docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, str]]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    store_url = f"sqlite:///{tmp_path / 'traces.db'}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_core.cli.main",
            "serve",
            "--port",
            "0",
            "--store",
            store_url,
            "--envs",
            "--backend",
            "docker",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("rgym serve: "):
        proc.kill()
        pytest.fail(f"rgym serve did not start: {line!r} {proc.communicate()[1]}")
    try:
        assert "rgym/tiny-mean-v1" in register_tasks()  # the client side knows the fixture tasks too
        yield line.split()[2].rstrip("/"), store_url, token_for(store_url, Role.AGENT)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
        assert "Traceback" not in stderr, stderr


def test_check_env_passes_against_a_server(server: tuple[str, str, str]) -> None:
    from gymnasium.utils.env_checker import check_env

    url, _, token = server
    env = gym.make("rgym/tiny-mean-v1", remote=url, token=token, seed=0)
    try:
        assert isinstance(env.unwrapped, RemoteEnv)
        check_env(env.unwrapped, skip_close_check=True)  # spec.nondeterministic: wall clocks differ
    finally:
        env.close()


def test_gym_make_remote_plays_an_episode_the_server_records(
    server: tuple[str, str, str], docker_client: Any
) -> None:
    url, store_url, token = server
    env = gym.make("rgym/tiny-mean-v1", remote=url, token=token, agent="remote-agent")
    try:
        with pytest.raises(EpisodeError, match="reset"):
            env.unwrapped.step({"tool": "submit"})
        obs, _ = env.reset(seed=5)
        assert env.observation_space.contains(obs)
        obs, _, terminated, _, _ = env.step({"tool": "bash", "command": "cat /eval/private.txt; hostname"})
        assert env.observation_space.contains(obs) and not terminated
        assert "No such file" in obs["output"]  # the hidden data is not in the agent's sandbox
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
        _, _, terminated, _, final = env.step({"tool": "submit"})
        assert terminated and final["success"] is True
        run_id = final["run_id"]
    finally:
        env.close()
    with open_store(store_url) as store:
        run = store.get_run(run_id)
        assert run.agent == "remote-agent" and run.status == "completed"
        (episode,) = store.list_episodes(run.id)
        assert episode.seed == 5 and episode.final_raw == pytest.approx(0.0)
    # The server removed the episode's sandbox when the episode ended.
    left = docker_client.containers.list(all=True, filters={"label": f"rgym.episode={episode.id}"})
    assert left == []


def test_an_unknown_task_is_one_clear_error(server: tuple[str, str, str]) -> None:
    url, _, token = server
    with pytest.raises(RgymError, match="no task 'nope' on this server"):
        RemoteEnv("nope", remote=url, token=token)
    with pytest.raises(RgymError, match="no API token"):
        RemoteEnv("tiny-mean", remote=url)
