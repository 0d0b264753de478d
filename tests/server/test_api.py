"""The HTTP API of ``rgym serve`` against a real SQLite trace store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from gym_core.errors import StoreError
from gym_core.server import create_app
from gym_core.store import INLINE_TEXT_CAP, open_store
from tests.server.traces import HOSTILE_OUTPUT, LONG_OUTPUT, Filled


def test_healthz_names_the_store(client: TestClient, store_url: str) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": store_url}


def test_runs_are_listed_newest_first_with_their_summary(client: TestClient, filled: Filled) -> None:
    runs = client.get("/api/runs").json()
    assert [r["id"] for r in runs] == [filled.other_run_id, filled.run_id]
    other, first = runs
    assert (first["task_id"], first["agent"], first["k"], first["status"]) == (
        "tiny-mean",
        "script:plan.jsonl",
        2,
        "completed",
    )
    assert first["created_at"] and first["finished_at"]
    assert (other["status"], other["perturbations"]) == ("running", {"prompt": "terse"})
    only = client.get("/api/runs", params={"task_id": "tiny-mean"}).json()
    assert [r["id"] for r in only] == [filled.run_id]
    assert len(client.get("/api/runs", params={"limit": 1}).json()) == 1


def test_run_by_prefix_holds_its_episodes(client: TestClient, filled: Filled) -> None:
    body = client.get(f"/api/runs/{filled.run_id[:18].lower()}").json()
    assert body["run"]["id"] == filled.run_id
    episodes = body["episodes"]
    assert [e["id"] for e in episodes] == [filled.submitted, filled.crashed]
    assert (episodes[0]["status"], episodes[0]["final_normalized"], episodes[0]["n_steps"]) == (
        "submitted",
        0.5,
        4,
    )
    assert (episodes[1]["status"], episodes[1]["failure_kind"], episodes[1]["error"]) == (
        "crashed",
        "crashed",
        "boom",
    )


def test_episode_holds_its_run_and_evaluations(client: TestClient, filled: Filled) -> None:
    body = client.get(f"/api/episodes/{filled.submitted[:20]}").json()
    assert body["episode"]["id"] == filled.submitted
    assert body["run"]["id"] == filled.run_id
    [evaluation] = body["evaluations"]
    assert (evaluation["kind"], evaluation["step_index"], evaluation["normalized_score"]) == (
        "validate",
        3,
        0.5,
    )


def test_steps_come_in_order_with_cut_outputs_marked(client: TestClient, filled: Filled) -> None:
    steps = client.get(f"/api/episodes/{filled.submitted}/steps").json()
    assert [s["index"] for s in steps] == [0, 1, 2, 3]
    assert steps[0]["action"] == {"tool": "bash", "command": "python baseline.py"}
    assert steps[1]["exit_code"] == 124 and steps[1]["flags"] == {"timed_out": True}
    assert "output" in steps[1]["overflow"]
    assert len(steps[1]["observation"]["output"]) < len(LONG_OUTPUT)
    assert steps[2]["observation"]["output"] == HOSTILE_OUTPUT
    # An action that was not even JSON is kept as the agent sent it.
    crashed = client.get(f"/api/episodes/{filled.crashed}/steps").json()
    assert crashed[0]["action"] == "not json {"


def test_step_output_is_whole_even_when_the_stored_copy_was_cut(client: TestClient, filled: Filled) -> None:
    response = client.get(f"/api/episodes/{filled.submitted[:16]}/steps/1/output")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text == LONG_OUTPUT
    assert len(response.text) > INLINE_TEXT_CAP
    hostile = client.get(f"/api/episodes/{filled.submitted}/steps/2/output")
    assert hostile.text == HOSTILE_OUTPUT and hostile.headers["content-type"].startswith("text/plain")


def test_report_json_and_html(client: TestClient, filled: Filled) -> None:
    report = client.get(f"/api/runs/{filled.run_id[:12]}/report")
    assert report.status_code == 200, report.text
    body = report.json()
    assert filled.run_id in json.dumps(body)
    html = client.get(f"/api/runs/{filled.run_id}/report.html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text.lower() and filled.run_id in html.text
    assert "script-src" not in html.headers["content-security-policy"]  # no script may run in it


def test_export_streams_one_json_object_a_line(client: TestClient, filled: Filled) -> None:
    response = client.get(f"/api/runs/{filled.run_id[:14]}/export.jsonl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["type"] for r in records] == ["run", "episode", *["step"] * 4, "evaluation", "episode", "step"]
    assert records[0]["id"] == filled.run_id
    assert response.text.endswith("\n")


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/ZZZZZZ",
        "/api/runs/ZZZZZZ/report",
        "/api/runs/ZZZZZZ/report.html",
        "/api/runs/ZZZZZZ/export.jsonl",
        "/api/runs/not-an-id!",
        "/api/episodes/ZZZZZZ",
        "/api/episodes/ZZZZZZ/steps",
        "/api/episodes/ZZZZZZ/steps/0/output",
        "/api/episodes/{submitted}/steps/99/output",
        "/api/nothing-here",
    ],
)
def test_unknown_ids_are_a_404_with_one_line(client: TestClient, filled: Filled, path: str) -> None:
    response = client.get(path.format(submitted=filled.submitted))
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    assert "Traceback" not in response.text


def test_ambiguous_prefix_is_a_404_that_says_so(client: TestClient, filled: Filled) -> None:
    common = 0
    while filled.run_id[common] == filled.other_run_id[common]:
        common += 1
    assert common >= 4  # ids start with their creation time, and both runs were made moments apart
    response = client.get(f"/api/runs/{filled.run_id[:common]}")
    assert response.status_code == 404
    assert "ambiguous" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/episodes/{submitted}/steps/-1/output",
        "/api/episodes/{submitted}/steps/abc/output",
        "/api/episodes/{submitted}/steps/0/output?field=../x",
        "/api/runs?limit=0",
    ],
)
def test_malformed_requests_are_a_422_with_one_line(client: TestClient, filled: Filled, path: str) -> None:
    response = client.get(path.format(submitted=filled.submitted))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail


def test_undecodable_output_bytes_do_not_break_responses(store_url: str, filled: Filled) -> None:
    store = open_store(store_url)
    episode = store.start_episode(filled.other_run_id, index=0, seed=None)
    raw = b"caf\xe9 \xff\n"
    store.record_step(
        episode,
        index=0,
        action={"tool": "bash", "command": "cat latin1.txt"},
        observation={"output": raw.decode("utf-8", errors="surrogateescape")},
        exit_code=0,
        started_at=datetime.now(UTC),
        duration_s=0.1,
        agent_time_s=None,
        flags={},
        usage={},
    )
    store.close()
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        steps = client.get(f"/api/episodes/{episode}/steps")
        assert steps.status_code == 200
        assert steps.json()[0]["observation"]["output"].startswith("caf")
        output = client.get(f"/api/episodes/{episode}/steps/0/output")
        assert output.status_code == 200 and output.content == raw
        assert client.get(f"/api/runs/{filled.other_run_id}/export.jsonl").status_code == 200


def test_no_endpoint_writes(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert len(paths) == 9
    assert {method for operations in paths.values() for method in operations} == {"get"}
    assert client.post("/api/runs").status_code == 405
    assert client.delete("/api/runs/x").status_code == 405


def test_viewer_page_is_self_contained_and_locked_down(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert "<script>" in page and "rgym traces" in page
    assert "http://" not in page and "https://" not in page  # nothing loads from elsewhere
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page and "document.write" not in page
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy


def test_a_store_that_cannot_be_opened_is_one_store_error() -> None:
    with pytest.raises(StoreError):
        create_app("mysql://nobody@nowhere/db")
