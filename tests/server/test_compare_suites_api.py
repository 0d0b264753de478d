"""``/api/compare-suites``: what ``rgym compare SUITE_A SUITE_B`` prints, for the viewer and scripts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gym_core.server import create_app
from gym_core.store import TraceStore, open_store
from tests.cli.recorded import record_run
from tests.server.auth_helpers import bearer
from tests.server.conftest import BASE_URL

FAIL, PASS = [0.0] * 6, [1.0] * 6


def _suite_run(store: TraceStore, agent: str, finals: dict[str, list[float]]) -> tuple[str, dict[str, str]]:
    suite_run = store.create_suite_run(suite="tiny", tasks=list(finals), agent=agent, config={}, k=6)
    runs = {
        task: record_run(store, scores, agent=agent, task_id=task, suite_run_id=suite_run)
        for task, scores in finals.items()
    }
    store.finish_suite_run(suite_run, status="completed")
    return suite_run, runs


@pytest.fixture
def client(store_url: str) -> Iterator[tuple[TestClient, str, str, dict[str, str]]]:
    with open_store(store_url) as store:
        a, _ = _suite_run(store, "baseline", {"tiny-mean": FAIL, "other-task": PASS})
        b, b_runs = _suite_run(store, "tuner:4", {"tiny-mean": PASS, "other-task": FAIL})
    app = create_app(store_url)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False, headers=bearer(store_url)) as c:
        yield c, a, b, b_runs


def test_suite_runs_are_compared_task_by_task(client: tuple[TestClient, str, str, dict[str, str]]) -> None:
    c, a, b, b_runs = client
    response = c.get("/api/compare-suites", params=[("suite_run", a[:14].lower()), ("suite_run", b)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schema"] == "rgym.compare-suites/1"
    assert [s["suite_run_id"] for s in body["suite_runs"]] == [a, b]
    (pair,) = body["pairs"]
    verdicts = {row["task_id"]: (row["verdict"], row["b_run_id"]) for row in pair["summary"]}
    assert verdicts == {
        "tiny-mean": ("better", b_runs["tiny-mean"]),
        "other-task": ("worse", b_runs["other-task"]),
    }
    page = c.get("/api/compare-suites.html", params=[("suite_run", a), ("suite_run", b)])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert b in page.text and "script" not in page.headers["content-security-policy"]


def test_an_unknown_or_single_suite_run_is_a_clear_error(
    client: tuple[TestClient, str, str, dict[str, str]],
) -> None:
    c, a, _b, _ = client
    missing = c.get("/api/compare-suites", params=[("suite_run", a), ("suite_run", "ZZZZZZ")])
    assert missing.status_code == 404 and "ZZZZZZ" in missing.json()["detail"]
    one = c.get("/api/compare-suites", params={"suite_run": a})
    assert one.status_code in (400, 422) and "at least two suite runs" in one.text


def test_suite_runs_are_listed_newest_first_without_their_config(
    client: tuple[TestClient, str, str, dict[str, str]], store_url: str
) -> None:
    c, a, b, _ = client
    response = c.get("/api/suite-runs")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [s["id"] for s in listed] == [b, a]
    assert listed[0]["agent"] == "tuner:4" and listed[0]["tasks"] == ["tiny-mean", "other-task"]
    assert listed[0]["k"] == 6 and listed[0]["status"] == "completed" and "config" not in listed[0]
    assert [s["id"] for s in c.get("/api/suite-runs", params={"agent": "baseline"}).json()] == [a]
    assert c.get("/api/suite-runs", params={"limit": 1}).json()[0]["id"] == b
    # since: a time without a zone is UTC, as in /api/runs
    for path in ("/api/suite-runs", "/api/runs"):
        assert c.get(path, params={"since": "2999-01-01T00:00:00"}).json() == []
        assert len(c.get(path, params={"since": "2000-01-01T00:00:00"}).json()) >= 2
        assert c.get(path, params={"since": "2000-01-01T00:00:00+02:00"}).status_code == 200
    # an agent token drives its own episodes only: it may not list suite runs
    denied = c.get("/api/suite-runs", headers=bearer(store_url, "agent"))
    assert denied.status_code == 403
