"""Red-team findings: attacks through ``env.step()`` that paid before their fix.

Each test plays the attack on real sandboxes and asserts what the attempt must amount to. Whatever the agent's
input causes is the agent's (gym_core/attribution.py): an attack that makes rgym itself raise is recorded as
the environment's failure, retried and, when it persists, left out of n, so an agent could drop the attempts
that go badly.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.outcomes import EpisodeStatus, Origin
from gym_core.store import TraceStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"

# A careless grader: its score line quotes the submission. rgym cannot stop a task's grader from doing that,
# so whatever such a line holds must be judged under the grader contract, never make rgym raise.
ECHO_GRADER = """import pathlib, sys
answer = (pathlib.Path(sys.argv[1]) / "answer.txt").read_text().strip()
print('{"score": %s}' % answer)
"""

#: answer.txt, which the echoing grader prints as its score: none of them is a usable score.
UNUSABLE_SCORES = {
    "integer-beyond-any-float": "1" + "0" * 400,
    "integer-of-5000-digits": "9" * 5000,
    "nested-too-deeply": "[" * 5000 + "]" * 5000,
    # finite, but 1.7e308 from the baseline over a gap of 0.5 to the reference normalizes to -inf
    "finite-score-whose-normalized-score-overflows": "1.7e308",
}


@pytest.fixture
def echo_task(tmp_path: Path) -> Path:
    """tiny-mean graded by ECHO_GRADER, with a reference 0.5 from the baseline (as most shipped tasks')."""
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    (root / "eval" / "echo.py").write_text(ECHO_GRADER)
    spec = root / "task.yaml"
    text = spec.read_text()
    assert (
        "python /eval/grade.py /submission" in text and "reference: {score: 0.0, public_score: 1.0}" in text
    )
    text = text.replace("python /eval/grade.py /submission", "python /eval/echo.py /submission")
    spec.write_text(
        text.replace(
            "reference: {score: 0.0, public_score: 1.0}", "reference: {score: 4.5, public_score: 3.5}"
        )
    )
    return root


@pytest.mark.parametrize("name", sorted(UNUSABLE_SCORES))
def test_an_unusable_score_line_is_the_agents_invalid_submission(
    backend: str, store: TraceStore, echo_task: Path, name: str
) -> None:
    """Before the fix: the first three made rgym raise while parsing the line (the attempt crashed, the
    environment's: excluded and retried); the fourth came back as a valid score normalized to -inf (the
    reward -inf, the store's normalized score lost)."""
    env = ResearchEnv(echo_task, backend=backend, store=store)
    try:
        env.reset(seed=0)
        env.step({"tool": "write_file", "path": "answer.txt", "content": UNUSABLE_SCORES[name]})
        obs, reward, terminated, _truncated, info = env.step({"tool": "validate"})
        assert obs["exit_code"] == 1 and obs["score"] is None and obs["normalized_score"] is None
        assert "no valid score" in obs["output"] and "reference submission fine" in obs["output"]
        obs, reward, terminated, _truncated, info = env.step({"tool": "submit"})
    finally:
        env.close()
    assert terminated and info["valid"] is False
    assert info["final_raw_score"] is None and info["final_normalized_score"] is None
    assert reward == 0.0 and math.isfinite(reward)
    episode = store.get_episode(info["episode_id"])
    assert episode.status == EpisodeStatus.SUBMITTED
    assert episode.origin == Origin.AGENT and episode.error_kind is None
    assert episode.final_raw is None and episode.final_normalized is None
