"""``rgym replay --execute``: a real re-run that finds real divergences, and the comparison rules it uses.

Episodes are recorded through the public Gymnasium API on the local backend and replayed through the CLI,
so these run in the fast subset.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.cli.main import main
from gym_core.env.research_env import ResearchEnv
from gym_core.replay import COMPARE_CHARS, SIMILAR, ReplayReport, StepDivergence, comparison, similarity
from gym_core.store import open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    """A copy of tiny-mean that a test may change after recording an episode of it."""
    root = tmp_path / "tasks" / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    monkeypatch.setenv("RGYM_STORE", url)
    yield url


def _record(url: str, task_root: Path, actions: list[dict[str, Any]]) -> str:
    with open_store(url) as store:
        env = ResearchEnv(task_root, backend="local", store=store, seed=4)
        try:
            env.reset(seed=4)
            for action in actions:
                _, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
        finally:
            env.close()
        return str(info["episode_id"])


def _replay(episode_id: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[int, list[str]], str]:
    """Replay through the CLI: the table's rows by step index, and the whole output."""
    assert main(["replay", episode_id, "--execute"]) == 0
    out = capsys.readouterr().out
    rows: dict[int, list[str]] = {}
    for line in out.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line.strip())[1:-1]]
        if cells and cells[0].isdigit():
            rows[int(cells[0])] = cells
    return rows, out


def test_replay_finds_the_step_whose_output_changed(
    store_url: str, task_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    episode = _record(
        store_url,
        task_root,
        [
            {"tool": "bash", "command": "echo the same every time"},
            {"tool": "bash", "command": "head -c 48 /dev/urandom | base64 -w0"},  # new bytes on every run
            {"tool": "write_file", "path": "answer.txt", "content": "10\n"},
            {"tool": "submit"},
        ],
    )
    rows, out = _replay(episode, capsys)
    # columns: step, tool, exit (recorded), exit (replay), output alike, verdict
    assert {i: (r[1], r[5]) for i, r in rows.items()} == {
        0: ("bash", "same"),
        1: ("bash", "diverged"),
        2: ("write_file", "same"),
        3: ("submit", "same"),
    }
    assert rows[0][4] == "100%" and int(rows[1][4].rstrip("%")) < SIMILAR * 100
    assert "1 of 4 step(s) diverged; final score: recorded 0.0, replayed 0.0 (difference +0)" in out
    assert "changed since this episode ran" not in out


def test_replay_flags_a_changed_task_and_the_score_it_now_gets(
    store_url: str, task_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    episode = _record(
        store_url,
        task_root,
        [{"tool": "bash", "command": "python baseline.py"}, {"tool": "submit"}],
    )
    # After the episode, the hidden sample changes (mean 10 -> 12) and the baseline script starts failing.
    (task_root / "eval" / "private.txt").write_text("12\n12\n12\n")
    baseline = task_root / "workspace" / "baseline.py"
    baseline.write_text(baseline.read_text() + "\nraise SystemExit(3)\n")
    rows, out = _replay(episode, capsys)
    assert "warning: task tiny-mean changed since this episode ran" in out
    assert (rows[0][2], rows[0][3], rows[0][5]) == ("0", "3", "diverged")  # exit code 0, now 3
    assert "1 of 2 step(s) diverged; final score: recorded 5.0, replayed 7.0 (difference +2)" in out


# --- the comparison rules ---------------------------------------------------------------------------------


def test_similarity_is_one_for_equal_outputs_and_falls_with_each_change() -> None:
    assert similarity("abc", "abc") == 1.0
    assert similarity("", "") == 1.0
    assert similarity("abcd", "abcx") == pytest.approx(0.75)  # difflib ratio: 2 * 3 matches / 8 chars
    assert similarity("abc", "xyz") == 0.0


def test_similarity_compares_only_the_head_of_long_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    head = "x" * COMPARE_CHARS
    assert similarity(head + "recorded tail", head + "a different tail") == 1.0
    # The boundary itself, on a short head (difflib is quadratic on 8 KiB of look-alike text).
    monkeypatch.setattr(comparison, "COMPARE_CHARS", 4)
    assert similarity("abcdEFG", "abcdXYZ") == 1.0
    assert similarity("abcEFG", "abcXYZ") == pytest.approx(0.75)


def test_repetitive_outputs_that_differ_in_one_line_are_alike() -> None:
    # A training log repeats itself. difflib's "autojunk" heuristic would treat its frequent characters as
    # junk and call two runs of it 6% alike; the comparison must see that one line of 60 changed.
    log = "".join(f"line {i % 7}\n" for i in range(60))
    assert similarity(log, log.replace("line 3", "line 9", 1)) > 0.99


@pytest.mark.parametrize(
    ("recorded", "replayed", "alike", "diverged"),
    [
        (0, 0, 1.0, False),
        (0, 0, SIMILAR, False),  # exactly at the bar still counts as the same
        (0, 0, SIMILAR - 0.01, True),
        (0, 1, 1.0, True),  # same output, different exit code
        (None, None, 1.0, False),  # write_file, validate: no exit code either time
        (None, 0, 1.0, True),
    ],
)
def test_a_step_diverges_on_its_exit_code_or_a_different_output(
    recorded: int | None, replayed: int | None, alike: float, diverged: bool
) -> None:
    assert StepDivergence(0, "bash", recorded, replayed, alike).diverged is diverged


def test_report_counts_diverged_steps_and_the_score_difference() -> None:
    steps = [
        StepDivergence(0, "bash", 0, 0, 1.0),
        StepDivergence(1, "bash", 0, 2, 1.0),
        StepDivergence(2, "bash", 0, 0, 0.1),
    ]
    report = ReplayReport("ep", steps=steps, recorded_final=5.0, replayed_final=7.5)
    assert report.diverged_steps == 2
    assert report.score_difference == 2.5
    assert ReplayReport("ep", recorded_final=5.0).score_difference is None
    assert ReplayReport("ep", replayed_final=5.0).score_difference is None
    assert ReplayReport("ep").diverged_steps == 0
