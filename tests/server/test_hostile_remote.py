"""A remote agent (an agent token) attacks through ``/api/envs``: it must get no more than a local step gives.

* It may not loosen the task's budget when it creates its environment: more validate calls decode hidden
  data, more memory, processes or time escape the limits, ``network: egress`` reaches the network (and
  ``budget_scale`` above 1 is the same loosening as a perturbation). Tightening stays allowed; an admin
  (the operator) may set any budget.
* Its malformed actions, sent as JSON, are error observations, never environment failures.

Played through FastAPI's client on the local backend, with real tokens.
"""

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


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    return f"sqlite:///{tmp_path / 'traces.db'}"


@pytest.fixture
def app(store_url: str) -> Any:
    live = LiveSessions(research_env_factory(store_url, "local"), max_sessions=2)
    return create_app(store_url, live=live)


@pytest.fixture
def agent(app: Any, store_url: str) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1", headers=bearer(store_url, Role.AGENT)) as client:
        yield client


@pytest.mark.parametrize(
    "looser",
    [
        {"budget": {"eval_limit": 1000}},
        {"budget": {"network": "egress"}},
        {"budget": {"memory_mb": 65536, "pids": 100000}},
        {"budget": {"wall_time_s": 86400, "step_limit": 100000}},
        {"budget": {"cpus": 64, "disk_mb": 1 << 20, "gpus": 1, "command_timeout_s": 86400}},
        {"perturb": {"budget_scale": 100}},
    ],
    ids=["evals", "network", "memory-pids", "time-steps", "cpus-disk-gpus", "budget-scale"],
)
def test_an_agent_token_cannot_loosen_the_tasks_budget(
    app: Any, agent: TestClient, looser: dict[str, Any]
) -> None:
    response = agent.post("/api/envs", json={"task": "tiny-mean", **looser})
    assert response.status_code == 403, response.text
    assert "may tighten the task's budget, not loosen it" in response.json()["detail"]
    assert len(app.state.live) == 0  # no environment was made


def test_an_agent_token_may_tighten_and_an_admin_may_loosen(
    app: Any, agent: TestClient, store_url: str
) -> None:
    tight = agent.post("/api/envs", json={"task": "tiny-mean", "budget": {"eval_limit": 1, "memory_mb": 128}})
    assert tight.status_code == 201, tight.text
    assert tight.json()["budget"]["eval_limit"] == 1
    agent.delete(f"/api/envs/{tight.json()['id']}")
    with TestClient(app, base_url="http://127.0.0.1", headers=bearer(store_url, Role.ADMIN)) as admin:
        loose = admin.post("/api/envs", json={"task": "tiny-mean", "budget": {"eval_limit": 50}})
        assert loose.status_code == 201, loose.text
        assert loose.json()["budget"]["eval_limit"] == 50
        admin.delete(f"/api/envs/{loose.json()['id']}")


def test_malformed_actions_over_http_are_error_observations(agent: TestClient, store_url: str) -> None:
    created = agent.post("/api/envs", json={"task": "tiny-mean"})
    assert created.status_code == 201, created.text
    env_id = created.json()["id"]
    agent.post(f"/api/envs/{env_id}/reset", json={"seed": 0})
    hostile = [
        '{"action": {"tool": "bash", "command": "ls", "timeout_s": 1' + "0" * 400 + "}}",
        '{"action": {"tool": "write_file", "path": "answer.txt", "content": "\\ud800"}}',
        '{"action": {"tool": "bash", "command": "echo a\\u0000b"}}',
        '{"action": "' + "[" * 5000 + '"}',
    ]
    for body in hostile:
        response = agent.post(
            f"/api/envs/{env_id}/step", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, (body[:80], response.text)
        step = response.json()
        assert step["observation"]["output"].startswith("Error: ") and not step["terminated"], step
    agent.post(f"/api/envs/{env_id}/step", json={"action": {"tool": "write_file", "path": "answer.txt",
                                                             "content": "10"}})  # fmt: skip
    done = agent.post(f"/api/envs/{env_id}/step", json={"action": {"tool": "submit"}}).json()
    assert done["terminated"] and done["reward"] == pytest.approx(1.0)
    episode_id = done["info"]["episode_id"]
    agent.delete(f"/api/envs/{env_id}")
    with open_store(store_url) as store:
        episode = store.get_episode(episode_id)
    assert episode.status == "submitted" and episode.origin == "agent"
