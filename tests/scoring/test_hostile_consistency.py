"""method_consistency must measure the method, not text an agent writes to look consistent.

Two attempts solve tiny-mean by different methods; both also write the same large filler. Were every
changed byte counted, the filler's token shingles would outnumber the method's a thousandfold and the two
attempts would look the same whatever the methods were: a constant would beat the metric. Only the code
the attempt executed counts (docs/metrics.md), so filler in notes, in a Python file never run, or in the
comments and docstrings of the executed file lifts nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.report.store_loader import load_run_data
from gym_core.scoring.metrics import compute_metrics
from gym_core.scoring.run_data import RunData
from gym_core.store import open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"

METHODS = [
    "import statistics\nvalues = [9.5, 10.5]\nprint(statistics.mean(values))\n",
    "def bisect(lo, hi):\n    while hi - lo > 1e-9:\n        lo = (lo + hi) / 2\n    return hi\n",
]
FILLER = " ".join(f"w{i} {i * 7919 % 10007}" for i in range(20_000)) + "\n"
#: The same filler as Python code: valid, importable, never run by the method.
FILLER_CODE = "".join(f"w{i} = {i * 7919 % 10007}\n" for i in range(3_000))


def _play(store_url: str, attempts: int, attempt: Callable[[ResearchEnv, int], None]) -> RunData:
    """``attempts`` attempts of tiny-mean through ``env.step`` on the local backend, attempt ``i`` played by
    ``attempt(env, i)`` then submitted (it must succeed); the run as the report loads it."""
    with open_store(store_url) as store:
        env = ResearchEnv(FIXTURE, backend="local", store=store)
        try:
            for seed in range(attempts):
                env.reset(seed=seed)
                attempt(env, seed)
                assert env.step({"tool": "submit"})[4]["success"] is True
            run_id = env.run_id
        finally:
            env.close()
        assert run_id is not None
        return load_run_data(store, run_id)


def _run(store_url: str, *, filler: bool) -> float:
    def attempt(env: ResearchEnv, seed: int) -> None:
        env.step({"tool": "write_file", "path": "solve.py", "content": METHODS[seed]})
        if filler:
            env.step({"tool": "write_file", "path": "notes.txt", "content": FILLER})
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10\n"})

    return compute_metrics(_play(store_url, len(METHODS), attempt)).method_consistency


@pytest.mark.slow  # four episodes
def test_filler_does_not_make_different_methods_look_consistent(tmp_path: Path) -> None:
    honest = _run(f"sqlite:///{tmp_path / 'honest.db'}", filler=False)
    padded = _run(f"sqlite:///{tmp_path / 'padded.db'}", filler=True)
    assert honest < 0.5  # the two methods share little
    assert padded < 0.5, f"identical filler lifted method_consistency from {honest:.2f} to {padded:.2f}"


@pytest.mark.slow  # two episodes
def test_filler_in_unexecuted_code_and_in_the_executed_files_comments_is_not_method(tmp_path: Path) -> None:
    def attempt(env: ResearchEnv, seed: int) -> None:
        padded = f'"""{FILLER[:20_000]}"""\n# {FILLER[:5_000]}\n{METHODS[seed]}'
        env.step({"tool": "write_file", "path": "solve.py", "content": padded})
        env.step({"tool": "write_file", "path": "pad.py", "content": FILLER_CODE})
        env.step({"tool": "write_file", "path": "notes.md", "content": FILLER})
        assert env.step({"tool": "bash", "command": "python solve.py > /dev/null"})[0]["exit_code"] == 0
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10\n"})

    data = _play(f"sqlite:///{tmp_path / 'traces.db'}", len(METHODS), attempt)
    metrics = compute_metrics(data)
    assert [a.executed_files for a in data.attempts] == [frozenset({"solve.py"})] * 2
    assert metrics.n_compared == 2
    assert metrics.method_consistency < 0.5, metrics.method_consistency


# --- a decoy run plainly, the method run by a form the trace reader once missed ----------------------------

#: Two different methods, each printing the answer.
SOLVERS = [
    "import statistics\nvalues = [9.5, 10.5]\nprint(statistics.mean(values))\n",
    "lo, hi = 0.0, 20.0\nwhile hi - lo > 1e-9:\n    mid = (lo + hi) / 2\n    lo, hi = (mid, hi) if mid < 10 else (lo, mid)\nprint(round(hi))\n",
]
#: The same in every attempt, and run plainly: were it the only code counted, the attempts would look alike.
DECOY = "print('warming up')\n"
LOADER = "import sys\nexec(open(sys.argv[1]).read())\n"


def _decoy_run(store_url: str, commands: list[str]) -> tuple[float, list[frozenset[str] | None]]:
    """Two attempts: the decoy at the root and in real/, a different method in real.py and real/solve.py,
    run by ``commands`` (which write answer.txt)."""

    def attempt(env: ResearchEnv, seed: int) -> None:
        for path, content in [
            ("solve.py", DECOY),
            ("loader.py", LOADER),
            ("real.py", SOLVERS[seed]),
            ("real/solve.py", SOLVERS[seed]),
        ]:
            env.step({"tool": "write_file", "path": path, "content": content})
        assert env.step({"tool": "bash", "command": "python solve.py"})[0]["exit_code"] == 0
        for command in commands:
            assert env.step({"tool": "bash", "command": command})[0]["exit_code"] == 0, command

    data = _play(store_url, len(SOLVERS), attempt)
    return compute_metrics(data).method_consistency, [a.executed_files for a in data.attempts]


@pytest.mark.slow  # two episodes
def test_a_cd_kept_from_one_command_to_the_next_is_followed(tmp_path: Path) -> None:
    """The session keeps its folder between commands: after `cd real`, `python solve.py` runs the method in
    real/solve.py, not the decoy at the root."""
    consistency, executed = _decoy_run(
        f"sqlite:///{tmp_path / 'traces.db'}", ["cd real", "python solve.py > /workspace/answer.txt"]
    )
    assert all(e is not None and "real/solve.py" in e for e in executed), executed
    assert consistency < 0.5, consistency


@pytest.mark.slow  # two episodes each
@pytest.mark.parametrize(
    "command",
    [
        "bash -ec 'python real.py > answer.txt'",  # grouped options: -e -c
        "python - < real.py > answer.txt",
        "cat real.py | python > answer.txt",
        "python loader.py real.py > answer.txt",
        "cp real.py /tmp/r.py && python /tmp/r.py > answer.txt",
        "{ python real.py; } > answer.txt",
    ],
)
def test_a_decoy_run_plainly_does_not_hide_the_method_run_otherwise(tmp_path: Path, command: str) -> None:
    consistency, executed = _decoy_run(f"sqlite:///{tmp_path / 'traces.db'}", [command])
    assert all(e is not None and "real.py" in e for e in executed), executed
    assert consistency < 0.5, consistency
