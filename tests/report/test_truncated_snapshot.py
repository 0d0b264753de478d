"""A file a truncated snapshot left out is unknown, not deleted: it does not count in the workspace diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gym_core.report.store_loader import load_run_data
from gym_core.store import TraceStore, open_store

TINY_MEAN = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


@pytest.mark.parametrize("truncated", [True, False])
def test_files_left_out_of_a_truncated_snapshot_are_not_diffed(tmp_path: Path, truncated: bool) -> None:
    task_root = tmp_path / "tasks" / "tiny-mean"
    shutil.copytree(TINY_MEAN, task_root)
    final = tmp_path / "final"
    final.mkdir()
    (final / "answer.txt").write_text("10\n")  # baseline.py is not in the copy
    store: TraceStore = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    try:
        omitted = [("baseline.py", "size cap of 4096 bytes exceeded")] if truncated else []
        snapshot = store.snapshot_workspace(final, omitted=omitted, truncated=truncated)
        run_id = store.create_run(
            task_id="tiny-mean",
            task_version=1,
            task_checksum="sha256:x",
            agent="script:x.jsonl",
            config={
                "task_root": str(task_root),
                "scoring": {
                    "metric_name": "abs_error",
                    "direction": "minimize",
                    "baseline_raw": 5.0,
                    "reference_raw": 0.0,
                    "success_threshold": 0.5,
                },
            },
            backend="local",
            budget={"wall_time_s": 100.0},
            perturbations={},
            k=1,
            seed=0,
        )
        episode = store.start_episode(run_id, index=0, seed=0)
        store.record_evaluation(
            episode,
            step_index=0,
            kind="submit",
            raw_score=0.0,
            normalized_score=1.0,
            valid=True,
            grader_output="ok",
            snapshot=snapshot,
        )
        store.finish_episode(episode, status="submitted", final_raw=0.0, final_normalized=1.0)
        assert store.list_evaluations(episode)[0].snapshot_truncated is truncated
        info = store.snapshot_info(snapshot)
        assert info.truncated is truncated and info.omitted == omitted
        diff = load_run_data(store, run_id).attempts[0].workspace_diff
    finally:
        store.close()
    assert diff is not None
    assert ("baseline.py" in diff) is (not truncated)
