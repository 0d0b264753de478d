"""`rgym tasks new`: a scaffolded folder validates, lists its TODO(rgym) markers, and its grader works.

The templates ship measured example scores in task.yaml; these tests grade the example baseline and
reference on the host (standard-library graders, ``RGYM_SUBMISSION_RUNNER=env`` for the code template) and
check the numbers match, so a scaffold that `rgym tasks verify` would reject cannot ship.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from gym_core.errors import ConfigError
from gym_core.tasks.loader import Task, load_task
from gym_core.tasks.scaffold import TEMPLATES, TODO_MARKER, find_todos, scaffold_task
from gym_core.tasks.spec import Split, SubmissionKind


def rgym(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def grade(task: Task, submission: Path, split: str, *, runner: str | None = "env") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RGYM_SUBMISSION_RUNNER"}
    env["RGYM_SPLIT"] = split
    if runner is not None:
        env["RGYM_SUBMISSION_RUNNER"] = runner
    result = subprocess.run(
        [sys.executable, str(task.eval_dir / "grade.py"), str(submission)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


def produce(task: Task, tmp_path: Path, *, with_reference: bool) -> Path:
    """The workspace after the baseline command, with reference/ copied over it first when asked."""
    work = tmp_path / f"work-{uuid.uuid4().hex[:6]}"
    shutil.copytree(task.workspace_dir, work)
    if with_reference:
        shutil.copytree(task.reference_dir, work, dirs_exist_ok=True)
    subprocess.run(
        task.spec.baseline.command, shell=True, cwd=work, check=True, capture_output=True, timeout=120
    )
    return work


def score_of(stdout: str) -> float:
    return float(json.loads(stdout.strip().splitlines()[-1])["score"])


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_scaffold_validates_and_the_example_scores_are_what_task_yaml_says(
    template: str, tmp_path: Path
) -> None:
    task, todos = scaffold_task("new-task", tmp_path, template=template)
    assert task.root == (tmp_path / "new-task").resolve()
    assert load_task(task.root).spec.id == "new-task"
    for part in ("workspace", "eval", "reference", "environment", "exploits", "maintainer"):
        assert (task.root / part).is_dir(), part
    assert (task.root / "MAINTAINERS.md").is_file()
    assert len(task.spec.exploits) >= 1
    assert task.spec.grader.submission_kind is SubmissionKind(template)
    # the public/private split: both scores set, and different
    assert task.spec.baseline.public_score != task.spec.baseline.score
    assert todos and all(TODO_MARKER in t.path.read_text().splitlines()[t.line - 1] for t in todos)

    for with_reference, target in ((False, task.spec.baseline), (True, task.spec.reference)):
        work = produce(task, tmp_path, with_reference=with_reference)
        for split, expected in (("public", target.public_score), ("private", target.score)):
            code, out, err = grade(task, work, split)
            assert code == 0, err
            assert score_of(out) == pytest.approx(expected, abs=1e-6), (with_reference, split)


def test_files_template_grader_rejects_junk_with_one_line(tmp_path: Path) -> None:
    task, _ = scaffold_task("files-task", tmp_path, template="files")
    work = produce(task, tmp_path, with_reference=False)
    good = (work / "predictions.csv").read_text().splitlines()
    cases = {
        "missing": None,
        "header": "a,b\n" + "\n".join(good[1:]) + "\n",
        "short": "\n".join(good[:-1]) + "\n",
        "twice": "\n".join([*good, good[1]]) + "\n",
        "nan": "\n".join([good[0], good[1].split(",")[0] + ",nan", *good[2:]]) + "\n",
        "text": "\n".join([good[0], good[1].split(",")[0] + ",abc", *good[2:]]) + "\n",
    }
    for name, content in cases.items():
        sub = tmp_path / f"sub-{name}"
        sub.mkdir()
        if content is not None:
            (sub / "predictions.csv").write_text(content)
        code, out, err = grade(task, sub, "private")
        assert code == 1, (name, out, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("invalid submission:"), (name, err)
    labels = (task.eval_dir / "labels.csv").read_text()
    hidden_value = labels.splitlines()[1].split(",")[2]
    assert hidden_value not in err
    code, _, err = grade(task, work, "neither")
    assert code == 2


def test_code_template_grader_needs_the_runner_and_rejects_a_broken_protocol(tmp_path: Path) -> None:
    task, _ = scaffold_task("code-task", tmp_path, template="code")
    work = produce(task, tmp_path, with_reference=False)
    code, _, err = grade(task, work, "public", runner=None)
    assert code == 2 and "RGYM_SUBMISSION_RUNNER" in err
    for name, policy in {
        "garbage": "print('0 ' * 10000)\n",
        "quits": "import sys\nsys.stdin.readline()\n",
        "not-a-number": "import sys\nsys.stdin.readline()\nprint('fifty', flush=True)\n",
    }.items():
        sub = tmp_path / f"policy-{name}"
        sub.mkdir()
        (sub / "policy.py").write_text(policy)
        code, out, err = grade(task, sub, "private")
        assert code == 1, (name, out, err)
        assert err.startswith("invalid policy:") and len(err.strip().splitlines()) == 1


def test_code_template_knob_changes_the_baseline_score(tmp_path: Path) -> None:
    task, _ = scaffold_task("code-knobs", tmp_path, template="code")
    work = tmp_path / "work"
    shutil.copytree(task.workspace_dir, work)
    (work / "knobs.json").write_text(json.dumps({"step": 2}))
    subprocess.run([sys.executable, "baseline.py"], cwd=work, check=True, capture_output=True)
    code, out, err = grade(task, work, "public")
    assert code == 0, err
    normalized = task.spec.normalize(score_of(out), split=Split.PUBLIC)
    # the knob helps, but stays below the success bar the template sets
    assert normalized is not None and 0.0 < normalized < task.spec.success.normalized_at_least


def test_data_generation_is_byte_for_byte(tmp_path: Path) -> None:
    task, _ = scaffold_task("files-data", tmp_path, template="files")
    files = [task.workspace_dir / "train.csv", task.workspace_dir / "test.csv", task.eval_dir / "labels.csv"]
    before = [f.read_bytes() for f in files]
    subprocess.run([sys.executable, str(task.root / "maintainer" / "make_data.py")], check=True)
    assert [f.read_bytes() for f in files] == before
    subprocess.run(
        [sys.executable, str(task.root / "maintainer" / "make_data.py"), "--seed", "1"], check=True
    )
    assert [f.read_bytes() for f in files] != before


def test_find_todos_lists_every_marker_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("intro\n<!-- TODO(rgym): write this -->\nTODO without the marker\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("x = 1  # TODO(rgym): explain x\n")
    (tmp_path / "data.bin").write_bytes(b"\0TODO(rgym): binary")
    found = [t.describe(tmp_path) for t in find_todos(tmp_path)]
    assert found == ["a.md:2: write this", "sub/b.py:1: explain x"]


def test_scaffold_refuses_bad_input_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lowercase"):
        scaffold_task("Bad_Id", tmp_path)
    with pytest.raises(ConfigError, match="unknown task template 'nope'"):
        scaffold_task("ok-id", tmp_path, template="nope")
    assert list(tmp_path.iterdir()) == []
    scaffold_task("ok-id", tmp_path)
    marker = tmp_path / "ok-id" / "README.md"
    marker.write_text("mine")
    with pytest.raises(ConfigError, match="exists already"):
        scaffold_task("ok-id", tmp_path)
    assert marker.read_text() == "mine"


def test_cli_new_lists_the_todos_and_validate_warns_until_they_are_gone(tmp_path: Path) -> None:
    result = rgym("tasks", "new", "cli-task", "--from", "code", "--title", "A title", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "tasks" / "cli-task"
    todos = find_todos(root)
    listed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  tasks/cli-task/")]
    assert listed == [todo.describe(tmp_path) for todo in todos]
    assert f"{len(todos)} {TODO_MARKER} marker(s)" in result.stdout
    assert 'title: "A title"' in (root / "task.yaml").read_text()

    validate = rgym("tasks", "validate", "tasks/cli-task", cwd=tmp_path)
    assert validate.returncode == 0
    assert "ok tasks/cli-task" in validate.stdout
    assert f"still has {len(todos)} {TODO_MARKER} marker(s)" in validate.stderr

    for path in {t.path for t in todos}:
        path.write_text(path.read_text().replace(TODO_MARKER, "DONE"))
    validate = rgym("tasks", "validate", "tasks/cli-task", cwd=tmp_path)
    assert validate.returncode == 0 and "marker" not in validate.stderr

    again = rgym("tasks", "new", "cli-task", cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "exists already" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("template", list(TEMPLATES))
def test_scaffolded_grader_runs_in_the_real_grader_sandbox(
    template: str, tmp_path: Path, docker_client: object
) -> None:
    from gym_core.grading.grader import Grader
    from gym_core.settings import get_settings

    task, _ = scaffold_task("docker-task", tmp_path, template=template)
    work = produce(task, tmp_path, with_reference=True)
    grader = Grader(task, backend="docker", image=get_settings().base_image)
    result = grader.grade(work, split=Split.PRIVATE)
    assert result.valid, result.message
    assert result.raw == pytest.approx(task.spec.reference.score, abs=1e-6)
