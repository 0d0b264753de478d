"""Helpers for the tests of the shipped tasks whose submission is one CSV file written to a path of the
test's choosing (confounded-treatment-effects, long-tailed-classification, unsupervised-anomaly-detection);
the primitives every task's tests share (the grader, refusals, module loading) are in tests/tasks/task_checks.py.

Everything runs on the host with this interpreter, the way `rgym tasks verify` runs it in sandboxes: the
grader as a subprocess with RGYM_SPLIT set, the baseline and the exploit scripts' commands in temporary
copies of workspace/.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from gym_core.tasks.loader import Task
from rgym_agents.script import load_script
from tests.tasks.task_checks import SPLITS, run_grader

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """Write a CSV file (and its folder); returns the folder, ready to be graded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path.parent


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of a CSV file."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def graded(result: subprocess.CompletedProcess[str]) -> dict[str, float]:
    """The JSON last line of a successful grading."""
    assert result.returncode == 0, result.stderr
    parsed: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def score_both(task_root: Path, submission: Path) -> dict[str, float]:
    """``{"public": score, "private": score}`` of a submission folder."""
    return {split: graded(run_grader(task_root, submission, split))["score"] for split in SPLITS}


def workspace_copy(task: Task, dest: Path, *, reference: bool = False) -> Path:
    """A scratch copy of workspace/, with reference/ copied over it when asked."""
    shutil.copytree(task.workspace_dir, dest)
    if reference:
        shutil.copytree(task.reference_dir, dest, dirs_exist_ok=True)
    return dest


def host_env() -> dict[str, str]:
    """The environment for commands written for the sandbox: ``python`` is this interpreter."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_in(workspace: Path, command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a shell command in a workspace copy, as the sandbox would."""
    return subprocess.run(
        command, shell=True, cwd=workspace, capture_output=True, text=True, timeout=timeout, env=host_env()
    )


def submit_from(task: Task, workspace: Path, dest: Path) -> Path:
    """Copy the task's submission files from a workspace into a fresh submission folder."""
    dest.mkdir(parents=True)
    for name in task.spec.grader.submission:
        shutil.copy(workspace / name, dest / name)
    return dest


def play_script(task: Task, script: Path, tmp_path: Path) -> dict[str, float]:
    """Play a script exploit's bash and write_file actions on the host; grade what it submits."""
    workspace = workspace_copy(task, tmp_path / "workspace")
    for action in load_script(script):
        if action["tool"] == "bash":
            run = run_in(workspace, action["command"])
            assert run.returncode == 0, run.stderr
        elif action["tool"] == "write_file":
            (workspace / action["path"]).write_text(action["content"], encoding="utf-8")
    return score_both(task.root, submit_from(task, workspace, tmp_path / "submission"))


def normalized(task: Task, scores: dict[str, float]) -> dict[str, float]:
    """Both splits' scores normalized on their own baseline/reference pair."""
    from gym_core.tasks.spec import Split

    result = {}
    for split in SPLITS:
        value = task.spec.normalize(scores[split], Split(split))
        assert value is not None
        result[split] = value
    return result


def play_agent(task: Task, agent: object, tmp_path: Path) -> tuple[list[float], dict[str, float]]:
    """Drive an agent on the host within the task's step and eval limits, as the environment would.

    bash runs in a workspace copy, validate grades the submission files on the public split. Returns the
    validate scores in order and the scores of what the agent finally submits, on both splits.
    """
    from rgym_agents.base import TaskInfo

    workspace = workspace_copy(task, tmp_path / "workspace")
    info = TaskInfo.from_task(task)
    agent.reset(info, seed=0)  # type: ignore[attr-defined]
    steps_left, evals_left = task.spec.budget.step_limit, task.spec.budget.eval_limit
    validated: list[float] = []
    obs: dict[str, object] = {"output": "", "exit_code": None, "score": None, "task": task.readme}
    while steps_left > 0:
        action = agent.act({**obs, "steps_left": steps_left, "evals_left": evals_left})  # type: ignore[attr-defined]
        steps_left -= 1
        tool = action["tool"]
        obs = {"output": "", "exit_code": 0, "score": None}
        if tool == "submit":
            break
        if tool == "bash":
            run = run_in(workspace, action["command"])
            obs = {"output": run.stdout + run.stderr, "exit_code": run.returncode, "score": None}
        elif tool == "write_file":
            (workspace / action["path"]).write_text(action["content"], encoding="utf-8")
        elif tool == "read_file":
            obs["output"] = (workspace / action["path"]).read_text(encoding="utf-8")
        elif tool == "validate" and evals_left > 0:
            evals_left -= 1
            folder = tmp_path / f"validate-{len(validated)}"
            score = graded(run_grader(task.root, submit_from(task, workspace, folder), "public"))["score"]
            validated.append(score)
            obs["score"] = score
    return validated, score_both(task.root, submit_from(task, workspace, tmp_path / "final"))


def run_grader_on_broken_hidden_data(
    task_root: Path, submission: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """The grader, from a copy of eval/ whose hidden data files hold bytes that are not text, on a good submission.

    A grader that cannot read its own data has failed (exit 2): exit 1 would blame the agent, and a traceback
    on stderr (which the agent sees) could quote hidden data.
    """
    eval_copy = tmp_path / "broken-eval"
    shutil.copytree(task_root / "eval", eval_copy)
    broken = [p for p in eval_copy.rglob("*") if p.is_file() and p.suffix != ".py"]
    assert broken, f"{task_root / 'eval'} holds no hidden data file"
    for path in broken:
        path.write_bytes(b"\xff\xfe\x00 not the hidden data\n")
    env = {**os.environ, "RGYM_SPLIT": "public", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, str(eval_copy / "grade.py"), str(submission)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def assert_grader_failure(result: subprocess.CompletedProcess[str]) -> None:
    """The grader reported its own failure: exit 2, one line naming only the exception type, no score."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("grader error: internal failure (") and len(message.splitlines()) == 1, message
    assert '"score"' not in result.stdout
