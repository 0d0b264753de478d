"""`rgym episodes`, `rgym replay` and `rgym export` against a real SQLite trace store."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.cli.main import main
from gym_core.store import INLINE_TEXT_CAP, TraceStore, open_store
from tests.store.factory import new_run, record_steps, step_kwargs

LONG_OUTPUT = "".join(f"row {i}\n" for i in range(10_000))


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    monkeypatch.setenv("RGYM_STORE", url)
    return url


@pytest.fixture
def filled(store_url: str) -> Iterator[tuple[TraceStore, str, list[str]]]:
    """A run of two attempts: one submitted with a validate and a long output, one crashed."""
    store = open_store(store_url)
    run_id = new_run(store, k=2)
    first = store.start_episode(run_id, index=0, seed=0)
    record_steps(store, first, 2)
    store.record_step(first, **step_kwargs(2, output=LONG_OUTPUT))
    store.record_step(first, **{**step_kwargs(3), "action": {"tool": "validate"}})
    store.record_evaluation(
        first,
        step_index=3,
        kind="validate",
        raw_score=0.42,
        normalized_score=0.25,
        valid=True,
        grader_output="ece=0.42",
        snapshot=None,
    )
    store.finish_episode(first, status="submitted", final_raw=0.42, final_normalized=0.25)
    second = store.start_episode(run_id, index=1, seed=1)
    record_steps(store, second, 1)
    store.finish_episode(
        second, status="crashed", final_raw=None, final_normalized=None, failure_kind="crashed", error="boom"
    )
    store.finish_run(run_id, status="completed")
    yield store, run_id, [first, second]
    store.close()


def test_episodes_lists_one_line_per_attempt(
    filled: tuple[TraceStore, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, run_id, episodes = filled
    assert main(["episodes", run_id[:20].lower()]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if any(ep in line for ep in episodes)]
    assert len(rows) == 2
    assert "submitted" in rows[0] and "0.42" in rows[0] and "0.25" in rows[0]
    assert "crashed" in rows[1]
    assert f"run {run_id}" in out


def test_replay_shows_actions_outputs_and_scores(
    filled: tuple[TraceStore, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, episodes = filled
    assert main(["replay", episodes[0]]) == 0
    out = capsys.readouterr().out
    assert "$ echo 0" in out and "$ echo 1" in out
    assert "validate: raw 0.42  normalized 0.25  (valid)" in out
    assert "row 0" in out and "row 5000" not in out  # long outputs are previewed
    assert "more lines" in out


def test_replay_one_step_shows_its_full_output(
    filled: tuple[TraceStore, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, episodes = filled
    assert len(LONG_OUTPUT) > INLINE_TEXT_CAP  # the store cut it; the full text comes from the artifact
    assert main(["replay", episodes[0], "--step", "2"]) == 0
    out = capsys.readouterr().out
    assert "row 5000" in out and "row 9999" in out
    assert "$ echo 0" not in out


def test_replay_execute_hands_the_resolved_episode_to_the_replayer(
    filled: tuple[TraceStore, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, episodes = filled
    calls: list[str] = []
    fake = types.ModuleType("gym_core.replay")
    fake.execute_replay = lambda store, episode_id, **_kw: calls.append(episode_id)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gym_core.replay", fake)
    assert main(["replay", episodes[0][:22], "--execute"]) == 0
    assert calls == [episodes[0]]


def test_export_writes_valid_json_lines_with_every_step(
    filled: tuple[TraceStore, str, list[str]], tmp_path: Path
) -> None:
    store, run_id, episodes = filled
    out = tmp_path / "out" / "run.jsonl"
    assert main(["export", run_id, "--format", "jsonl", "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["type"] == "run" and records[0]["id"] == run_id
    steps = [(r["episode_id"], r["index"]) for r in records if r["type"] == "step"]
    expected = [(ep, s.index) for ep in episodes for s in store.list_steps(ep)]
    assert steps == expected and len(steps) == 5
    assert [r["id"] for r in records if r["type"] == "episode"] == episodes
    assert [r["raw_score"] for r in records if r["type"] == "evaluation"] == [0.42]
    assert not out.with_name("run.jsonl.partial").exists()


def test_export_to_stdout(
    filled: tuple[TraceStore, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, run_id, _ = filled
    assert main(["export", run_id]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["type"] for line in lines].count("step") == 5


def test_bad_input_is_one_line_and_exit_2(
    filled: tuple[TraceStore, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, run_id, episodes = filled
    assert main(["export", run_id, "--format", "csv"]) == 2
    assert "--format 'csv' is not supported" in capsys.readouterr().err
    assert main(["replay", episodes[0], "--step", "99"]) == 2
    assert "has no step 99" in capsys.readouterr().err


def test_unknown_id_in_a_real_process_prints_one_line(store_url: str) -> None:
    open_store(store_url).close()
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "episodes", "01ZZZZ", "--store", store_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no run id starts with '01ZZZZ' in the trace store {store_url}"
    ]


def test_replay_lists_the_requests_a_step_s_network_refused() -> None:
    from gym_core.cli.traces import _refusal_lines

    flags = {
        "blocked_requests": [
            {
                "method": "GET",
                "target": "http://paper.test/abs/1",
                "reason": "blocked_url",
                "pattern": "paper.test/abs/*",
            },
            {"method": "CONNECT", "target": "10.0.0.5:443", "reason": "local_address", "pattern": None},
        ],
        "blocked_requests_count": 7,
    }
    lines = [str(t) for t in _refusal_lines(flags)]
    assert lines == [
        "network refused: GET http://paper.test/abs/1 (blocked_url, pattern paper.test/abs/*)",
        "network refused: CONNECT 10.0.0.5:443 (local_address)",
        "network refused 5 more requests",
    ]
    assert _refusal_lines({"skipped": True}) == []
