"""Eight episodes of one run written at once, by threads and by processes, lose nothing."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gym_core.store import TraceStore, open_store
from gym_core.store.models import Artifact
from tests.store.factory import new_run, record_steps

PARALLEL = 8
STEPS = 40


def _play_episode(store: TraceStore, run_id: str, index: int, workspace: Path) -> None:
    ep = store.start_episode(run_id, index=index, seed=index)
    record_steps(store, ep, STEPS)
    snapshot = store.snapshot_workspace(workspace)  # every writer snapshots the same content at once
    store.record_evaluation(
        ep,
        step_index=STEPS - 1,
        kind="submit",
        raw_score=float(index),
        normalized_score=index / 10,
        valid=True,
        grader_output="ok",
        snapshot=snapshot,
    )
    store.finish_episode(ep, status="submitted", final_raw=float(index), final_normalized=index / 10)


def _play_episode_in_child(url: str, run_id: str, index: int, workspace: str) -> None:
    with open_store(url) as store:
        _play_episode(store, run_id, index, Path(workspace))


def _assert_nothing_lost(store: TraceStore, run_id: str) -> None:
    episodes = store.list_episodes(run_id)
    assert sorted(e.index for e in episodes) == list(range(PARALLEL))
    for episode in episodes:
        assert episode.status == "submitted"
        assert [s.index for s in store.list_steps(episode.id)] == list(range(STEPS))
        assert episode.n_steps == STEPS and episode.n_evals == 1
        assert episode.final_raw == float(episode.index)
    snapshots = {store.list_evaluations(e.id)[0].snapshot for e in episodes}
    assert len(snapshots) == 1
    with store._engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Artifact)) == 1  # deduplicated


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "predictions.csv").write_text("id,y\n1,0.5\n")
    return ws


def test_eight_threads_lose_nothing(store: TraceStore, tmp_path: Path) -> None:
    run_id = new_run(store, k=PARALLEL)
    ws = _workspace(tmp_path)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            _play_episode(store, run_id, index, ws)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    _assert_nothing_lost(store, run_id)


@pytest.mark.slow
@pytest.mark.parametrize(
    "url_fixture", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)]
)
def test_eight_processes_lose_nothing(
    url_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue(url_fixture))
    ws = _workspace(tmp_path)
    with open_store(url) as store:
        run_id = new_run(store, k=PARALLEL)
        # fork: the children start from this already-imported interpreter, which keeps the test fast.
        ctx = multiprocessing.get_context("fork")
        procs = [
            ctx.Process(target=_play_episode_in_child, args=(url, run_id, i, str(ws)))
            for i in range(PARALLEL)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=180)
        assert [p.exitcode for p in procs] == [0] * PARALLEL
        _assert_nothing_lost(store, run_id)


def _open_and_create_run(url: str, barrier: Any) -> None:
    barrier.wait(timeout=60)  # every process opens the fresh file at the same moment
    with open_store(url) as store:
        new_run(store)


@pytest.mark.slow
def test_processes_opening_a_fresh_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_ in range(3):  # the race is narrow: several fresh files make a miss unlikely
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
        barrier = ctx.Barrier(8)
        procs = [ctx.Process(target=_open_and_create_run, args=(url, barrier)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0] * 8
        with open_store(url) as store:
            assert len(store.list_runs()) == 8
