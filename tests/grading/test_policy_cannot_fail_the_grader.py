"""A submitted program must not be able to make its grader fail: a grader failure buys a regrade.

When the grader of a code submission crashes, times out or runs out of memory, the submission is graded
again and the regrade's verdict stands. A policy that can make the grader fail at will (say, whenever its
own game is going badly) therefore re-rolls its score. The runner gives the policy the highest OOM score so
the kernel kills it rather than the grader; memory the policy pins outside any process escapes that.

The task is written here, in the public task format: a grader that runs the policy through
$RGYM_SUBMISSION_RUNNER, reads one number from it and then needs some memory of its own, as real graders do.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.store import TraceStore, open_store

TASK_YAML = """\
id: policy-pins-memory
version: 1
title: Print the hidden number
paper: {title: "A fixture, not a paper", venue: tests, year: 2026}
metric: {name: abs_error, direction: minimize}
baseline: {score: 3.0, public_score: 3.0, command: "true", tolerance: 0.01}
reference: {score: 0.0, public_score: 0.0}
budget:
  wall_time_s: 300
  step_limit: 10
  eval_limit: 3
  command_timeout_s: 60
  cpus: 1.0
  memory_mb: 512
  pids: 64
  disk_mb: 64
grader:
  command: "python3 /eval/grade.py /submission"
  timeout_s: 60
  submission: ["policy.py"]
  submission_kind: code
"""

GRADER = """\
import json, os, shlex, subprocess, sys

runner = shlex.split(os.environ["RGYM_SUBMISSION_RUNNER"])
policy = subprocess.Popen([*runner, "python3", sys.argv[1] + "/policy.py"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
try:
    out, _ = policy.communicate(timeout=60)
except subprocess.TimeoutExpired:
    policy.kill()
    print("the policy took longer than 60 s", file=sys.stderr)
    sys.exit(1)
lines = out.decode(errors="replace").split()
try:
    guess = float(lines[-1])
except (IndexError, ValueError):
    print("the policy printed no number", file=sys.stderr)
    sys.exit(1)
work = bytearray(192 << 20)  # the grader's own work: 192 MiB, a fraction of its 512 MiB
for i in range(0, len(work), 4096):
    work[i] = 1
print(json.dumps({"score": abs(guess - 3.0)}))
"""

# Pins 384 MiB in a System V shared memory segment, which outlives the process that made it (and is not
# part of any process the OOM killer could pick), then answers correctly.
PINNING_POLICY = """\
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
size = 384 << 20
segment = libc.shmget(0, ctypes.c_size_t(size), 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
if segment >= 0:
    address = libc.shmat(segment, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        ctypes.memset(address, 1, size)
print(3)
"""


def _write_task(root: Path) -> Path:
    task = root / "policy-pins-memory"
    for folder in ("workspace", "eval", "reference"):
        (task / folder).mkdir(parents=True)
    (task / "task.yaml").write_text(TASK_YAML)
    (task / "README.md").write_text("# Print the hidden number\n\nWrite policy.py; it prints one number.\n")
    (task / "workspace" / "policy.py").write_text("print(0)\n")
    (task / "reference" / "policy.py").write_text("print(3)\n")
    (task / "eval" / "grade.py").write_text(GRADER)
    return task


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


@pytest.mark.docker
@pytest.mark.slow
def test_memory_pinned_by_the_policy_does_not_kill_the_grader(
    docker_client: Any, tmp_path: Path, store: TraceStore
) -> None:
    task = _write_task(tmp_path)
    env = ResearchEnv(task, backend="docker", store=store)
    try:
        env.reset(seed=0)
        env.step({"tool": "write_file", "path": "policy.py", "content": textwrap.dedent(PINNING_POLICY)})
        obs, _reward, _terminated, _truncated, info = env.step({"tool": "validate"})
        episode_id = env.episode_id
    finally:
        env.close()
    assert episode_id is not None
    # validate's grading, then close()'s auto-submit (the agent ended the episode): each judged the
    # submission on its first try, with no failure of the grader's own and no regrade.
    evaluations = store.list_evaluations(episode_id)
    assert [e.kind for e in evaluations] == ["validate", "auto"]
    for evaluation in evaluations:
        assert "[first grading" not in evaluation.grader_output, evaluation.grader_output
    assert info["valid"] is True and obs["score"] == pytest.approx(0.0), obs["output"]
