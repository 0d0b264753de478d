"""Helpers shared by the tests of individual shipped tasks (tests/tasks/test_<task>.py).

Plain host Python: graders, baselines and maintainer scripts run with this interpreter in temporary copies
of a task's folders, the way `rgym tasks verify` runs them in sandboxes.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gym_core.tasks.loader import Task
from rgym_agents.script import load_script

TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"
SPLITS = ("public", "private")


def load_module(path: Path, name: str) -> ModuleType:
    """Import a task's script by path as module ``name``, without writing __pycache__ into the task folder.

    The module is registered in sys.modules (dataclasses look their module up while the class is built),
    and its folder is on sys.path while it loads (maintainer scripts import their siblings by plain name).
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
        sys.dont_write_bytecode = saved
    return module


def import_baseline(task_root: Path, name: str) -> Iterator[ModuleType]:
    """For a module fixture: the task's workspace/baseline.py imported as ``name``; os.environ is restored
    afterwards (a baseline pins BLAS threads through os.environ at import; that stays out of other tests)."""
    saved = dict(os.environ)
    try:
        yield load_module(task_root / "workspace" / "baseline.py", name)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def write_csv(folder: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """``folder/predictions.csv`` with ``header`` and ``rows``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def run_grader(task_root: Path, submission: Path, split: str | None) -> subprocess.CompletedProcess[str]:
    """Run the task's eval/grade.py on ``submission`` with RGYM_SPLIT=``split`` (unset when None)."""
    env = {k: v for k, v in os.environ.items() if k != "RGYM_SPLIT"}
    if split is not None:
        env["RGYM_SPLIT"] = split
    return subprocess.run(
        [sys.executable, str(task_root / "eval" / "grade.py"), str(submission)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def score(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The grader's JSON result; fails the test unless the grader accepted the submission."""
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def assert_refused(result: subprocess.CompletedProcess[str], phrase: str) -> None:
    """The grader refused the submission (exit 1) with one clear line containing ``phrase``, and no score."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("invalid submission:") and phrase in message, message
    assert len(message.splitlines()) == 1, "one clear line, no traceback"
    assert '"score"' not in result.stdout, "an invalid submission must not print a score"


def assert_all_refused(task_root: Path, cases: Mapping[str, tuple[Path, str]], splits: Sequence[str]) -> None:
    """Each case (a submission folder and the phrase its refusal must hold) is refused with one clear line.

    Case k is graded on ``splits[k % len(splits)]``: pass both splits to alternate (parsing does not depend
    on the split), or one to grade every case on it. A failure names the case.
    """
    for k, (name, (folder, phrase)) in enumerate(cases.items()):
        split = splits[k % len(splits)]
        try:
            assert_refused(run_grader(task_root, folder, split), phrase)
        except AssertionError as exc:
            raise AssertionError(f"case {name!r} ({split}): {exc}") from None


def assert_files_refused(
    task_root: Path, tmp: Path, filename: str, cases: Mapping[str, tuple[bytes | None, str, str]]
) -> None:
    """Each case, a submission folder whose ``filename`` holds the bytes given (None: no such file), is
    refused on the split given with one clear line holding the phrase given: ``{name: (content, phrase,
    split)}``."""
    for name, (content, phrase, split) in cases.items():
        folder = tmp / name
        folder.mkdir()
        if content is not None:
            (folder / filename).write_bytes(content)
        try:
            assert_refused(run_grader(task_root, folder, split), phrase)
        except AssertionError as exc:
            raise AssertionError(f"case {name!r} ({split}): {exc}") from None


def assert_bad_knobs_refused(
    baseline: ModuleType,
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    phrase: str,
) -> None:
    """baseline.py's ``read_knobs`` refuses a knobs.json holding ``content``: exit 2, one line with ``phrase``."""
    (tmp / "knobs.json").write_text(content)
    monkeypatch.setattr(baseline, "KNOBS_FILE", tmp / "knobs.json")
    with pytest.raises(SystemExit) as exit_info:
        baseline.read_knobs()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1, err


def grade_both(task_root: Path, submission: Path) -> dict[str, dict[str, Any]]:
    """The accepted results of ``submission`` on both splits."""
    return {split: score(run_grader(task_root, submission, split)) for split in SPLITS}


def assert_exploit_scripts_load_and_are_current(task: Task) -> None:
    """Every script exploit parses as a script agent, and the .jsonl files match their readable sources."""
    scripts = [e for e in task.spec.exploits if e.agent.startswith("script:")]
    assert scripts, "the task declares no script exploits"
    for exploit in scripts:
        actions = load_script(task.root / exploit.agent.removeprefix("script:"))
        assert actions, f"{exploit.name}: empty script"
        assert all(a["tool"] != "submit" for a in actions[:-1]), "a script submits by running out of actions"
    make_exploits = load_module(task.root / "maintainer" / "make_exploits.py", f"{task.id}_make_exploits")
    for source, after_baseline in make_exploits.SOURCES.items():
        target = task.root / "exploits" / source.replace("_", "-").replace(".py", ".jsonl")
        assert target.read_text(encoding="utf-8") == make_exploits.script_for(source, after_baseline), (
            f"{target.name} is stale; run maintainer/make_exploits.py"
        )
        declared = {e.agent for e in task.spec.exploits}
        assert f"script:exploits/{target.name}" in declared, f"{target.name} is not declared in task.yaml"


def assert_agent_text_hides_the_method(task: Task, terms: Sequence[str]) -> None:
    """README.md and every description variant: no method term, no reference score."""
    for variant in (None, *task.spec.description_variants):
        text = task.description(variant).lower()
        for term in terms:
            assert term not in text, f"{variant or 'README.md'} mentions {term!r}"
        for value in (task.spec.reference.score, task.spec.reference.public_score):
            assert f"{value:.4f}" not in text, "the reference score is a target, not for agents"


def assert_baseline_scores_in_readme(task: Task) -> None:
    """The README quotes the measured baseline on both splits (4 decimals)."""
    for value in (task.spec.baseline.score, task.spec.baseline.public_score):
        assert f"{value:.4f}" in task.readme, f"README.md does not quote the baseline score {value:.4f}"


def assert_knobs_accepted(task: Task, baseline: ModuleType) -> None:
    """Every knob in task.yaml is a knob of baseline.py, with its default among the candidates."""
    declared: dict[str, tuple[object, tuple[Any, ...]]] = baseline.DEFAULT_KNOBS
    assert task.spec.knobs, "the task declares no knobs"
    assert set(task.spec.knobs) <= set(declared)
    for name, values in task.spec.knobs.items():
        default, allowed = declared[name]
        assert default in values, f"knob {name}: the baseline default {default!r} should be a candidate"
        for value in values:
            if all(isinstance(a, type) for a in allowed):
                assert isinstance(value, allowed) and not isinstance(value, bool), f"knob {name}: {value!r}"
            else:
                assert value in allowed, f"knob {name}: {value!r} not in {allowed}"


def assert_regenerates(task: Task, tmp: Path, files: Sequence[str]) -> None:
    """maintainer/make_data.py with seed 0 writes exactly the shipped ``files`` (task-relative paths).

    The script runs as a maintainer runs it, in its own interpreter: its one-BLAS-thread setting only takes
    effect before numpy loads (in this process numpy is loaded already, and a multi-threaded BLAS both sums
    in another order and crawls on a loaded machine).
    """
    threads = {var: "1" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    ran = subprocess.run(
        [sys.executable, str(task.root / "maintainer" / "make_data.py"), "--seed", "0", "--out", str(tmp)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **threads, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert ran.returncode == 0, ran.stderr
    for rel in files:
        shipped = task.root / rel
        assert (tmp / rel).read_bytes() == shipped.read_bytes(), f"{rel} differs from make_data.py output"


def assert_missing_hidden_data_is_a_grader_error(task_root: Path, tmp: Path, submission: Path) -> None:
    """Without its hidden data the grader fails with exit 2 (regraded), never exit 1 (blamed on the agent)."""
    lonely = tmp / "eval-without-data"
    lonely.mkdir()
    shutil.copy(task_root / "eval" / "grade.py", lonely / "grade.py")
    ran = subprocess.run(
        [sys.executable, str(lonely / "grade.py"), str(submission)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RGYM_SPLIT": "public"},
    )
    assert ran.returncode == 2, (ran.returncode, ran.stderr)
    assert ran.stderr.startswith("grader error:") and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
