"""Round trips through the trace store API, on SQLite and (marked postgres) on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gym_core.errors import NotFoundError, StoreError
from gym_core.store import INLINE_TEXT_CAP, TraceStore, open_store
from gym_core.store.ids import new_id
from tests.store.factory import new_run, record_steps, step_kwargs


def _workspace(root: Path, text: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "predictions.csv").write_text(text)
    (root / "src" / "model.py").write_text("print('hi')\n")
    return root


def test_full_episode_round_trip(any_store_url: str, tmp_path: Path) -> None:
    store = open_store(any_store_url)
    try:
        run_id = new_run(store, k=2)
        ep = store.start_episode(run_id, index=0, seed=11)
        record_steps(store, ep, 3)
        store.record_step(ep, **{**step_kwargs(3), "action": '{"tool": "bash", "command": '})  # malformed
        snap = store.snapshot_workspace(_workspace(tmp_path / "ws", "a\n1\n"))
        store.record_evaluation(
            ep,
            step_index=3,
            kind="validate",
            raw_score=0.4,
            normalized_score=0.2,
            valid=True,
            grader_output="score=0.4",
            snapshot=snap,
        )
        store.record_evaluation(
            ep,
            step_index=4,
            kind="submit",
            raw_score=0.3,
            normalized_score=0.1,
            valid=True,
            grader_output="score=0.3",
            snapshot=snap,
        )
        store.finish_episode(
            ep, status="submitted", final_raw=0.3, final_normalized=0.1, usage={"cpu_s": 1.5}
        )
        store.finish_run(run_id, status="completed")

        run = store.get_run(run_id)
        assert (run.task_id, run.k, run.seed, run.status) == ("tiny-mean", 2, 7, "completed")
        assert run.budget == {"wall_time_s": 600, "step_limit": 50}
        assert run.finished_at is not None and run.finished_at.tzinfo is not None

        episode = store.get_episode(ep)
        assert episode.status == "submitted"
        assert (episode.n_steps, episode.n_evals) == (4, 2)
        assert (episode.final_raw, episode.final_normalized) == (0.3, 0.1)
        # The best score was tracked from the evaluations, not passed to finish_episode.
        assert (episode.best_raw, episode.best_normalized) == (0.4, 0.2)
        assert episode.usage == {"cpu_s": 1.5}
        assert episode.wall_time_s is not None and episode.wall_time_s >= 0

        steps = store.list_steps(ep)
        assert [s.index for s in steps] == [0, 1, 2, 3]
        assert steps[0].action == {"tool": "bash", "command": "echo 0"}
        assert steps[3].action == '{"tool": "bash", "command": '
        assert steps[1].observation["output"] == "1\n"
        assert steps[1].started_at.tzinfo is not None

        evals = store.list_evaluations(ep)
        assert [(e.kind, e.raw_score, e.snapshot) for e in evals] == [
            ("validate", 0.4, snap),
            ("submit", 0.3, snap),
        ]
        assert [e.id for e in store.list_episodes(run_id)] == [ep]
        assert store.pending_attempts(run_id) == [1]
        assert run_id in [r.id for r in store.list_runs()]
    finally:
        store.close()


def test_long_output_is_capped_inline_and_kept_whole_as_artifact(store: TraceStore) -> None:
    ep = store.start_episode(new_run(store), index=0, seed=None)
    long = "".join(f"line {i}\n" for i in range(20_000))
    assert len(long) > 4 * INLINE_TEXT_CAP
    store.record_step(ep, **step_kwargs(0, output=long))

    step = store.get_step(ep, 0)
    inline = step.observation["output"]
    assert len(inline.encode()) < INLINE_TEXT_CAP + 200
    assert inline.startswith("line 0\n") and inline.endswith("line 19999\n")
    assert "bytes cut" in inline
    assert set(step.overflow) == {"output"}
    assert store.get_step_output(ep, 0) == long


def test_scores_that_are_not_finite_are_stored_as_null(store: TraceStore) -> None:
    ep = store.start_episode(new_run(store), index=0, seed=None)
    store.record_step(ep, **{**step_kwargs(0), "observation": {"output": "", "score": float("nan")}})
    store.record_evaluation(
        ep,
        step_index=0,
        kind="auto",
        raw_score=float("nan"),
        normalized_score=float("inf"),
        valid=False,
        grader_output="bad submission",
        snapshot=None,
    )
    assert store.get_step(ep, 0).observation["score"] is None
    evaluation = store.list_evaluations(ep)[0]
    assert (evaluation.raw_score, evaluation.normalized_score, evaluation.valid) == (None, None, False)
    assert store.get_episode(ep).best_normalized is None


def test_an_invalid_grading_after_a_valid_one_keeps_the_best(store: TraceStore) -> None:
    """A valid validate, then an invalid submit (no score): recorded, and the best stays the validate's."""
    ep = store.start_episode(new_run(store), index=0, seed=None)
    grading = {"grader_output": "", "snapshot": None}
    store.record_evaluation(
        ep, step_index=0, kind="validate", raw_score=0.4, normalized_score=0.2, valid=True, **grading
    )
    store.record_evaluation(
        ep, step_index=1, kind="submit", raw_score=None, normalized_score=None, valid=False, **grading
    )
    episode = store.get_episode(ep)
    assert (episode.best_raw, episode.best_normalized, episode.n_evals) == (0.4, 0.2, 2)
    assert [e.valid for e in store.list_evaluations(ep)] == [True, False]


def test_duplicate_step_index_is_refused(store: TraceStore) -> None:
    ep = store.start_episode(new_run(store), index=0, seed=None)
    record_steps(store, ep, 2)
    with pytest.raises(StoreError, match="already has a step 1"):
        store.record_step(ep, **step_kwargs(1))
    assert store.count_steps(ep) == 2
    assert store.get_episode(ep).n_steps == 2  # the failed write left no trace


def test_finished_episode_takes_no_more_writes(store: TraceStore) -> None:
    ep = store.start_episode(new_run(store), index=0, seed=None)
    store.finish_episode(
        ep, status="truncated", final_raw=None, final_normalized=None, failure_kind="timed_out"
    )
    with pytest.raises(StoreError, match="is truncated, not running"):
        store.record_step(ep, **step_kwargs(0))
    with pytest.raises(StoreError, match="not running"):
        store.finish_episode(ep, status="submitted", final_raw=1.0, final_normalized=1.0)


def test_unknown_ids_raise_not_found(store: TraceStore) -> None:
    missing = new_id()
    with pytest.raises(NotFoundError, match=f"run {missing} is not in the trace store"):
        store.get_run(missing)
    with pytest.raises(NotFoundError, match="episode"):
        store.list_steps(missing)
    with pytest.raises(NotFoundError):
        store.record_step(missing, **step_kwargs(0))
    with pytest.raises(NotFoundError):
        store.start_episode(missing, index=0, seed=None)
    with pytest.raises(NotFoundError):
        store.get_artifact("0" * 64)


def test_id_prefixes_resolve_when_unique(store: TraceStore) -> None:
    run_a = new_run(store)
    ep = store.start_episode(run_a, index=0, seed=None)
    assert store.resolve_run_id(run_a) == run_a
    assert store.resolve_run_id(run_a[:20].lower()) == run_a
    assert store.resolve_episode_id(ep[:22]) == ep
    run_b = new_run(store)
    common = next(i for i in range(26) if run_a[i] != run_b[i])
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.resolve_run_id(run_a[:common])
    with pytest.raises(NotFoundError, match="no run id starts with"):
        store.resolve_run_id("ZZZZZZ")
    with pytest.raises(NotFoundError, match="is not a run id"):
        store.resolve_run_id("01J9-%")


def test_ids_sort_by_creation_time() -> None:
    earlier = new_id(now_ms=1_700_000_000_000)
    later = new_id(now_ms=1_700_000_000_001)
    assert len(earlier) == 26 and earlier < later


def test_naive_times_are_refused(store: TraceStore) -> None:
    ep = store.start_episode(new_run(store), index=0, seed=None)
    naive = {**step_kwargs(0), "started_at": datetime.now(UTC).replace(tzinfo=None)}
    with pytest.raises(StoreError, match="timezone-aware"):
        store.record_step(ep, **naive)
    other_zone = datetime.now(UTC).astimezone(tz=None) - timedelta(0)
    store.record_step(ep, **{**step_kwargs(0), "started_at": other_zone})
    assert store.get_step(ep, 0).started_at == other_zone


def test_export_is_json_lines_with_every_record(any_store_url: str) -> None:
    store = open_store(any_store_url)
    try:
        run_id = new_run(store, k=2)
        episodes = [store.start_episode(run_id, index=i, seed=i) for i in range(2)]
        for n, ep in enumerate(episodes):
            record_steps(store, ep, 3 + n)
            store.record_evaluation(
                ep,
                step_index=2,
                kind="submit",
                raw_score=1.0,
                normalized_score=0.5,
                valid=True,
                grader_output="ok",
                snapshot=None,
            )
        lines = [json.dumps(record) for record in store.export_run(run_id)]
    finally:
        store.close()
    records = [json.loads(line) for line in lines]
    types = [r["type"] for r in records]
    assert types.count("run") == 1 and types[0] == "run"
    assert types.count("episode") == 2
    assert types.count("evaluation") == 2
    steps = [(r["episode_id"], r["index"]) for r in records if r["type"] == "step"]
    assert steps == [(episodes[0], i) for i in range(3)] + [(episodes[1], i) for i in range(4)]


def test_bad_store_urls_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        open_store("mysql://localhost/db")
    with pytest.raises(StoreError, match="names no file"):
        open_store("sqlite://")
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("traces.db")


def test_default_store_lives_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gym_core.settings import get_settings

    monkeypatch.setenv("RGYM_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    with open_store() as store:
        new_run(store)
    assert (tmp_path / "data" / "traces.db").is_file()
