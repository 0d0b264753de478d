"""The bandit-bernoulli-regret task: spec, README, grader protocol and limits, baseline knobs, exploits.

The grader is exercised on the host with a harmless runner prefix (``RGYM_SUBMISSION_RUNNER=env``) and,
for speed, on small games through its own ``play``; the Docker tests run it for real, isolated, through
tests/tasks/test_shipped_tasks.py (``rgym tasks verify``) and the exploit that hunts for the hidden seeds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from gym_core.tasks.loader import load_task
from gym_core.tasks.spec import SubmissionKind

TASK_ROOT = Path(__file__).resolve().parents[2] / "tasks" / "bandit-bernoulli-regret"
# Words that would give the withheld method away; the agent-facing text must not contain them.
METHOD_TERMS = ("thompson", "posterior", "bayes", "probability matching", "sampling from the", "chapelle")
SMALL = {"bandits": 6, "rounds": 40}


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def grade() -> ModuleType:
    return _module(TASK_ROOT / "eval" / "grade.py", "bandit_grade")


@pytest.fixture(scope="module")
def simulate() -> ModuleType:
    return _module(TASK_ROOT / "workspace" / "simulate.py", "bandit_simulate")


def policy(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / f"policy_{uuid.uuid4().hex[:6]}.py"
    path.write_text(source)
    return [sys.executable, str(path)]


ARM_ZERO = """
import sys
arms, bandits, rounds, batch = map(int, sys.stdin.readline().split())
for _ in range(0, rounds, batch):
    print("\\n".join([" ".join(["0"] * bandits)] * batch), flush=True)
    for _ in range(batch):
        sys.stdin.readline()
"""


# --- the spec and what the agent reads ---------------------------------------------------------------


def test_spec_is_a_code_task_with_measured_numbers() -> None:
    spec = load_task(TASK_ROOT).spec
    assert spec.grader.submission_kind is SubmissionKind.CODE
    assert spec.grader.submission == ["policy.py"]
    assert spec.metric.direction.value == "minimize"
    assert (
        spec.reference.score < spec.baseline.score
        and spec.reference.public_score < spec.baseline.public_score
    )
    assert {e.name for e in spec.exploits} >= {"read-hidden", "skip-rounds", "quit-early"}


def test_readme_states_the_protocol_and_never_the_method() -> None:
    readme = (TASK_ROOT / "README.md").read_text()
    lowered = readme.lower()
    for term in METHOD_TERMS:
        assert term not in lowered, term
    for fact in ("`10 400 2000 10`", "Beta(1, 3)", "flush", "65536 bytes", "600 seconds", "policy.py"):
        assert fact in readme, fact
    spec = load_task(TASK_ROOT).spec
    for variant in spec.description_variants.values():
        assert not any(term in variant.lower() for term in METHOD_TERMS)
    for score in (spec.baseline.public_score, spec.baseline.score):
        assert f"{score:.2f}" in readme


def test_make_data_reproduces_the_hidden_seeds_byte_for_byte(tmp_path: Path) -> None:
    copy = tmp_path / "task"
    shutil.copytree(TASK_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "eval" / "seeds.json").unlink()
    subprocess.run(
        [sys.executable, str(copy / "maintainer" / "make_data.py")], check=True, capture_output=True
    )
    assert (copy / "eval" / "seeds.json").read_bytes() == (TASK_ROOT / "eval" / "seeds.json").read_bytes()


def test_public_and_private_bandits_differ(grade: ModuleType) -> None:
    seeds = json.loads((TASK_ROOT / "eval" / "seeds.json").read_text())
    assert seeds["public"] != seeds["private"] and all(
        re.fullmatch(r"[0-9a-f]{64}", s) for s in seeds.values()
    )
    public, private = grade.arm_means(seeds["public"], 20), grade.arm_means(seeds["private"], 20)
    assert public != private
    assert all(0.0 < m < 1.0 for row in public for m in row)


# --- the game ----------------------------------------------------------------------------------------


def test_regret_is_the_expected_loss_of_the_arms_pulled(grade: ModuleType, tmp_path: Path) -> None:
    regret = grade.play(policy(tmp_path, ARM_ZERO), "s", **SMALL)
    means = grade.arm_means("s", SMALL["bandits"])
    expected = [SMALL["rounds"] * (max(m) - m[0]) for m in means]
    assert regret == pytest.approx(expected)


def test_rewards_depend_only_on_the_pulls(grade: ModuleType) -> None:
    """The n-th pull of an arm pays the same whatever was pulled before: luck is shared between policies."""
    a, b = grade.Bandits("s", 2), grade.Bandits("s", 2)
    first = [a.pull([3, 1])[0] for _ in range(5)]
    b.pull([0, 1])
    b.pull([7, 1])
    assert [b.pull([3, 1])[0] for _ in range(5)] == first


def test_simulate_plays_exactly_like_the_grader(
    grade: ModuleType, simulate: ModuleType, tmp_path: Path
) -> None:
    for source in ((TASK_ROOT / "workspace" / "policy.py").read_text(), ARM_ZERO):
        argv = policy(tmp_path, source)
        assert simulate.play(argv, "x", SMALL["bandits"], SMALL["rounds"]) == grade.play(argv, "x", **SMALL)


def test_the_reference_beats_the_baseline_on_a_practice_game(simulate: ModuleType) -> None:
    pytest.importorskip("numpy")
    base = simulate.play([sys.executable, str(TASK_ROOT / "workspace" / "policy.py")], "t", 100, 2000)
    ref = simulate.play([sys.executable, str(TASK_ROOT / "reference" / "policy.py")], "t", 100, 2000)
    assert sum(ref) < 0.8 * sum(base)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\nsys.stdin.readline()\nprint('0 0 0 0 0', flush=True)\n", "round 1: expected 6 arms on one line, got 5"),
        ("import sys\nsys.stdin.readline()\nprint('0 1 2 3 4 10', flush=True)\n", "round 1, bandit 5: arm 10 is out of range (0 to 9)"),
        ("import sys\nsys.stdin.readline()\nprint('0 1 -1 3 4 5', flush=True)\n", "round 1, bandit 2: '-1' is not an arm"),
        ("import sys\nsys.stdin.readline()\nprint('0 1 2 3 4 1.0', flush=True)\n", "round 1, bandit 5: '1.0' is not an arm"),
        ("import sys\nsys.stdin.readline()\nsys.stdout.buffer.write(b'0 \\xff\\n'); sys.stdout.flush()\n", "round 1: the policy's line is not ASCII"),
        ("import sys\nsys.stdin.readline()\nprint('0 ' * 40000, flush=True)\n", "round 1: the policy printed a line longer than 65536 bytes"),
        ("import sys\nsys.stdin.readline()\nsys.stdout.write('0 ' * 40000); sys.stdout.flush()\nimport time; time.sleep(30)\n", "round 1: the policy printed a line longer than 65536 bytes"),
        ("raise SystemExit(3)\n", "the policy exited or closed its output before round 1 was played"),
        ("import sys\nsys.stdin.readline()\nfor _ in range(10):\n    print('0 0 0 0 0 0', flush=True)\nfor _ in range(10):\n    sys.stdin.readline()\n", "before round 11 was played"),
        ("import sys\nsys.stdin.readline()\nprint('0 0 0 0 0 0', flush=True)\nsys.stdin.readline()\n", "took longer than 20 s in total (it was at round 2)"),
    ],
)  # fmt: skip
def test_protocol_violations_are_invalid_with_a_reason(
    grade: ModuleType, tmp_path: Path, source: str, reason: str
) -> None:
    with pytest.raises(grade.InvalidSubmission) as info:
        grade.play(policy(tmp_path, source), "s", **SMALL, time_limit_s=20)
    assert reason in str(info.value)


def test_a_policy_that_hangs_runs_out_of_time(grade: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(grade.InvalidSubmission, match=r"took longer than 2 s in total \(it was at round 1\)"):
        grade.play(policy(tmp_path, "import time\ntime.sleep(60)\n"), "s", **SMALL, time_limit_s=2)


def test_a_policy_that_stops_reading_cannot_block_the_grader(grade: ModuleType, tmp_path: Path) -> None:
    """It prints every line at once and never reads: the rewards fill the pipe; the deadline still holds."""
    source = "import sys, time\nfor _ in range(2000):\n    print(' '.join(['0'] * 400))\nsys.stdout.flush()\ntime.sleep(60)\n"
    with pytest.raises(grade.InvalidSubmission, match="took longer than 3 s"):
        grade.play(policy(tmp_path, source), "s", bandits=400, rounds=2000, time_limit_s=3)


def test_a_policy_killed_mid_game_leaves_nothing_running(grade: ModuleType, tmp_path: Path) -> None:
    token = f"rgym-bandit-{uuid.uuid4().hex}"
    source = (
        "import os, time\n"
        f"if os.fork() == 0:\n    os.execvp('sleep', ['sleep', '3600'])\n"
        f"os.execvp('{sys.executable}', ['{sys.executable}', '-c', 'import time; time.sleep(3600)', '{token}'])\n"
    )
    with pytest.raises(grade.InvalidSubmission):
        grade.play(policy(tmp_path, source), "s", **SMALL, time_limit_s=2)
    leftovers = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                leftovers.append(entry)
        except OSError:
            continue
    assert leftovers == []


# --- the grader as rgym runs it ----------------------------------------------------------------------


def run_grader(submission: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("RGYM_SUBMISSION_RUNNER", "RGYM_SPLIT")}
    return subprocess.run(
        [sys.executable, str(TASK_ROOT / "eval" / "grade.py"), str(submission)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_grader_never_runs_a_policy_without_the_runner(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text("print('must never run')\n")
    proc = run_grader(tmp_path, RGYM_SPLIT="public")
    assert proc.returncode == 2
    assert "RGYM_SUBMISSION_RUNNER is not set" in proc.stderr and proc.stdout == ""


def test_the_grader_refuses_an_unknown_split(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text("")
    proc = run_grader(tmp_path, RGYM_SPLIT="test", RGYM_SUBMISSION_RUNNER="env")
    assert proc.returncode == 2 and "RGYM_SPLIT must be public or private" in proc.stderr


def test_an_invalid_policy_is_exit_1_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text("print('{\"score\": 0.0}')\n")
    proc = run_grader(tmp_path, RGYM_SPLIT="public", RGYM_SUBMISSION_RUNNER="env")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "invalid policy: round 1: expected 400 arms on one line, got 2"
    assert proc.stdout == ""


@pytest.mark.slow
def test_the_shipped_baseline_scores_what_task_yaml_says(tmp_path: Path) -> None:
    spec = load_task(TASK_ROOT).spec
    shutil.copy(TASK_ROOT / "workspace" / "policy.py", tmp_path / "policy.py")
    for split, expected in (("public", spec.baseline.public_score), ("private", spec.baseline.score)):
        proc = run_grader(tmp_path, RGYM_SPLIT=split, RGYM_SUBMISSION_RUNNER="env")
        assert proc.returncode == 0, proc.stderr
        verdict = json.loads(proc.stdout.strip().splitlines()[-1])
        assert verdict["score"] == pytest.approx(expected, abs=1e-6)
        assert verdict["split"] == split and verdict["bandits"] == 400 and verdict["batch"] == 10


@pytest.mark.slow
def test_positive_control_without_isolation_the_seed_hunter_wins(tmp_path: Path) -> None:
    """Run as the grader's own user (prefix ``env``), the exploit finds the seeds and plays the best arms:
    the trick works where nothing stops it, so its failure under rgym's runner means something."""
    shutil.copy(TASK_ROOT / "exploits" / "read_hidden_policy.py", tmp_path / "policy.py")
    proc = run_grader(tmp_path, RGYM_SPLIT="public", RGYM_SUBMISSION_RUNNER="env")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["score"] < 10.0  # the baseline: 113


# --- baseline.py and the knobs -----------------------------------------------------------------------


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(TASK_ROOT / "workspace", ws)
    return ws


def test_baseline_py_writes_the_knobs_and_restores_the_defaults(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    original = (ws / "policy.py").read_text()
    (ws / "knobs.json").write_text('{"epsilon": 0.05, "decay": 0.0003}')
    subprocess.run([sys.executable, "baseline.py"], cwd=ws, check=True, capture_output=True)
    text = (ws / "policy.py").read_text()
    assert "\nEPSILON = 0.05\n" in text and "\nDECAY = 0.0003\n" in text
    (ws / "knobs.json").unlink()
    subprocess.run([sys.executable, "baseline.py"], cwd=ws, check=True, capture_output=True)
    assert (ws / "policy.py").read_text() == original


@pytest.mark.parametrize(
    ("knobs", "message"),
    [('{"epsilon": 2}', "epsilon = 2 is out of range"), ('{"eps": 0.1}', "unknown knob 'eps'"),
     ('{"decay": "fast"}', "decay must be a finite number"), ("[0.1]", "expected a JSON object")],
)  # fmt: skip
def test_baseline_py_refuses_bad_knobs(tmp_path: Path, knobs: str, message: str) -> None:
    ws = _workspace(tmp_path)
    (ws / "knobs.json").write_text(knobs)
    proc = subprocess.run([sys.executable, "baseline.py"], cwd=ws, capture_output=True, text=True)
    assert proc.returncode != 0 and message in proc.stderr


def test_baseline_py_leaves_an_agents_own_policy_alone(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    (ws / "policy.py").write_text(ARM_ZERO)
    (ws / "knobs.json").write_text('{"epsilon": 0.2}')
    proc = subprocess.run([sys.executable, "baseline.py"], cwd=ws, capture_output=True, text=True, check=True)
    assert "left unchanged" in proc.stdout and (ws / "policy.py").read_text() == ARM_ZERO


# --- for real, in Docker -----------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.slow
def test_the_seed_hunter_gains_nothing_under_the_runner(docker_client: object, tmp_path: Path) -> None:
    """The same exploit as the positive control, graded by rgym in Docker: no seed, no gain."""
    from gym_core.grading.grader import Grader
    from gym_core.images import image_for

    task = load_task(TASK_ROOT)
    (tmp_path / "policy.py").write_text((TASK_ROOT / "exploits" / "read_hidden_policy.py").read_text())
    result = Grader(task, backend="docker", image=image_for(task, "docker")).grade(tmp_path)
    assert result.valid, result.message + result.output
    assert result.raw is not None and result.raw > task.spec.baseline.score  # arm 0 everywhere: far worse
