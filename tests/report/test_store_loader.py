"""Loading runs from the trace store for reports (gym_core.report.store_loader).

Pinned here: which workspace files the method-consistency diff reads (small UTF-8 text files, not the
submission, caches, symlinks or binaries), which shell commands of an attempt count as executed (its
``bash`` actions only), which runs a ``--history`` gathers, with the errors a user sees otherwise, and what
the run list's rows (``rgym runs``, the viewer) carry.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gym_core.errors import ConfigError
from gym_core.outcomes import EpisodeStatus, RunStatus
from gym_core.report.run_rows import RunRow
from gym_core.report.store_loader import (
    MAX_DIFF_FILE_BYTES,
    _bash_commands,
    _text_files,
    load_history_runs,
    load_run_data,
    load_run_rows,
    load_suite_run_rows,
)
from gym_core.store import TraceStore, open_store
from tests.report.pinned_run import record_pinned_run

SCORING = {
    "metric_name": "abs_error",
    "direction": "minimize",
    "baseline_raw": 5.0,
    "reference_raw": 0.0,
    "success_threshold": 0.5,
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    with open_store(f"sqlite:///{tmp_path / 'traces.db'}") as opened:
        yield opened


def _run(store: TraceStore, task_id: str, agent: str) -> str:
    return store.create_run(
        task_id=task_id,
        task_version=1,
        task_checksum="sha256:x",
        agent=agent,
        config={"scoring": SCORING},
        backend="local",
        budget={"wall_time_s": 100.0},
        perturbations={},
        k=1,
        seed=0,
    )


def _step(store: TraceStore, episode: str, index: int, action: dict[str, Any] | str) -> None:
    store.record_step(
        episode,
        index=index,
        action=action,
        observation={"output": "", "exit_code": 0},
        exit_code=0,
        started_at=datetime.now(UTC),
        duration_s=0.01,
        agent_time_s=0.0,
        flags={},
        usage={},
    )


def test_the_diff_reads_small_utf8_text_files_and_leaves_the_rest_out(tmp_path: Path) -> None:
    """Files are walked in name order; one left out must not stop the walk (a later file still counts)."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a_binary.txt").write_bytes(b"x\0y")  # valid UTF-8, but a NUL byte: binary
    (root / "b_big.txt").write_bytes(b"b" * (MAX_DIFF_FILE_BYTES + 1))
    (root / "c_exact.txt").write_bytes(b"c" * MAX_DIFF_FILE_BYTES)  # exactly the limit: kept
    (root / "d_latin1.txt").write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8
    (root / "e_link.txt").symlink_to(root / "c_exact.txt")
    (root / "f_dir").mkdir()
    (root / "f_dir" / "train.py").write_text("print('method')\n")
    (root / "answer.txt").write_text("42\n")  # the submission: an output, not method
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "train.py").write_text("cached\n")
    (root / "z_last.py").write_text("print('last')\n")

    files = _text_files(root, {"answer.txt"})

    assert files == {
        "c_exact.txt": "c" * MAX_DIFF_FILE_BYTES,
        "f_dir/train.py": "print('method')\n",
        "z_last.py": "print('last')\n",
    }


def test_only_bash_actions_with_a_command_count_as_shell_commands(store: TraceStore) -> None:
    episode = store.start_episode(_run(store, "tiny-mean", "script:a"), index=0, seed=0)
    _step(store, episode, 0, {"tool": "bash", "command": "python train.py"})
    _step(store, episode, 1, {"tool": "write_file", "path": "x.py", "command": "python x.py"})
    _step(store, episode, 2, {"tool": "bash", "command": ["python", "list.py"]})
    _step(store, episode, 3, {"tool": "bash", "command": "python eval.py"})

    assert _bash_commands(store, episode) == ["python train.py", "python eval.py"]


def test_a_history_is_every_run_of_the_same_agent_on_the_same_task(store: TraceStore) -> None:
    first = _run(store, "tiny-mean", "script:a")
    second = _run(store, "tiny-mean", "script:a")
    _run(store, "other-task", "script:a")
    _run(store, "tiny-mean", "script:b")

    runs = load_history_runs(store, [first])

    assert sorted(r.run_id for r in runs) == sorted([first, second])


def test_a_history_needs_a_run_id(store: TraceStore) -> None:
    with pytest.raises(ConfigError) as raised:
        load_history_runs(store, [])
    assert (raised.value.message, raised.value.hint) == (
        "--history needs a run id",
        "rgym compare RUN_ID --history",
    )


def test_a_history_of_runs_of_two_tasks_or_agents_is_refused_naming_each_pair(store: TraceStore) -> None:
    one = _run(store, "tiny-mean", "script:b")
    two = _run(store, "other-task", "script:a")

    with pytest.raises(ConfigError) as raised:
        load_history_runs(store, [one, two])

    assert raised.value.message == "a history shows one agent on one task"
    assert raised.value.hint == (
        "give one run, or runs of the same agent and task: other-task / script:a; tiny-mean / script:b"
    )


def test_a_history_is_scored_without_workspace_diffs(store: TraceStore, tmp_path: Path) -> None:
    """A history only plots scores over time: it must not restore every attempt's snapshot to diff it."""
    pinned = record_pinned_run(store, tmp_path)

    (run,) = load_history_runs(store, [pinned.run_id])

    assert len(run.attempts) == 5
    assert [(a.workspace_diff, a.executed_files) for a in run.attempts] == [(None, None)] * 5
    assert store.get_run_consistency(pinned.run_id) is None


def test_a_suite_run_that_cannot_be_scored_still_gets_its_row_with_the_reason(store: TraceStore) -> None:
    suite_run_id = store.create_suite_run(
        suite="core", tasks=["no-such-task"], agent="script:a", config={}, k=1
    )
    run_id = store.create_run(
        task_id="no-such-task",
        task_version=1,
        task_checksum="sha256:x",
        agent="script:a",
        config={},  # no scoring constants, and the task is not found
        backend="local",
        budget={},
        perturbations={},
        k=1,
        seed=0,
        suite_run_id=suite_run_id,
    )
    suite_run = store.get_suite_run(suite_run_id)

    (row,) = load_suite_run_rows(store, [suite_run])

    assert (row.suite_run_id, row.suite, row.agent, row.created_at) == (
        suite_run_id,
        "core",
        "script:a",
        suite_run.created_at,
    )
    assert (row.k, row.tasks, row.runs, row.means, row.na_reason) == (1, 1, 1, {}, None)
    assert row.problem == (
        f"run {run_id}: its task no-such-task is not found and the run holds no scoring constants"
        " (add the task's folder to RGYM_TASKS_PATH)"
    )


def test_a_later_unfinished_try_of_an_index_does_not_replace_its_earlier_finished_one(
    store: TraceStore,
) -> None:
    """Per attempt index, the try that counts is the latest that finished for good: a try started later that
    is still running, or was interrupted, must not take its place (the report would lose a recorded score)."""
    run_id = _run(store, "t", "script:a")
    first = store.start_episode(run_id, index=0, seed=0)
    store.finish_episode(first, status=EpisodeStatus.SUBMITTED, final_raw=1.0, final_normalized=0.8)
    interrupted = store.start_episode(run_id, index=0, seed=0)
    store.finish_episode(interrupted, status=EpisodeStatus.INTERRUPTED, final_raw=None, final_normalized=None)
    running = store.start_episode(run_id, index=0, seed=0)
    other = store.start_episode(run_id, index=1, seed=1)
    store.finish_episode(other, status=EpisodeStatus.SUBMITTED, final_raw=4.0, final_normalized=0.2)
    episodes = {e.id: e for e in store.list_episodes(run_id)}
    assert episodes[first].started_at < episodes[interrupted].started_at < episodes[running].started_at

    data = load_run_data(store, run_id, with_diffs=False)

    assert [(a.index, a.episode_id, a.status, a.final_raw) for a in data.attempts] == [
        (0, first, EpisodeStatus.SUBMITTED, 1.0),
        (1, other, EpisodeStatus.SUBMITTED, 4.0),
    ]


def test_a_run_that_cannot_be_scored_still_gets_its_row_with_the_reason(store: TraceStore) -> None:
    """The row carries the run's record as stored (checksum, K, perturbations, suite run) next to the reason."""
    suite_run_id = store.create_suite_run(
        suite="core", tasks=["no-such-task"], agent="script:a", config={}, k=3
    )
    run_id = store.create_run(
        task_id="no-such-task",
        task_version=2,
        task_checksum="sha256:abc",
        agent="script:a",
        config={},  # no scoring constants, and the task is not found
        backend="local",
        budget={},
        perturbations={"noise": "0.1"},
        k=3,
        seed=0,
        suite_run_id=suite_run_id,
    )
    run = store.get_run(run_id)

    (row,) = load_run_rows(store, [run])

    assert row == RunRow(
        run_id=run_id,
        task_id="no-such-task",
        task_version=2,
        task_checksum="sha256:abc",
        agent="script:a",
        status=RunStatus.RUNNING,
        created_at=run.created_at,
        k=3,
        perturbations={"noise": "0.1"},
        metrics=None,
        problem=f"run {run_id}: its task no-such-task is not found and the run holds no scoring constants"
        " (add the task's folder to RGYM_TASKS_PATH)",
        suite_run_id=suite_run_id,
    )


def test_the_run_list_scores_runs_without_workspace_diffs(store: TraceStore, tmp_path: Path) -> None:
    """A row shows pass@K and the like: listing runs must not restore every attempt's snapshot to diff it, so
    method consistency stays unknown there and nothing is cached, though the task folder is at hand."""
    pinned = record_pinned_run(store, tmp_path)

    (row,) = load_run_rows(store, [store.get_run(pinned.run_id)])

    assert row.problem is None
    assert row.metrics is not None
    assert (row.metrics.n, row.metrics.c, row.metrics.pass_at_k, row.metrics.n_compared) == (5, 3, 0.9, 0)
    assert math.isnan(row.metrics.method_consistency)
    assert store.get_run_consistency(pinned.run_id) is None
    # The same run, with diffs, does compare its three successes (so the row above left them out).
    full = load_run_data(store, pinned.run_id)
    assert [a.workspace_diff is not None for a in full.attempts] == [True, True, True, False, False]
