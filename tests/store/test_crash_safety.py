"""kill -9 of a writer loses no committed step, and the next open marks its episode interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import IO

import pytest
from sqlalchemy import update

from gym_core.store import TraceStore, open_store
from gym_core.store.models import Episode
from tests.conftest import REPO_ROOT
from tests.store.factory import new_run, record_steps

pytestmark = pytest.mark.slow


def _read_until(stream: IO[str], prefix: str, deadline: float) -> list[str]:
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"child never printed {prefix!r}; got {lines[-5:]}")


@pytest.mark.parametrize(
    "url_fixture", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)]
)
def test_kill_9_mid_episode_keeps_every_committed_step(
    url_fixture: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue(url_fixture))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_writer", url],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        _, run_id, episode_id = _read_until(child.stdout, "episode ", deadline)[-1].split()
        # Let it commit a good number of steps, then kill it mid-write.
        lines = _read_until(child.stdout, "step 30", deadline)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        lines += child.stdout.read().splitlines()  # anything it printed before dying
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    confirmed = max(int(line.split()[1]) for line in lines if line.startswith("step "))

    with open_store(url) as store:  # opening recovers: the dead owner's episode is interrupted
        episode = store.get_episode(episode_id)
        indices = [s.index for s in store.list_steps(episode_id)]
        run = store.get_run(run_id)
        assert store.pending_attempts(run_id) == [0]
    assert episode.status == "interrupted"
    assert str(child.pid) in (episode.error or "")
    assert run.status == "interrupted"
    # Every step it confirmed is there, at most the one in flight beyond that, in order, no duplicates.
    assert indices == list(range(len(indices)))
    assert confirmed + 1 <= len(indices) <= confirmed + 2
    assert episode.n_steps == len(indices)


def test_live_owner_is_not_marked_interrupted(store: TraceStore, sqlite_url: str) -> None:
    run_id = new_run(store)
    ep = store.start_episode(run_id, index=0, seed=None)
    record_steps(store, ep, 2)
    with open_store(sqlite_url) as second:  # a second process-local open runs recovery too
        assert second.mark_interrupted() == 0
        assert second.get_episode(ep).status == "running"
        assert second.get_run(run_id).status == "running"


def test_recycled_pid_is_not_mistaken_for_the_owner(store: TraceStore) -> None:
    run_id = new_run(store)
    ep = store.start_episode(run_id, index=0, seed=None)
    # Same pid and host as this (live) process, but a start time from long before: a different process.
    with store._engine.begin() as conn:
        conn.execute(
            update(Episode).where(Episode.id == ep).values(owner_started=Episode.owner_started - 3600)
        )
    assert store.mark_interrupted() == 1
    assert store.get_episode(ep).status == "interrupted"
    assert store.get_run(run_id).status == "running"  # the run's owner (us) is alive


def test_owner_on_another_host_is_left_alone(store: TraceStore) -> None:
    ep = store.start_episode(new_run(store), index=0, seed=None)
    with store._engine.begin() as conn:
        conn.execute(
            update(Episode).where(Episode.id == ep).values(owner_host="elsewhere", owner_pid=os.getpid() + 1)
        )
    assert store.mark_interrupted() == 0
    assert store.get_episode(ep).status == "running"


def test_resumed_attempt_reopens_the_run(store: TraceStore) -> None:
    run_id = new_run(store, k=2)
    done = store.start_episode(run_id, index=0, seed=0)
    store.finish_episode(done, status="submitted", final_raw=1.0, final_normalized=0.5)
    store.finish_run(run_id, status="interrupted")
    assert store.pending_attempts(run_id) == [1]
    ep = store.start_episode(run_id, index=1, seed=1)
    assert store.get_run(run_id).status == "running"
    store.finish_episode(ep, status="crashed", final_raw=None, final_normalized=None, failure_kind="crashed")
    assert store.pending_attempts(run_id) == []
