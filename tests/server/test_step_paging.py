"""Paging an episode's steps through the API (``limit`` and the ``after`` cursor): every step exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gym_core.server import create_app
from gym_core.store import open_store
from tests.server.auth_helpers import bearer
from tests.server.conftest import BASE_URL
from tests.store.factory import new_run, record_steps

STEPS = 53


@pytest.fixture
def long_episode(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    with open_store(url) as store:
        episode = store.start_episode(new_run(store), index=0, seed=0)
        record_steps(store, episode, STEPS)
    with TestClient(create_app(url), base_url=BASE_URL, headers=bearer(url)) as client:
        yield client, episode


@pytest.mark.parametrize("limit", [1, 7, 53, 100])
def test_pages_return_every_step_exactly_once_in_order(
    long_episode: tuple[TestClient, str], limit: int
) -> None:
    client, episode = long_episode
    seen: list[int] = []
    after = -1
    requests = 0
    while True:
        response = client.get(f"/api/episodes/{episode}/steps", params={"after": after, "limit": limit})
        assert response.status_code == 200
        page = response.json()
        requests += 1
        assert len(page) <= limit
        seen += [s["index"] for s in page]
        if len(page) < limit:
            break
        after = page[-1]["index"]
    assert seen == list(range(STEPS))
    assert requests == STEPS // limit + 1
    # Without a limit, every step at once (as before paging existed).
    assert [s["index"] for s in client.get(f"/api/episodes/{episode}/steps").json()] == list(range(STEPS))


def test_a_page_starts_after_the_cursor(long_episode: tuple[TestClient, str]) -> None:
    client, episode = long_episode
    page = client.get(f"/api/episodes/{episode}/steps", params={"after": 40, "limit": 5}).json()
    assert [s["index"] for s in page] == [41, 42, 43, 44, 45]
    assert client.get(f"/api/episodes/{episode}/steps", params={"after": STEPS - 1, "limit": 5}).json() == []


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"after": -2}, {"limit": "x"}])
def test_bad_paging_parameters_are_refused(
    long_episode: tuple[TestClient, str], params: dict[str, object]
) -> None:
    client, episode = long_episode
    assert client.get(f"/api/episodes/{episode}/steps", params=params).status_code == 422
