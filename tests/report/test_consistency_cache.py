"""Reports at scale: all evaluations of a run in one query, and method consistency cached per run.

The cache must never change a number: a report from the cache equals one computed from the snapshots, and
a new successful attempt, or a new version of the algorithm, recomputes it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic_store import METHODS, build_store
from gym_core.outcomes import EpisodeStatus, EvaluationKind
from gym_core.report import consistency_cache, render_report
from gym_core.report.store_loader import load_run_data
from gym_core.scoring.metrics import compute_metrics
from gym_core.store import TraceStore, open_store

ATTEMPTS = 10  # 7 successes (index % 10 < 7), over all five methods


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TraceStore, str]]:
    url = (
        f"sqlite:///{tmp_path / 'traces.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    run_id = build_store(url, attempts=ATTEMPTS, steps=4)
    store = open_store(url)
    yield store, run_id
    store.close()


def _count_restores(monkeypatch: pytest.MonkeyPatch, store: TraceStore) -> list[str]:
    restored: list[str] = []
    original = store.restore_snapshot

    def spy(digest: str, dest: Path) -> None:
        restored.append(digest)
        original(digest, dest)

    monkeypatch.setattr(store, "restore_snapshot", spy)
    return restored


def _add_success(store: TraceStore, run_id: str, index: int, method: str, tmp_path: Path) -> str:
    """A new successful attempt whose final workspace appends ``method`` to baseline.py."""
    workspace = tmp_path / f"ws-{index}"
    workspace.mkdir()
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean" / "workspace"
    (workspace / "baseline.py").write_text((fixture / "baseline.py").read_text() + method)
    (workspace / "answer.txt").write_text("10.0\n")
    episode = store.start_episode(run_id, index=index, seed=index)
    store.record_evaluation(
        episode,
        step_index=0,
        kind=EvaluationKind.SUBMIT,
        raw_score=0.0,
        normalized_score=1.0,
        valid=True,
        grader_output="abs_error: 0\n",
        snapshot=store.snapshot_workspace(workspace),
    )
    store.finish_episode(episode, status=EpisodeStatus.SUBMITTED, final_raw=0.0, final_normalized=1.0)
    return episode


def _report(store: TraceStore, run_id: str) -> str:
    return render_report([load_run_data(store, run_id)], "json")


def test_all_evaluations_of_a_run_in_one_query_match_each_episode(filled: tuple[TraceStore, str]) -> None:
    store, run_id = filled
    by_episode = store.list_run_evaluations(run_id)
    episodes = store.list_episodes(run_id)
    assert len(episodes) == ATTEMPTS
    for episode in episodes:
        assert by_episode[episode.id] == store.list_evaluations(episode.id)
    assert set(by_episode) == {e.id for e in episodes}


def test_a_cached_report_equals_the_computed_one_and_restores_nothing(
    filled: tuple[TraceStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id = filled
    restored = _count_restores(monkeypatch, store)
    computed = _report(store, run_id)
    assert len(restored) == 7  # one per success: the first report computes and stores the value
    cached = store.get_run_consistency(run_id)
    assert cached is not None and cached.n_compared == 7
    assert cached.value is not None and 0.0 < cached.value < 1.0

    restored.clear()
    assert _report(store, run_id) == computed
    assert restored == []
    data = load_run_data(store, run_id)
    assert all(a.workspace_diff is None for a in data.attempts)  # nothing was diffed
    metrics = compute_metrics(data)
    assert (metrics.method_consistency, metrics.n_compared) == (cached.value, 7)


def test_the_cached_value_is_what_the_report_shows(filled: tuple[TraceStore, str]) -> None:
    store, run_id = filled
    load_run_data(store, run_id)
    cached = store.get_run_consistency(run_id)
    assert cached is not None
    store.put_run_consistency(run_id, key=cached.key, value=0.123, n_compared=7)
    assert compute_metrics(load_run_data(store, run_id)).method_consistency == 0.123


def test_a_new_successful_attempt_recomputes_the_value(
    filled: tuple[TraceStore, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, run_id = filled
    before = store.get_run_consistency(run_id)
    load_run_data(store, run_id)
    first = store.get_run_consistency(run_id)
    assert before is None and first is not None

    _add_success(store, run_id, ATTEMPTS, METHODS[0], tmp_path)
    restored = _count_restores(monkeypatch, store)
    metrics = compute_metrics(load_run_data(store, run_id))
    assert len(restored) == 8
    assert metrics.n_compared == 8
    second = store.get_run_consistency(run_id)
    assert second is not None and second.key != first.key and second.n_compared == 8
    # The recomputed value is the one the snapshots give, not the old one.
    fresh = compute_metrics(load_run_data(store, run_id, with_diffs=True))
    assert fresh.method_consistency == metrics.method_consistency != first.value


def test_a_new_algorithm_version_recomputes_the_value(
    filled: tuple[TraceStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id = filled
    load_run_data(store, run_id)
    first = store.get_run_consistency(run_id)
    assert first is not None
    store.put_run_consistency(run_id, key=first.key, value=0.5, n_compared=7)  # a value to be replaced

    monkeypatch.setattr(consistency_cache, "ALGORITHM_VERSION", consistency_cache.ALGORITHM_VERSION + 1)
    consistency_cache.algorithm_version.cache_clear()
    try:
        restored = _count_restores(monkeypatch, store)
        metrics = compute_metrics(load_run_data(store, run_id))
    finally:
        monkeypatch.undo()
        consistency_cache.algorithm_version.cache_clear()
    assert len(restored) == 7
    assert metrics.method_consistency == first.value
    second = store.get_run_consistency(run_id)
    assert second is not None and second.key != first.key and second.value == first.value


def test_a_report_of_a_read_only_store_still_computes(
    filled: tuple[TraceStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id = filled
    expected = _report(store, run_id)
    store.put_run_consistency(run_id, key="stale", value=0.9, n_compared=1)

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        from gym_core.errors import StoreError

        raise StoreError("read-only")

    monkeypatch.setattr(store, "put_run_consistency", refuse)
    assert _report(store, run_id) == expected


def test_without_diffs_nothing_is_cached_or_read(filled: tuple[TraceStore, str]) -> None:
    store, run_id = filled
    metrics = compute_metrics(load_run_data(store, run_id, with_diffs=False))
    assert math.isnan(metrics.method_consistency)
    assert store.get_run_consistency(run_id) is None
