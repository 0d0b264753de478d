"""A hostile agent cannot fill the trace store or the host's memory, nor outlast its budget, through env.step().

Each sequence is played by the agent through ``env.step()`` on both backends. The store's growth is measured
as the growth of its SQLite files, and the host's memory as the growth of this process's resident set
(sampled while the steps run): both are asserted under a stated bound, and the episode must end normally.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.sandbox import create_sandbox
from gym_core.sandbox.base import SandboxConfig
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"
MIB = 1024 * 1024
QUOTA_MB = 8
SNAPSHOT_CAP_MB = 4


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small artifact quota and snapshot cap, so the sequences stay quick."""
    monkeypatch.setenv("RGYM_EPISODE_ARTIFACT_QUOTA_MB", str(QUOTA_MB))
    monkeypatch.setenv("RGYM_SNAPSHOT_CAP_MB", str(SNAPSHOT_CAP_MB))
    get_settings.cache_clear()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "traces.db"


@pytest.fixture
def store(db: Path, bounds: None) -> Iterator[TraceStore]:
    s = open_store(f"sqlite:///{db}")
    yield s
    s.close()


def store_bytes(db: Path) -> int:
    """The store's size on disk: the database and its write-ahead log."""
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


class PeakRss:
    """The growth of this process's resident memory over a block, sampled every few milliseconds."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.baseline = 0
        self.peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def run(
    env: ResearchEnv, actions: list[Any]
) -> list[tuple[dict[str, Any], float, bool, bool, dict[str, Any]]]:
    results = []
    for action in actions:
        results.append(env.step(action))
        if results[-1][2] or results[-1][3]:
            break
    return results


def test_write_file_floods_stay_within_the_artifact_quota(backend: str, store: TraceStore, db: Path) -> None:
    # Bound: the full texts of all actions add at most the quota (8 MiB) to the store, the submission's
    # snapshot at most its cap (4 MiB); the rest is inline (16 KiB a text).
    contents = [base64.b64encode(os.urandom(3 * MIB)).decode() for _ in range(6)]  # 4 MiB each
    raw = "not json " + "x" * (20 * MIB)  # a malformed action is stored too
    env = ResearchEnv(FIXTURE, backend=backend, store=store, budget={"disk_mb": 128, "wall_time_s": 300})
    try:
        env.reset(seed=0)
        before = store_bytes(db)
        with PeakRss() as rss:
            results = run(
                env,
                [{"tool": "write_file", "path": f"w{i}.txt", "content": c} for i, c in enumerate(contents)]
                + [raw, {"tool": "write_file", "path": "answer.txt", "content": "9"}, {"tool": "submit"}],
            )
        episode_id = env.episode_id
    finally:
        env.close()
    assert results[-1][2], "the episode ends with its submission"
    assert all(r[0]["exit_code"] == 0 for r in results[:6]), "every write reaches the workspace"
    assert store_bytes(db) - before < (QUOTA_MB + SNAPSHOT_CAP_MB + 2) * MIB
    assert rss.growth < 96 * MIB
    assert episode_id is not None
    steps = store.list_steps(episode_id)
    kept = [s.index for s in steps if "action.content" in s.overflow]
    spent = [s.index for s in steps if s.flags.get("artifact_quota_spent")]
    assert kept == [0, 1] and spent == [2, 3, 4, 5, 6], "two 4 MiB texts fit the 8 MiB quota; the rest say so"
    assert "was not kept" in steps[3].action["content"] and len(steps[3].action["content"]) < 20_000
    assert isinstance(steps[6].action, str) and len(steps[6].action) < 20_000
    full, not_kept = store.get_step_action(episode_id, 1)
    assert full["content"] == contents[1] and not_kept == []
    cut, not_kept = store.get_step_action(episode_id, 4)
    assert not_kept == ["action.content"] and cut["content"] != contents[4]


def test_a_big_workspace_is_snapshot_within_the_cap(backend: str, store: TraceStore, db: Path) -> None:
    # Bound: each snapshot is at most the 4 MiB cap; the 48 MiB of random data are never held in memory.
    env = ResearchEnv(FIXTURE, backend=backend, store=store, budget={"disk_mb": 160, "wall_time_s": 300})
    try:
        env.reset(seed=0)
        run(
            env,
            [{"tool": "bash", "command": "head -c 50331648 /dev/urandom > big.bin && echo 9 > answer.txt"}],
        )
        before = store_bytes(db)
        with PeakRss() as rss:
            results = run(
                env,
                [
                    {"tool": "validate"},
                    {"tool": "bash", "command": "echo 1 >> big.bin"},
                    {"tool": "validate"},
                    {"tool": "bash", "command": "echo 2 >> big.bin"},
                    {"tool": "submit"},
                ],
            )
        episode_id = env.episode_id
    finally:
        env.close()
    assert results[-1][2] and results[-1][4]["final_raw_score"] is not None, "graded despite the big file"
    assert store_bytes(db) - before < 3 * SNAPSHOT_CAP_MB * MIB + 2 * MIB
    assert rss.growth < 40 * MIB
    assert episode_id is not None
    evaluations = store.list_evaluations(episode_id)
    assert [e.snapshot_truncated for e in evaluations] == [True, True, True]
    assert "snapshot truncated" in evaluations[0].grader_output
    info = store.snapshot_info(evaluations[-1].snapshot or "")
    assert info.truncated and [p for p, _ in info.omitted] == ["big.bin"]
    flagged = [s.index for s in store.list_steps(episode_id) if s.flags.get("snapshot_truncated")]
    assert flagged == [1, 3, 5]


def test_a_sparse_file_is_left_out_not_streamed(backend: str, store: TraceStore, db: Path) -> None:
    # Docker lets the agent make a 2 TiB sparse file; the local backend's file-size limit (the disk budget)
    # stops it there, so it makes the largest it may.
    env = ResearchEnv(FIXTURE, backend=backend, store=store, budget={"wall_time_s": 300})
    try:
        env.reset(seed=0)
        command = "(truncate -s 2T sparse.bin || truncate -s 60M sparse.bin) 2>/dev/null; ls -la sparse.bin"
        made = run(env, [{"tool": "bash", "command": command}])
        assert made[0][0]["exit_code"] == 0, made[0][0]["output"]
        before = store_bytes(db)
        with PeakRss() as rss:
            results = run(
                env,
                [
                    {"tool": "validate"},
                    {"tool": "write_file", "path": "answer.txt", "content": "10"},
                    {"tool": "submit"},
                ],
            )
        episode_id = env.episode_id
    finally:
        env.close()
    _obs, reward, terminated, _truncated, info = results[-1]
    assert terminated and info["final_raw_score"] == pytest.approx(0.0) and reward == pytest.approx(1.0)
    assert store_bytes(db) - before < 2 * MIB
    assert rss.growth < 40 * MIB
    assert episode_id is not None
    assert store.get_episode(episode_id).status == "submitted"
    last = store.list_evaluations(episode_id)[-1]
    assert last.snapshot_truncated
    assert [p for p, _ in store.snapshot_info(last.snapshot or "").omitted] == ["sparse.bin"]


def test_a_big_submission_is_copied_whole_in_bounded_pieces(
    backend: str, tmp_path: Path, bounds: None
) -> None:
    # Bound: a 40 MiB file crosses the sandbox boundary in pieces of at most 16 MiB (held twice at most).
    config = SandboxConfig(
        image="rgym/base:py3.11",
        workspace_src=FIXTURE / "workspace",
        output_cap_bytes=4096,
        labels={"rgym.test": "bounded-traces"},
    )
    with create_sandbox(backend, config) as sandbox:
        made = sandbox.exec("head -c 41943040 /dev/urandom > sub.bin && sha256sum sub.bin", timeout_s=60)
        assert made.ok, made.stderr
        with PeakRss() as rss:
            report = sandbox.copy_out(["sub.bin"], tmp_path / "out", max_bytes=64 * MIB)
    assert report.copied == ("sub.bin",) and report.total_bytes == 40 * MIB
    digest = hashlib.sha256((tmp_path / "out" / "sub.bin").read_bytes()).hexdigest()
    assert made.stdout.split()[0] == digest
    assert rss.growth < 56 * MIB


def test_validate_ends_with_the_wall_time(backend: str, store: TraceStore, tmp_path: Path) -> None:
    # A grader that would take 10 minutes on the public split: validate gets only the time left.
    task = tmp_path / "slow" / "tiny-mean"
    shutil.copytree(FIXTURE, task)
    grade = task / "eval" / "grade.py"
    grade.write_text(
        "import os, time\nif os.environ.get('RGYM_SPLIT') == 'public':\n    time.sleep(600)\n"
        + grade.read_text()
    )
    spec = task / "task.yaml"
    spec.write_text(spec.read_text().replace("timeout_s: 30, submission", "timeout_s: 900, submission"))
    env = ResearchEnv(task, backend=backend, store=store, budget={"wall_time_s": 20})
    started = time.monotonic()
    try:
        env.reset(seed=0)
        results = run(
            env, [{"tool": "write_file", "path": "answer.txt", "content": "9"}, {"tool": "validate"}]
        )
        episode_id = env.episode_id
    finally:
        env.close()
    obs, _reward, terminated, truncated, info = results[-1]
    assert truncated and not terminated and info["truncated_by"] == "wall_time"
    assert "not graded: the wall-time budget ran out during validate" in obs["output"]
    assert info["final_raw_score"] == pytest.approx(1.0), "the auto-submit grades the private split"
    assert time.monotonic() - started < 300, "bounded by the budget, far below the grader's 600 s"
    assert episode_id is not None
    validate = store.list_evaluations(episode_id)[0]
    assert validate.kind == "validate" and not validate.valid and validate.raw_score is None


def test_bash_timeout_is_capped_at_the_command_timeout(backend: str, store: TraceStore) -> None:
    env = ResearchEnv(FIXTURE, backend=backend, store=store, budget={"command_timeout_s": 2})
    try:
        env.reset(seed=0)
        results = run(env, [{"tool": "bash", "command": "sleep 30; echo finished", "timeout_s": 8}])
    finally:
        env.close()
    obs = results[0][0]
    assert "[command timed out after 2s" in obs["output"] and "finished" not in obs["output"]
