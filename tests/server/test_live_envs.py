"""``/api/envs``: environments driven over HTTP behave as ``env.reset()`` / ``env.step()`` do locally, and
record the same trace. Played through FastAPI's client on the local backend (the real-HTTP, Docker
play is in tests/test_remote.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gym_core.server import create_app
from gym_core.server.live import LiveSessions, research_env_factory
from gym_core.settings import get_settings
from gym_core.store import open_store
from gym_core.store.tokens import Role
from tests.server.auth_helpers import bearer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tasks_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'traces.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(tasks_path: None, store_url: str, clock: Clock) -> LiveSessions:
    return LiveSessions(research_env_factory(store_url, "local"), max_sessions=2, clock=clock)


@pytest.fixture
def client(live: LiveSessions, store_url: str) -> Iterator[TestClient]:
    app = create_app(store_url, live=live)
    with TestClient(app, base_url="http://127.0.0.1", headers=bearer(store_url, Role.AGENT)) as test_client:
        yield test_client


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/envs", json={"task": "tiny-mean", **body})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _step(client: TestClient, env_id: str, action: Any) -> dict[str, Any]:
    response = client.post(f"/api/envs/{env_id}/step", json={"action": action})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_an_episode_over_http_is_recorded_as_a_local_one(client: TestClient, store_url: str) -> None:
    env = _create(client, seed=3, budget={"step_limit": 10}, agent="remote-test")
    assert env["backend"] == "local" and env["budget"]["step_limit"] == 10
    reset = client.post(f"/api/envs/{env['id']}/reset", json={"seed": 7}).json()
    assert reset["observation"]["steps_left"] == 10
    assert reset["info"]["seed"] == 7
    out = _step(client, env["id"], {"tool": "bash", "command": "echo $((6 * 7))"})
    assert out["observation"]["output"].strip() == "42" and out["observation"]["exit_code"] == 0
    assert not out["terminated"]
    _step(client, env["id"], {"tool": "write_file", "path": "answer.txt", "content": "10\n"})
    final = _step(client, env["id"], {"tool": "submit"})
    assert final["terminated"]
    assert final["info"]["final_raw_score"] == pytest.approx(0.0)  # private mean 10
    assert final["info"]["success"] is True
    closed = client.delete(f"/api/envs/{env['id']}")
    assert closed.status_code == 200

    with open_store(store_url) as store:
        run = store.get_run(final["info"]["run_id"])
        assert run.agent == "remote-test" and run.status == "completed"
        (episode,) = store.list_episodes(run.id)
        assert episode.seed == 7 and episode.status == "submitted"
        assert [s.action.get("tool") for s in store.list_steps(episode.id)] == [
            "bash",
            "write_file",
            "submit",
        ]


def test_validate_feedback_over_http_is_the_score_alone(client: TestClient) -> None:
    env = _create(client)
    client.post(f"/api/envs/{env['id']}/reset", json={})
    _step(client, env["id"], {"tool": "write_file", "path": "answer.txt", "content": "8\n"})
    out = _step(client, env["id"], {"tool": "validate"})
    assert out["observation"]["score"] == pytest.approx(1.0)  # public mean 9
    # Whatever the grader printed beside its score stays on the server.
    assert "mean" not in out["observation"]["output"].lower()
    assert "grader_message" not in out["info"] or "hidden" not in str(out["info"]["grader_message"])


def test_out_of_order_calls_are_409_with_the_local_message(client: TestClient) -> None:
    env = _create(client)
    response = client.post(f"/api/envs/{env['id']}/step", json={"action": {"tool": "submit"}})
    assert response.status_code == 409
    assert "call reset() before step()" in response.json()["detail"]


def test_a_malformed_action_is_an_error_observation_not_a_failure(client: TestClient) -> None:
    env = _create(client)
    client.post(f"/api/envs/{env['id']}/reset", json={})
    out = _step(client, env["id"], {"tool": "teleport"})
    assert not out["terminated"]
    assert "teleport" in out["observation"]["output"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"task": "no-such-task"}, 400, "no task 'no-such-task' on this server"),
        ({"task": "tiny-mean", "version": 9}, 400, "version 1 on this server, not 9"),
        ({"task": "../../etc"}, 422, "task"),  # ids only: a client never names a folder on the server
        ({"task": str(FIXTURES / "tiny-mean")}, 422, "task"),
        ({"task": "tiny-mean", "budget": {"wall_time": 5}}, 400, "wall_time_s"),
        ({"task": "tiny-mean", "backend": "local"}, 422, "backend"),  # the server chooses the backend
    ],
)
def test_bad_create_requests_are_one_line(
    client: TestClient, body: dict[str, Any], status: int, words: str
) -> None:
    response = client.post("/api/envs", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert "Traceback" not in response.text


def test_the_server_bounds_live_environments(client: TestClient) -> None:
    first, _second = _create(client), _create(client)
    response = client.post("/api/envs", json={"task": "tiny-mean"})
    assert response.status_code == 429
    assert "--max-envs" in response.json()["detail"]
    client.delete(f"/api/envs/{first['id']}")
    _create(client)  # a closed one frees its place


def _ended_early(store_url: str, episode_id: str) -> tuple[str, str]:
    """An episode's status, and the recorded action of its last step (the early end's reason)."""
    with open_store(store_url) as store:
        episode = store.get_episode(episode_id)
        last = store.list_steps(episode_id)[-1]
    assert last.flags.get("end", "").startswith("truncated:"), last.flags
    return episode.status, str(last.action)


def test_an_environment_left_idle_is_closed_and_its_episode_counts(
    client: TestClient, live: LiveSessions, clock: Clock, store_url: str
) -> None:
    env = _create(client, budget={"wall_time_s": 30})
    info = client.post(f"/api/envs/{env['id']}/reset", json={}).json()["info"]
    _step(client, env["id"], {"tool": "write_file", "path": "answer.txt", "content": "10"})
    clock.now += 30 + 59
    assert live.reap_idle() == []  # within the wall budget plus the grace
    clock.now += 2
    assert live.reap_idle() == [env["id"]]
    assert client.get(f"/api/envs/{env['id']}").status_code == 404
    # The agent's doing: truncated, its workspace graded (here a correct answer), counted.
    assert _ended_early(store_url, info["episode_id"]) == ("truncated", "<idle for 91 s>")
    with open_store(store_url) as store:
        assert store.get_episode(info["episode_id"]).final_raw == 0.0


def test_reset_and_delete_over_http_end_the_episode_as_the_agents(client: TestClient, store_url: str) -> None:
    env = _create(client)
    first = client.post(f"/api/envs/{env['id']}/reset", json={}).json()["info"]
    _step(client, env["id"], {"tool": "write_file", "path": "answer.txt", "content": "19"})
    second = client.post(f"/api/envs/{env['id']}/reset", json={}).json()["info"]
    assert client.delete(f"/api/envs/{env['id']}").status_code == 200
    assert _ended_early(store_url, first["episode_id"]) == ("truncated", "<reset by the agent>")
    assert _ended_early(store_url, second["episode_id"]) == ("truncated", "<closed by the agent>")
    with open_store(store_url) as store:
        assert store.get_episode(first["episode_id"]).final_raw == 9.0  # graded on the private split
        assert store.get_episode(second["episode_id"]).failure_kind == "no_submission"


def test_shutdown_interrupts_every_episode(live: LiveSessions, store_url: str) -> None:
    with TestClient(
        create_app(store_url, live=live), base_url="http://127.0.0.1", headers=bearer(store_url, Role.AGENT)
    ) as client:
        env = _create(client)
        info = client.post(f"/api/envs/{env['id']}/reset", json={}).json()["info"]
    assert len(live) == 0
    with open_store(store_url) as store:
        episode = store.get_episode(info["episode_id"])
        assert episode.status == "interrupted"  # the harness's doing: pending, not counted
        assert "the server shut down" in (episode.error or "")
        assert store.list_evaluations(episode.id) == []


def test_a_server_without_envs_says_how_to_enable_them(store_url: str) -> None:
    with TestClient(
        create_app(store_url), base_url="http://127.0.0.1", headers=bearer(store_url, Role.AGENT)
    ) as client:
        response = client.post("/api/envs", json={"task": "tiny-mean"})
    assert response.status_code == 404
    assert "--envs" in response.json()["detail"]


def test_tasks_lists_what_a_client_may_make(client: TestClient) -> None:
    tasks = {t["id"]: t for t in client.get("/api/tasks").json()}
    assert tasks["tiny-mean"]["gym_id"] == "rgym/tiny-mean-v1"
    assert tasks["tiny-mean"]["direction"] == "minimize"
