"""The MLGym grader adapter on the host: MLGym's evaluate.py behind rgym's grader contract.

Code submissions run through ``RGYM_SUBMISSION_RUNNER=env`` here (a harmless prefix); the isolation itself is
tested with the real runner in the Docker tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.importers import mlgym

SRC = Path(__file__).resolve().parent.parent / "fixtures" / "mlgym"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imported")
    mlgym.import_task(SRC, "coinToss", out)
    mlgym.import_task(SRC, "matchingGame", out)
    return out


def grade(
    task: Path, submission: Path, split: str, runner: str | None = "env"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RGYM_SUBMISSION_RUNNER"}
    env["RGYM_SPLIT"] = split
    if runner is not None:
        env["RGYM_SUBMISSION_RUNNER"] = runner
    return subprocess.run(
        [sys.executable, str(task / "eval" / "rgym_mlgym_grade.py"), str(submission)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def score(result: subprocess.CompletedProcess[str]) -> float:
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout.strip().splitlines()[-1])["score"]
    assert isinstance(value, float)
    return value


def _accuracy(truth: dict[str, str], guess: dict[str, str], ids: set[str]) -> float:
    return sum(guess[i] == truth[i] for i in ids) / len(ids)


def test_csv_private_is_the_whole_test_set_and_public_a_half(imported: Path, tmp_path: Path) -> None:
    task = imported / "mlgym-coin-toss-prediction"
    shutil.copyfile(task / "workspace" / "sample_submission.csv", tmp_path / "submission.csv")
    truth = dict(
        line.split(",") for line in (SRC / "data/coinToss/data/ground_truth.csv").read_text().split()[1:]
    )
    guess = dict(line.split(",") for line in (tmp_path / "submission.csv").read_text().split()[1:])
    private = score(grade(task, tmp_path, "private"))
    assert private == pytest.approx(_accuracy(truth, guess, set(truth)))  # what MLGym's evaluate.py reports
    public = score(grade(task, tmp_path, "public"))
    assert public != private and 0.0 <= public <= 1.0
    shutil.copyfile(SRC / "data/coinToss/data/ground_truth.csv", tmp_path / "submission.csv")
    assert score(grade(task, tmp_path, "public")) == score(grade(task, tmp_path, "private")) == 1.0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "submission.csv is missing from the submission"),
        ("CoinId,Heads\n81,1\n", "79 test id(s) of 80 are missing"),
        ("CoinId,Heads\n81,1\n81,0\n", "line 3: CoinId 81 appears twice"),
        ("Id,Heads\n81,1\n", "the column CoinId is missing"),
        ("CoinId,Heads\n5,1\n", "line 2: CoinId 5 is not a test id"),
    ],
)
def test_csv_invalid_submission_exits_1_with_one_line(
    imported: Path, tmp_path: Path, content: str | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / "submission.csv").write_text(content)
    for split in ("public", "private"):
        result = grade(imported / "mlgym-coin-toss-prediction", tmp_path, split)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [result.stderr.strip()] and reason in result.stderr


def test_evaluate_py_refusal_is_an_invalid_submission(imported: Path, tmp_path: Path) -> None:
    task = imported / "mlgym-coin-toss-prediction"
    rows = (task / "workspace" / "sample_submission.csv").read_text().replace("CoinId,Heads", "CoinId,Tails")
    (tmp_path / "submission.csv").write_text(rows)  # every id present, but evaluate.py needs the Heads column
    result = grade(task, tmp_path, "private")
    assert result.returncode == 1 and "submission.csv needs the columns CoinId and Heads" in result.stderr


def _strategy(tmp_path: Path, body: str) -> Path:
    (tmp_path / "strategy.py").write_text(body)
    return tmp_path


def test_strategy_starter_reproduces_the_published_score(imported: Path, tmp_path: Path) -> None:
    task = imported / "mlgym-matching-game"
    shutil.copyfile(task / "workspace" / "strategy.py", tmp_path / "strategy.py")
    private, public = score(grade(task, tmp_path, "private")), score(grade(task, tmp_path, "public"))
    # Always 0 against a partner who plays 1 with probability 0.7: 0.3, +- 3 sigma of 2000 rounds (0.03).
    assert abs(private - 0.3) < 0.031 and abs(public - 0.3) < 0.031 and private != public
    assert score(grade(task, tmp_path, "private")) == private  # seeded: a regrade gives the same score
    better = _strategy(tmp_path, "def row_strategy(history):\n    return 1\n")
    assert abs(score(grade(task, better, "private")) - 0.7) < 0.031


def test_strategy_sees_tuples_as_mlgym_passes_them(imported: Path, tmp_path: Path) -> None:
    body = (
        "def row_strategy(history):\n"
        "    if history and not (isinstance(history, list) and isinstance(history[-1], tuple)):\n"
        "        raise TypeError('history is not a list of tuples')\n"
        "    return history[-1][1] if history else 1\n"
    )
    assert score(grade(imported / "mlgym-matching-game", _strategy(tmp_path, body), "public")) > 0.5


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "def row_strategy(history):\n    return 2\n",
            "evaluate.py refused a move: ValueError: Strategies must",
        ),
        (
            "def row_strategy(history):\n    raise KeyError('boom')\n",
            "strategy.row_strategy (call 1) raised KeyError",
        ),
        ("import os\ndef row_strategy(history):\n    os._exit(0)\n", "exited without answering"),
        ("def row_strategy(history):\n    return object()\n", "raised TypeError: returned a object"),
        ("def other(history):\n    return 0\n", "raised AttributeError"),
        ("def row_strategy(:\n", "raised SyntaxError"),
    ],
)
def test_broken_strategy_is_an_invalid_submission(
    imported: Path, tmp_path: Path, body: str, reason: str
) -> None:
    result = grade(imported / "mlgym-matching-game", _strategy(tmp_path, body), "public")
    assert result.returncode == 1, result.stderr
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_strategy_printing_a_score_line_cannot_set_its_score(imported: Path, tmp_path: Path) -> None:
    body = (
        "print('{\"score\": 99}')\ndef row_strategy(history):\n    print('{\"Score\": 99}')\n    return 0\n"
    )
    assert score(grade(imported / "mlgym-matching-game", _strategy(tmp_path, body), "private")) < 0.5


def test_code_is_never_run_without_the_runner(imported: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    body = f"open({str(marker)!r}, 'w').close()\ndef row_strategy(history):\n    return 0\n"
    result = grade(imported / "mlgym-matching-game", _strategy(tmp_path, body), "public", runner=None)
    assert result.returncode == 2 and "RGYM_SUBMISSION_RUNNER is not set" in result.stderr
    assert not marker.exists()


def test_hung_strategy_runs_out_of_time(imported: Path, tmp_path: Path) -> None:
    task = imported / "mlgym-matching-game"
    config_path = task / "eval" / "rgym_mlgym.json"
    config = json.loads(config_path.read_text())
    try:
        config_path.write_text(json.dumps({**config, "timeout_s": 2}))
        body = "import time\ndef row_strategy(history):\n    time.sleep(60)\n"
        result = grade(task, _strategy(tmp_path, body), "public")
    finally:
        config_path.write_text(json.dumps(config))
    assert result.returncode == 1 and "ran out of time" in result.stderr
