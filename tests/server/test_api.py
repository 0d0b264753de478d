"""The HTTP API of ``rgym serve`` against a real SQLite trace store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from gym_core.errors import StoreError
from gym_core.server import create_app
from gym_core.store import INLINE_TEXT_CAP, open_store
from tests.cli.recorded import record_run
from tests.server.auth_helpers import bearer
from tests.server.conftest import BASE_URL
from tests.server.traces import HOSTILE_OUTPUT, LONG_OUTPUT, Filled
from tests.server.viewer_cases import Cases, fill_cases


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


def test_runs_name_their_suite_run_and_filter_by_it(
    client: TestClient, store_url: str, filled: Filled
) -> None:
    with open_store(store_url) as store:
        suite = store.create_suite_run(suite="tiny", tasks=["tiny-mean"], agent="steady", config={}, k=1)
        member = store.create_run(
            task_id="tiny-mean", task_version=1, task_checksum="c", agent="steady", config={}, backend="local",
            budget={}, perturbations={}, k=1, seed=0, suite_run_id=suite,
        )  # fmt: skip
    by_id = {r["id"]: r["suite_run_id"] for r in client.get("/api/runs").json()}
    assert by_id == {member: suite, filled.run_id: None, filled.other_run_id: None}
    only = client.get("/api/runs", params={"suite_run_id": suite[:14].lower()}).json()
    assert [r["id"] for r in only] == [member]
    assert client.get("/api/runs", params={"suite_run_id": "0" * 26}).status_code == 404


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
    app = create_app(store_url)
    with TestClient(
        app, base_url=BASE_URL, raise_server_exceptions=False, headers=bearer(store_url)
    ) as client:
        steps = client.get(f"/api/episodes/{episode}/steps")
        assert steps.status_code == 200
        assert steps.json()[0]["observation"]["output"].startswith("caf")
        output = client.get(f"/api/episodes/{episode}/steps/0/output")
        assert output.status_code == 200 and output.content == raw
        assert client.get(f"/api/runs/{filled.other_run_id}/export.jsonl").status_code == 200


def test_only_environments_and_tokens_write(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    writers = {
        (method, path) for path, operations in paths.items() for method in operations if method != "get"
    }
    assert writers == {
        ("post", "/api/envs"),
        ("post", "/api/envs/{env_id}/reset"),
        ("post", "/api/envs/{env_id}/step"),
        ("delete", "/api/envs/{env_id}"),
        ("post", "/api/tokens"),
        ("delete", "/api/tokens/{token_id}"),
    }
    assert all(not path.startswith(("/api/runs", "/api/episodes")) for _, path in writers)


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


# --- status colours, metric columns, compare and history ----------------------------------------------


@pytest.fixture
def cases(store_url: str) -> Cases:
    with open_store(store_url) as store:
        return fill_cases(store)


@pytest.fixture
def case_client(store_url: str, cases: Cases) -> Iterator[TestClient]:
    app = create_app(store_url)
    with TestClient(
        app, base_url=BASE_URL, raise_server_exceptions=False, headers=bearer(store_url)
    ) as test_client:
        yield test_client


def test_the_runs_list_carries_each_runs_health_and_metrics(case_client: TestClient, cases: Cases) -> None:
    runs = {r["id"]: r for r in case_client.get("/api/runs").json()}
    crashed = runs[cases.all_crashed]
    assert (crashed["status"], crashed["health"], crashed["status_text"]) == (
        "completed",
        "bad",
        "completed (all 3 crashed)",
    )
    assert (crashed["n"], crashed["c"], crashed["n_crashed"], crashed["mean"]) == (3, 0, 3, None)
    tuned = runs[cases.tuned]
    assert (
        tuned["health"],
        tuned["n"],
        tuned["c"],
        tuned["pass_at_k"],
        tuned["pass_hat_k"],
        tuned["mean"],
    ) == ("ok", 6, 6, 1.0, 1.0, 1.0)
    assert tuned["n_excluded"] == 0
    detail = case_client.get(f"/api/runs/{cases.all_crashed}").json()
    assert detail["summary"]["health"] == "bad"
    only = case_client.get("/api/runs", params={"agent": "tuner"}).json()
    assert [r["id"] for r in only] == [cases.tuned]


def test_a_run_whose_attempts_were_all_excluded_is_not_shown_ok(store_url: str) -> None:
    """The viewer colours a run by its health: no attempt counted is "bad", some excluded a warning."""
    with open_store(store_url) as store:
        none_counted = record_run(store, [], excluded=2)
        partly = record_run(store, [1.0, 1.0], excluded=1)
    app = create_app(store_url)
    with TestClient(
        app, base_url=BASE_URL, raise_server_exceptions=False, headers=bearer(store_url)
    ) as client:
        runs = {r["id"]: r for r in client.get("/api/runs").json()}
        detail = client.get(f"/api/runs/{none_counted}").json()
    listed = runs[none_counted]
    assert (listed["health"], listed["status_text"], listed["n"], listed["n_excluded"]) == (
        "bad",
        "completed (all 2 excluded)",
        0,
        2,
    )
    assert (runs[partly]["health"], runs[partly]["status_text"]) == ("warn", "completed (1 excluded)")
    assert (detail["summary"]["health"], detail["summary"]["status_text"]) == (
        "bad",
        "completed (all 2 excluded)",
    )


def test_compare_and_history_endpoints(case_client: TestClient, cases: Cases) -> None:
    body = case_client.get("/api/compare", params=[("run", cases.base), ("run", cases.tuned)]).json()
    assert body["schema"] == "rgym.compare/1"
    (comparison,) = body["comparisons"]
    assert comparison["verdict"] == "better"
    assert comparison["metrics"][0]["p_value"] == pytest.approx(2 / 64)
    page = case_client.get("/api/compare.html", params=[("run", cases.base), ("run", cases.tuned)])
    assert page.status_code == 200 and "better" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    one = case_client.get("/api/compare", params={"run": cases.base})
    assert one.status_code == 400 and "at least two runs" in one.json()["detail"]
    missing = case_client.get("/api/compare", params=[("run", cases.base), ("run", "ZZZZZZ")])
    assert missing.status_code == 404
    history = case_client.get("/api/history", params={"run": cases.tuned}).json()
    assert history["schema"] == "rgym.history/1" and history["agent"] == "tuner:4"
    assert [r["run_id"] for s in history["series"] for r in s["runs"]] == [cases.tuned]
