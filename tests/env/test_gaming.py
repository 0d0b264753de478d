"""Gaming the harness through ``env.step()`` on real Docker: attacks that must not pay.

Each attack is played by a hostile agent against tiny-mean (or, for the grader, a code-submission task
written here in the public format). None of them may raise the score above what the agent's answer is
worth, crash the harness, or be blamed on the environment: whatever the agent's input causes is the agent's
(gym_core/attribution.py).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.outcomes import Origin
from gym_core.store import TraceStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
pytestmark = pytest.mark.docker


@pytest.fixture
def play(docker_client: Any, store: TraceStore) -> Iterator[Any]:
    """A started env on a task (tiny-mean by default); afterwards, no container of it may be left."""
    made: list[tuple[ResearchEnv, str]] = []

    def make(task: Path = FIXTURES / "tiny-mean", **kw: Any) -> ResearchEnv:
        mark = uuid.uuid4().hex
        env = ResearchEnv(task, backend="docker", store=store, labels={"rgym.test": mark}, **kw)
        made.append((env, mark))
        env.reset(seed=0)
        return env

    yield make
    for env, mark in made:
        env.close()
        assert docker_client.containers.list(all=True, filters={"label": f"rgym.test={mark}"}) == []


def bash(env: ResearchEnv, command: str, timeout_s: float = 60) -> dict[str, Any]:
    obs: dict[str, Any] = env.step({"tool": "bash", "command": command, "timeout_s": timeout_s})[0]
    return obs


def submit_and_check(env: ResearchEnv, store: TraceStore, *, worth: float | None) -> None:
    """Submit; the score is what the answer is worth, the episode the agent's, and the harness fine."""
    _obs, _, terminated, _, info = env.step({"tool": "submit"})
    assert terminated
    assert info["final_normalized_score"] == worth
    episode = store.get_episode(info["episode_id"])
    assert episode.status == "submitted" and episode.origin == Origin.AGENT and episode.error_kind is None
    assert episode.final_normalized == worth


def test_filling_the_disk_and_memory_backed_folders(play: Any, store: TraceStore) -> None:
    env = play()
    assert bash(env, "echo 5.0 > answer.txt")["exit_code"] == 0
    obs = bash(
        env,
        "head -c 2G /dev/zero > fill; df -k . | tail -1; head -c 2G /dev/zero > /tmp/fill; "
        "head -c 2G /dev/zero > /dev/shm/fill",
    )
    assert obs["output"].count("No space left on device") == 3 and obs["exit_code"] != 0
    assert bash(env, "cat answer.txt; echo alive")["output"].split() == ["5.0", "alive"]
    submit_and_check(env, store, worth=0.0)  # what 5.0 is worth, a full disk or not


def test_kill_everything_it_may(play: Any, store: TraceStore) -> None:
    """kill(-1) as the agent's uid: every process of the agent but the caller, nothing of rgym's."""
    env = play()
    bash(env, "echo 5.0 > answer.txt")
    obs = bash(
        env, "(setsid sleep 1000 &); kill -9 -1; echo killed=$?; python3 -c 'import os; os.kill(-1, 9)'"
    )
    # the sandbox's exec channel runs as the agent's uid: its to kill, which ends the step's output there
    assert "killed=0" in obs["output"] or obs["output"].rstrip().endswith("its exit status are lost]")
    assert "sleep" not in bash(env, "ps -e -o comm=")["output"].split()  # its escaped job is gone
    assert env._sandbox is not None and env._sandbox.alive
    submit_and_check(env, store, worth=0.0)


def test_killing_the_containers_init_and_supervisor(play: Any, store: TraceStore) -> None:
    env = play()
    bash(env, "echo 5.0 > answer.txt")
    # kept in a file: `kill -9 -1` also kills the exec channel (the agent's own), and the step's output with it
    bash(
        env,
        "for p in 1 $(ps -o pid= --ppid 1); do kill -9 $p; echo $p=$? >> /tmp/tried; kill -TERM $p; "
        "kill -STOP $p; done; kill -9 -1",
    )
    tried = [line for line in bash(env, "cat /tmp/tried")["output"].splitlines() if "=" in line]
    assert len(tried) == 2 and all(line.endswith("=1") for line in tried)  # EPERM: both are root's
    assert bash(env, "echo alive")["output"].strip() == "alive"
    assert env._sandbox is not None and env._sandbox.alive
    submit_and_check(env, store, worth=0.0)


HANGING_POLICY = "import time\ntime.sleep(3600)\n"
BENIGN_POLICY = 'import json, sys\nsys.stdin.readline()\nprint(json.dumps({"leaks": []}))\n'


@pytest.mark.slow
def test_a_submission_that_makes_the_grader_hang(play: Any, store: TraceStore, tmp_path: Path) -> None:
    """The grader times out on it, again on the regrade, and grades the reference fine: the agent's."""
    root = tmp_path / "code-harness"
    shutil.copytree(FIXTURES / "code-harness", root)
    (root / "eval" / "secret.txt").write_text("not-a-secret\n")
    (root / "reference").mkdir()
    (root / "reference" / "policy.py").write_text(BENIGN_POLICY)
    spec = root / "task.yaml"
    spec.write_text(spec.read_text().replace("timeout_s: 60", "timeout_s: 20"))
    env = play(root)
    env.step({"tool": "write_file", "path": "policy.py", "content": HANGING_POLICY})
    _obs, _, terminated, _, info = env.step({"tool": "submit"})
    assert terminated and info["valid"] is False and info["final_normalized_score"] is None
    assert "timed out" in info["grader_message"] and "reference" in info["grader_message"]
    episode = store.get_episode(info["episode_id"])
    assert episode.origin == Origin.AGENT and episode.error_kind is None


# A careless grader: it runs the submitted policy in its own process (as root, with the grader's capabilities)
# instead of through $RGYM_SUBMISSION_RUNNER. rgym cannot stop a grader from doing that, so whatever such a
# policy does to the grader's sandbox must still be the agent's.
CARELESS_GRADER = """import json, runpy, sys
policy = runpy.run_path(sys.argv[1] + "/policy.py")
print(json.dumps({"score": float(len(policy["leaks"]()))}))
"""
REFERENCE_POLICY = "def leaks():\n    return []\n"
# It stops its grader sandbox's supervisor: the sandbox can no longer sweep, so the grader's exec fails.
WRECKING_POLICY = """import os, signal
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"rgym-supervisor" in fh.read():
                os.kill(int(pid), signal.SIGSTOP)
    except OSError:
        pass


def leaks():
    return []
"""


@pytest.mark.slow
def test_a_submission_that_wrecks_its_graders_sandbox(
    play: Any, store: TraceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grader's exec fails on it, again on the regrade, and the reference grades fine: the agent's, never
    an environment failure (which would be excluded and retried)."""
    from gym_core.sandbox.docker_supervisor import Supervisor

    monkeypatch.setattr(Supervisor.sweep, "__defaults__", (10.0,))  # wait 10 s for a sweep's answer, not 30
    root = tmp_path / "code-harness"
    shutil.copytree(FIXTURES / "code-harness", root)
    (root / "eval" / "careless.py").write_text(CARELESS_GRADER)
    (root / "reference").mkdir()
    (root / "reference" / "policy.py").write_text(REFERENCE_POLICY)
    spec = root / "task.yaml"
    grader = """'GRADER_SECRET="$(cat /eval/secret.txt)" python3 /eval/grade.py /submission'"""
    assert grader in spec.read_text()
    spec.write_text(spec.read_text().replace(grader, "python3 /eval/careless.py /submission"))
    env = play(root)
    env.step({"tool": "write_file", "path": "policy.py", "content": WRECKING_POLICY})
    _obs, _, terminated, _, info = env.step({"tool": "submit"})
    assert terminated and info["valid"] is False and info["final_normalized_score"] is None
    assert "sandbox failed" in info["grader_message"] and "reference" in info["grader_message"]
    episode = store.get_episode(info["episode_id"])
    assert episode.status == "submitted" and episode.origin == Origin.AGENT and episode.error_kind is None
    (evaluation,) = store.list_evaluations(info["episode_id"])
    assert "supervisor did not answer a sweep" in evaluation.grader_output  # the real failure, for evaluators
