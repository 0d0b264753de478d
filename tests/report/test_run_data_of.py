"""What run_data_of reads from the trace store: every field of RunData and of each Attempt, checked against
values chosen by hand, with success without a reference, retried tries, wall times, the snapshot an
attempt's workspace diff is taken from, the method-consistency cache and suite runs.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from gym_core.outcomes import EpisodeStatus, EvaluationKind, Origin
from gym_core.report import store_loader
from gym_core.report.consistency_cache import cache_key
from gym_core.report.store_loader import load_run_data, load_suite_run_data
from gym_core.scoring.run_data import Attempt, EvalPoint, FailedTry, RunData
from gym_core.store import TraceStore
from gym_core.tasks.discovery import find_recorded_task
from tests.report import test_store_loader

store = test_store_loader.store  # the fixture: a fresh SQLite trace store
_step = test_store_loader._step

TINY_MEAN = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
INITIAL_BASELINE = (TINY_MEAN / "workspace" / "baseline.py").read_text()
#: The scoring constants of the tiny-mean task: abs_error, minimized, baseline 5, reference 0.
TINY_MEAN_SCORING = {
    "metric_name": "abs_error",
    "direction": "minimize",
    "baseline_raw": 5.0,
    "reference_raw": 0.0,
    "success_threshold": 0.5,
}


def _create_run(
    store: TraceStore,
    config: dict[str, Any],
    *,
    budget: dict[str, Any] | None = None,
    task_id: str = "no-such-task",
    suite_run_id: str | None = None,
) -> str:
    return store.create_run(
        task_id=task_id,
        task_version=1,
        task_checksum="sha256:x",
        agent="script:a",
        config=config,
        backend="local",
        budget={"wall_time_s": 100.0} if budget is None else budget,
        perturbations={},
        k=1,
        seed=0,
        suite_run_id=suite_run_id,
    )


def _evaluation(
    store: TraceStore,
    episode: str,
    step: int,
    kind: EvaluationKind,
    *,
    raw: float | None,
    normalized: float | None,
    snapshot: str | None,
) -> None:
    """A grading of ``episode`` at ``step`` (valid when it has a raw score)."""
    store.record_evaluation(
        episode,
        step_index=step,
        kind=kind,
        raw_score=raw,
        normalized_score=normalized,
        valid=raw is not None,
        grader_output="ok",
        snapshot=snapshot,
    )


def _finished(
    store: TraceStore,
    run_id: str,
    index: int,
    *,
    raw: float | None,
    normalized: float | None = None,
    status: str = EpisodeStatus.SUBMITTED,
    snapshot: str | None = None,
    origin: str | None = Origin.AGENT,
    retry_of: str | None = None,
    commands: tuple[str, ...] = (),
    **finish: Any,
) -> str:
    """An attempt that ran ``commands`` (bash), graded once (submit) on ``snapshot``, finished with those
    scores."""
    episode = store.start_episode(run_id, index=index, seed=index, retry_of=retry_of)
    for step, command in enumerate(commands):
        _step(store, episode, step, {"tool": "bash", "command": command})
    if snapshot is not None:
        _evaluation(
            store, episode, 0, EvaluationKind.SUBMIT, raw=raw, normalized=normalized, snapshot=snapshot
        )
    store.finish_episode(
        episode, status=status, final_raw=raw, final_normalized=normalized, origin=origin, **finish
    )
    return episode


def _task_copy(tmp_path: Path) -> Path:
    root = tmp_path / "tasks" / "tiny-mean"
    shutil.copytree(TINY_MEAN, root)
    return root


def _snapshot(
    store: TraceStore,
    tmp_path: Path,
    name: str,
    files: dict[str, str],
    *,
    omitted: list[tuple[str, str]] | None = None,
    truncated: bool = False,
) -> str:
    root = tmp_path / name
    root.mkdir()
    for rel, text in files.items():
        (root / rel).write_text(text)
    return store.snapshot_workspace(root, omitted=omitted or [], truncated=truncated)


def _tiny_mean_run(store: TraceStore, task_root: Path, suite_run_id: str | None = None) -> str:
    """A run of the tiny-mean copy at ``task_root`` (abs_error, minimized, baseline 5, reference 0)."""
    return _create_run(
        store,
        {
            "task_root": str(task_root),
            "scoring": TINY_MEAN_SCORING,
        },
        task_id="tiny-mean",
        suite_run_id=suite_run_id,
    )


# --- every field ------------------------------------------------------------------------------------


def test_every_field_of_the_run_and_its_attempts_is_read_from_the_store(store: TraceStore) -> None:
    run_id = store.create_run(
        task_id="no-such-task",  # the run holds its scoring constants: the task folder is not needed
        task_version=3,
        task_checksum="sha256:every",
        agent="script:every.jsonl",
        config={
            "scoring": {
                "metric_name": "accuracy",
                "direction": "maximize",
                "baseline_raw": 0.2,
                "reference_raw": 0.7,
                "baseline_public_raw": 0.25,
                "self_reported": True,
                "success_threshold": 0.4,
            }
        },
        backend="local",
        budget={"wall_time_s": 300.0},
        perturbations={"noise": 0.1, "shift": 2},
        k=3,
        seed=7,
    )
    first = store.start_episode(run_id, index=0, seed=11)
    _step(store, first, 0, {"tool": "validate"})
    _evaluation(store, first, 0, EvaluationKind.VALIDATE, raw=0.3, normalized=0.2, snapshot=None)
    _step(store, first, 1, {"tool": "submit"})
    _evaluation(store, first, 1, EvaluationKind.SUBMIT, raw=0.6, normalized=0.8, snapshot=None)
    store.finish_episode(
        first,
        status=EpisodeStatus.SUBMITTED,
        final_raw=0.6,
        final_normalized=0.8,
        origin=Origin.AGENT,
        usage={"wall_s": 12.5},
    )
    second = _finished(
        store,
        run_id,
        1,
        raw=None,
        status=EpisodeStatus.CRASHED,
        origin=Origin.ENVIRONMENT,
        error_kind="engine_error",
        error="engine refused the exec",
        failure_kind="crashed",
        usage={"wall_s": 7},
    )
    run = store.get_run(run_id)
    evaluations = store.list_evaluations(first)
    started = store.get_episode(first).started_at
    t_s = [(e.created_at - started).total_seconds() for e in evaluations]
    assert all(0.0 <= t < 1.0 for t in t_s)  # no sleep: the episode's clock is read, not a floor of 1 s

    data = load_run_data(store, run_id, with_diffs=False)

    assert data == RunData(
        run_id=run_id,
        task_id="no-such-task",
        task_version=3,
        task_checksum="sha256:every",
        agent="script:every.jsonl",
        metric_name="accuracy",
        direction="maximize",
        baseline_raw=0.2,
        reference_raw=0.7,
        baseline_public_raw=0.25,
        self_reported=True,
        success_threshold=0.4,
        k=3,
        perturbations={"noise": "0.1", "shift": "2"},
        attempts=(
            Attempt(
                episode_id=first,
                index=0,
                seed=11,
                status="submitted",
                failure_kind=None,
                final_raw=0.6,
                final_normalized=0.8,
                succeeded=True,
                evaluations=(
                    EvalPoint(step_index=0, t_s=t_s[0], kind="validate", raw=0.3, normalized=0.2),
                    EvalPoint(step_index=1, t_s=t_s[1], kind="submit", raw=0.6, normalized=0.8),
                ),
                wall_time_s=12.5,
                wall_budget_s=300.0,
                steps=2,
                workspace_diff=None,
                executed_files=None,
                origin="agent",
                error_kind=None,
                retried=(),
            ),
            Attempt(
                episode_id=second,
                index=1,
                seed=1,
                status="crashed",
                failure_kind="crashed",
                final_raw=None,
                final_normalized=None,
                succeeded=False,
                evaluations=(),
                wall_time_s=7.0,
                wall_budget_s=300.0,
                steps=0,
                origin="environment",
                error_kind="engine_error",
            ),
        ),
        created_at=run.created_at.isoformat(),
        known_consistency=None,
    )
    assert isinstance(data.created_at, str)
    assert data.self_reported is True


def test_constants_the_run_leaves_out_take_their_defaults(store: TraceStore) -> None:
    """No self_reported, no baseline_public_raw, no wall-time budget: False, None and 0 seconds."""
    run_id = _create_run(
        store,
        {"scoring": TINY_MEAN_SCORING},
        budget={"step_limit": 20},
    )
    _finished(store, run_id, 0, raw=1.0, normalized=0.8)

    data = load_run_data(store, run_id, with_diffs=False)

    assert data.self_reported is False
    assert data.baseline_public_raw is None
    assert (data.metric_name, data.direction) == ("abs_error", "minimize")
    assert [a.wall_budget_s for a in data.attempts] == [0.0]


def test_a_run_without_scoring_constants_is_scored_with_its_task_folder_even_without_diffs(
    store: TraceStore, tmp_path: Path
) -> None:
    task_root = _task_copy(tmp_path)
    run_id = _create_run(store, {"task_root": str(task_root)}, task_id="tiny-mean")
    _finished(store, run_id, 0, raw=1.0, normalized=0.8)

    data = load_run_data(store, run_id, with_diffs=False)

    # tiny-mean's task.yaml: abs_error minimized, baseline 5 (public 4), reference 0, success at 0.5
    assert (data.metric_name, data.direction, data.baseline_raw, data.reference_raw) == (
        "abs_error",
        "minimize",
        5.0,
        0.0,
    )
    assert (data.baseline_public_raw, data.success_threshold, data.self_reported) == (4.0, 0.5, False)
    assert [a.succeeded for a in data.attempts] == [True]


def test_without_diffs_a_run_holding_its_constants_does_not_look_its_task_up(
    store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing runs reads no task folder when the run stores its scoring constants."""
    run_id = _tiny_mean_run(store, _task_copy(tmp_path))
    _finished(store, run_id, 0, raw=1.0, normalized=0.8)

    def refuse(*_args: object) -> None:
        raise AssertionError("the task folder was read")

    monkeypatch.setattr(store_loader, "find_recorded_task", refuse)
    data = load_run_data(store, run_id, with_diffs=False)
    assert [a.succeeded for a in data.attempts] == [True]


# --- success without a reference --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        # final raw 6 (above the baseline 5), 5 (at it), 4 (below it), none (invalid submission)
        ("maximize", [True, False, False, False]),
        ("minimize", [False, False, True, False]),
    ],
)
def test_without_a_reference_success_is_beating_the_baseline_in_the_metric_s_direction(
    store: TraceStore, direction: str, expected: list[bool]
) -> None:
    run_id = _create_run(
        store,
        {
            "scoring": {
                "metric_name": "score",
                "direction": direction,
                "baseline_raw": 5.0,
                "reference_raw": None,
                "success_threshold": 0.5,
            }
        },
    )
    for index, raw in enumerate([6.0, 5.0, 4.0, None]):
        _finished(store, run_id, index, raw=raw)

    data = load_run_data(store, run_id, with_diffs=False)

    assert data.reference_raw is None
    assert [a.final_raw for a in data.attempts] == [6.0, 5.0, 4.0, None]
    assert [a.succeeded for a in data.attempts] == expected


# --- wall time ----------------------------------------------------------------------------------------


def test_wall_time_is_the_usage_s_number_else_the_episode_s_own_clock(store: TraceStore) -> None:
    run_id = _create_run(
        store,
        {"scoring": TINY_MEAN_SCORING},
    )
    by_usage = _finished(store, run_id, 0, raw=1.0, normalized=0.8, usage={"wall_s": 42})
    not_a_number = _finished(store, run_id, 1, raw=1.0, normalized=0.8, usage={"wall_s": "12.5"})
    no_usage = _finished(store, run_id, 2, raw=1.0, normalized=0.8)
    running = store.start_episode(run_id, index=3, seed=3)
    clock = {e: store.get_episode(e).wall_time_s for e in (not_a_number, no_usage)}
    assert all(s is not None and 0.0 < s < 1.0 for s in clock.values())

    data = load_run_data(store, run_id, with_diffs=False)

    assert [(a.episode_id, a.wall_time_s) for a in data.attempts] == [
        (by_usage, 42.0),
        (not_a_number, clock[not_a_number]),
        (no_usage, clock[no_usage]),
        (running, 0.0),  # not finished: no clock yet
    ]


# --- retried tries and the try that counts ----------------------------------------------------------


def test_the_environment_s_failed_tries_are_listed_as_retried_with_their_kind_and_first_error_line(
    store: TraceStore,
) -> None:
    run_id = _create_run(
        store,
        {"scoring": TINY_MEAN_SCORING},
    )
    env: dict[str, Any] = {"raw": None, "status": EpisodeStatus.CRASHED, "origin": Origin.ENVIRONMENT}
    lost = _finished(
        store,
        run_id,
        0,
        error_kind="sandbox_lost",
        error="\n  sandbox vanished: container gone\nTraceback (most recent call last):\n  boom\n",
        **env,
    )
    silent = _finished(store, run_id, 0, retry_of=lost, **env)  # no kind, no message
    long_line = "word " * 60  # 300 characters on one line
    refused = _finished(
        store, run_id, 0, retry_of=silent, error_kind="engine_error", error=long_line + "\nsecond", **env
    )
    # interrupted (no origin): resumed, not retried for the environment
    interrupted = store.start_episode(run_id, index=0, seed=0)
    store.finish_episode(interrupted, status=EpisodeStatus.INTERRUPTED, final_raw=None, final_normalized=None)
    final = _finished(store, run_id, 0, raw=1.0, normalized=0.8, retry_of=refused)
    other = _finished(store, run_id, 1, raw=2.0, normalized=0.6)

    data = load_run_data(store, run_id, with_diffs=False)

    assert [(a.episode_id, a.status, a.origin, a.error_kind) for a in data.attempts] == [
        (final, "submitted", "agent", None),
        (other, "submitted", "agent", None),
    ]
    assert data.attempts[0].retried == (
        FailedTry("sandbox_lost", "sandbox vanished: container gone"),
        FailedTry("unknown", ""),
        FailedTry("engine_error", long_line[:200]),
    )
    assert data.attempts[1].retried == ()


def test_a_later_finished_try_replaces_an_earlier_finished_one_and_a_lone_running_try_counts(
    store: TraceStore,
) -> None:
    run_id = _create_run(
        store,
        {"scoring": TINY_MEAN_SCORING},
    )
    failed = _finished(
        store,
        run_id,
        0,
        raw=None,
        status=EpisodeStatus.CRASHED,
        origin=Origin.ENVIRONMENT,
        error_kind="sandbox_lost",
        error="lost",
    )
    again = _finished(store, run_id, 0, raw=1.0, normalized=0.8, retry_of=failed)
    running = store.start_episode(run_id, index=1, seed=1)
    later_running = store.start_episode(run_id, index=1, seed=1)
    assert running != later_running

    data = load_run_data(store, run_id, with_diffs=False)

    assert [(a.index, a.episode_id, a.status) for a in data.attempts] == [
        (0, again, "submitted"),
        (1, later_running, "running"),
    ]
    assert [a.retried for a in data.attempts] == [(FailedTry("sandbox_lost", "lost"),), ()]


# --- workspace diffs and executed files -------------------------------------------------------------


def test_the_diff_is_taken_from_the_last_graded_snapshot_that_is_not_a_validate(
    store: TraceStore, tmp_path: Path
) -> None:
    task_root = _task_copy(tmp_path)
    submitted = _snapshot(store, tmp_path, "submitted", {"baseline.py": "guess = 10.0\n"})
    validated = _snapshot(store, tmp_path, "validated", {"baseline.py": "guess = 9.0\n"})
    run_id = _tiny_mean_run(store, task_root)
    both = store.start_episode(run_id, index=0, seed=0)
    for step, (kind, snapshot) in enumerate(
        [(EvaluationKind.SUBMIT, submitted), (EvaluationKind.VALIDATE, validated)]
    ):
        _evaluation(store, both, step, kind, raw=0.0, normalized=1.0, snapshot=snapshot)
    store.finish_episode(both, status=EpisodeStatus.SUBMITTED, final_raw=0.0, final_normalized=1.0)
    only_validate = store.start_episode(run_id, index=1, seed=1)
    _evaluation(store, only_validate, 0, EvaluationKind.VALIDATE, raw=0.0, normalized=1.0, snapshot=validated)
    store.finish_episode(only_validate, status=EpisodeStatus.SUBMITTED, final_raw=0.0, final_normalized=1.0)

    data = load_run_data(store, run_id)

    assert [a.workspace_diff for a in data.attempts] == [
        {"baseline.py": (INITIAL_BASELINE, "guess = 10.0\n")},
        None,
    ]


def test_executed_files_count_a_file_a_truncated_snapshot_left_out_as_still_there(
    store: TraceStore, tmp_path: Path
) -> None:
    task_root = _task_copy(tmp_path)
    snapshot = _snapshot(
        store,
        tmp_path,
        "final",
        {"train.py": "print('train')\n", "answer.txt": "10\n"},
        omitted=[("baseline.py", "size cap of 4096 bytes exceeded")],
        truncated=True,
    )
    run_id = _tiny_mean_run(store, task_root)
    commands = ("python baseline.py", "python train.py")
    _finished(store, run_id, 0, raw=0.0, normalized=1.0, snapshot=snapshot, commands=commands)

    (attempt,) = load_run_data(store, run_id).attempts

    assert attempt.workspace_diff == {"train.py": ("", "print('train')\n")}
    assert attempt.executed_files == frozenset({"baseline.py", "train.py"})


def test_a_file_an_untruncated_snapshot_omitted_counts_as_removed(store: TraceStore, tmp_path: Path) -> None:
    """Only a truncated snapshot's omissions are unknown; a snapshot that left out a link, say, is complete."""
    task_root = _task_copy(tmp_path)
    snapshot = _snapshot(
        store, tmp_path, "final", {"answer.txt": "10\n"}, omitted=[("baseline.py", "a symbolic link")]
    )
    assert store.snapshot_info(snapshot).omitted == [("baseline.py", "a symbolic link")]
    run_id = _tiny_mean_run(store, task_root)
    _finished(store, run_id, 0, raw=0.0, normalized=1.0, snapshot=snapshot)

    (attempt,) = load_run_data(store, run_id).attempts

    assert attempt.workspace_diff == {"baseline.py": (INITIAL_BASELINE, "")}


# --- the method-consistency cache ---------------------------------------------------------------------


def _spy_puts(store: TraceStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    keys: list[str] = []
    original = store.put_run_consistency

    def spy(run_id: str, *, key: str, value: float | None, n_compared: int) -> None:
        keys.append(key)
        original(run_id, key=key, value=value, n_compared=n_compared)

    monkeypatch.setattr(store, "put_run_consistency", spy)
    return keys


def test_the_cache_key_names_the_task_and_each_compared_attempt_with_its_final_snapshot(
    store: TraceStore, tmp_path: Path
) -> None:
    task_root = _task_copy(tmp_path)
    plain = _snapshot(store, tmp_path, "a", {"baseline.py": "guess = 10.0\n"})
    truncated = _snapshot(
        store, tmp_path, "b", {"train.py": "print(1)\n"}, omitted=[("big.bin", "cap")], truncated=True
    )
    run_id = _tiny_mean_run(store, task_root)
    by_agent = _finished(store, run_id, 0, raw=0.0, normalized=1.0, snapshot=plain)
    no_origin = _finished(store, run_id, 1, raw=0.0, normalized=1.0, snapshot=truncated, origin=None)
    _finished(store, run_id, 2, raw=4.0, normalized=0.2, snapshot=plain)  # failed: not compared
    _finished(store, run_id, 3, raw=0.0, normalized=1.0)  # no snapshot: not compared
    checksum = find_recorded_task("tiny-mean", str(task_root)).checksum

    load_run_data(store, run_id)

    cached = store.get_run_consistency(run_id)
    assert cached is not None
    assert cached.key == cache_key(
        checksum,
        [
            (by_agent, "submitted", "agent", plain, "False"),
            (no_origin, "submitted", "", truncated, "True"),
        ],
    )


def test_an_undefined_cached_value_is_reused_as_nan_and_nothing_is_written_again(
    store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_root = _task_copy(tmp_path)
    snapshot = _snapshot(store, tmp_path, "a", {"baseline.py": "guess = 10.0\n"})
    run_id = _tiny_mean_run(store, task_root)
    _finished(store, run_id, 0, raw=0.0, normalized=1.0, snapshot=snapshot)
    puts = _spy_puts(store, monkeypatch)

    assert load_run_data(store, run_id, with_diffs=False).known_consistency is None
    assert puts == []  # without diffs there is nothing to cache
    first = load_run_data(store, run_id)
    cached = store.get_run_consistency(run_id)
    assert cached is not None and cached.value is None  # one attempt compared: not defined
    assert first.known_consistency is None and len(puts) == 1

    again = load_run_data(store, run_id)

    assert again.known_consistency is not None
    value, n_compared = again.known_consistency
    assert math.isnan(value) and n_compared == cached.n_compared
    assert len(puts) == 1  # a cache hit writes nothing
    assert [a.workspace_diff for a in again.attempts] == [None]


# --- suite runs ---------------------------------------------------------------------------------------


def test_a_suite_run_loads_without_diffs_unless_asked(store: TraceStore, tmp_path: Path) -> None:
    task_root = _task_copy(tmp_path)
    snapshot = _snapshot(store, tmp_path, "a", {"baseline.py": "guess = 10.0\n"})
    suite_run_id = store.create_suite_run(suite="core", tasks=["tiny-mean"], agent="script:a", config={}, k=1)
    run_id = _tiny_mean_run(store, task_root, suite_run_id=suite_run_id)
    _finished(store, run_id, 0, raw=0.0, normalized=1.0, snapshot=snapshot)

    plain = load_suite_run_data(store, suite_run_id)

    assert [r.run_id for r in plain.runs] == [run_id]
    assert [a.workspace_diff for a in plain.runs[0].attempts] == [None]
    assert store.get_run_consistency(run_id) is None

    full = load_suite_run_data(store, suite_run_id, with_diffs=True)

    assert [a.workspace_diff for a in full.runs[0].attempts] == [
        {"baseline.py": (INITIAL_BASELINE, "guess = 10.0\n")}
    ]
