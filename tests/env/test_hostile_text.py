"""Text the agent controls reaches the trace store's text columns; none of it may make the store fail.

PostgreSQL refuses a NUL character in a text column. A grader that quotes the submission in its rejection
(as many do: "cannot parse '...'") copies the agent's bytes into the evaluation's grader output; if storing
it failed, the episode would crash as a store failure, the environment's, and be retried or left out of n.
The task is written here in the public task format; the test runs on SQLite and on a real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.outcomes import EpisodeStatus, Origin
from gym_core.store import open_store

TASK_YAML = """\
id: quoting-grader
version: 1
title: Write the hidden number
paper: {title: "A fixture, not a paper", venue: tests, year: 2026}
metric: {name: abs_error, direction: minimize}
baseline: {score: 4.0, public_score: 4.0, command: "true", tolerance: 0.01}
reference: {score: 0.0, public_score: 0.0}
budget: {wall_time_s: 120, step_limit: 10, eval_limit: 3, command_timeout_s: 30, cpus: 1.0, memory_mb: 256,
         pids: 64, disk_mb: 64}
grader: {command: "python /eval/grade.py /submission", timeout_s: 30, submission: ["answer.txt"]}
"""

# A grader that quotes what it cannot parse, verbatim, and prints it as it reads it.
GRADER = """\
import json, pathlib, sys

text = (pathlib.Path(sys.argv[1]) / "answer.txt").read_text(errors="replace")
print("read: " + text)
try:
    value = float(text)
except ValueError:
    print("cannot parse " + text, file=sys.stderr)
    sys.exit(1)
print(json.dumps({"score": abs(value - 4.0)}))
"""


def _write_task(root: Path) -> Path:
    task = root / "quoting-grader"
    for folder in ("workspace", "eval", "reference"):
        (task / folder).mkdir(parents=True)
    (task / "task.yaml").write_text(TASK_YAML)
    (task / "README.md").write_text("# Write the hidden number\n\nWrite it to answer.txt.\n")
    (task / "workspace" / "answer.txt").write_text("0\n")
    (task / "reference" / "answer.txt").write_text("4\n")
    (task / "eval" / "grade.py").write_text(GRADER)
    return task


@pytest.mark.slow  # an episode with three gradings
def test_nul_characters_quoted_by_the_grader_are_stored(any_store_url: str, tmp_path: Path) -> None:
    task = _write_task(tmp_path)
    with open_store(any_store_url) as store:
        env = ResearchEnv(task, backend="local", store=store)
        try:
            env.reset(seed=0)
            env.step({"tool": "bash", "command": "printf 'four\\0\\0' > answer.txt"})
            obs, _reward, _terminated, _truncated, info = env.step({"tool": "validate"})
            assert info["valid"] is False and obs["output"].startswith(
                "[validate] invalid submission: cannot"
            )
            env.step({"tool": "bash", "command": "echo 4 > answer.txt"})
            _obs, reward, terminated, _truncated, _info = env.step({"tool": "submit"})
            assert terminated and reward == pytest.approx(1.0)
            assert env.outcome is not None
            status, attribution = env.outcome
            assert status is EpisodeStatus.SUBMITTED
            assert attribution is not None and attribution.origin is Origin.AGENT
            episode_id = env.episode_id
        finally:
            env.close()
        assert episode_id is not None
        first, second = store.list_evaluations(episode_id)
        assert "cannot parse four" in first.grader_output and "\0" not in first.grader_output
        assert second.valid and second.raw_score == pytest.approx(0.0)
