"""method_consistency must measure the method, not text an agent writes to look consistent.

Two attempts solve tiny-mean by different methods; both also write the same large filler. Were every
changed byte counted, the filler's token shingles would outnumber the method's a thousandfold and the two
attempts would look the same whatever the methods were: a constant would beat the metric. Only the code
the attempt executed counts (docs/metrics.md), so filler in notes, in a Python file never run, or in the
comments and docstrings of the executed file lifts nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.env.research_env import ResearchEnv
from gym_core.report.store_loader import load_run_data
from gym_core.scoring.metrics import compute_metrics
from gym_core.store import open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"

METHODS = [
    "import statistics\nvalues = [9.5, 10.5]\nprint(statistics.mean(values))\n",
    "def bisect(lo, hi):\n    while hi - lo > 1e-9:\n        lo = (lo + hi) / 2\n    return hi\n",
]
FILLER = " ".join(f"w{i} {i * 7919 % 10007}" for i in range(20_000)) + "\n"
#: The same filler as Python code: valid, importable, never run by the method.
FILLER_CODE = "".join(f"w{i} = {i * 7919 % 10007}\n" for i in range(3_000))


def _run(store_url: str, *, filler: bool) -> float:
    with open_store(store_url) as store:
        env = ResearchEnv(FIXTURE, backend="local", store=store)
        try:
            for seed, method in enumerate(METHODS):
                env.reset(seed=seed)
                env.step({"tool": "write_file", "path": "solve.py", "content": method})
                if filler:
                    env.step({"tool": "write_file", "path": "notes.txt", "content": FILLER})
                env.step({"tool": "write_file", "path": "answer.txt", "content": "10\n"})
                assert env.step({"tool": "submit"})[4]["success"] is True
            run_id = env.run_id
        finally:
            env.close()
        assert run_id is not None
        return compute_metrics(load_run_data(store, run_id)).method_consistency


@pytest.mark.slow  # four episodes
def test_filler_does_not_make_different_methods_look_consistent(tmp_path: Path) -> None:
    honest = _run(f"sqlite:///{tmp_path / 'honest.db'}", filler=False)
    padded = _run(f"sqlite:///{tmp_path / 'padded.db'}", filler=True)
    assert honest < 0.5  # the two methods share little
    assert padded < 0.5, f"identical filler lifted method_consistency from {honest:.2f} to {padded:.2f}"


@pytest.mark.slow  # two episodes
def test_filler_in_unexecuted_code_and_in_the_executed_files_comments_is_not_method(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'traces.db'}") as store:
        env = ResearchEnv(FIXTURE, backend="local", store=store)
        try:
            for seed, method in enumerate(METHODS):
                env.reset(seed=seed)
                padded = f'"""{FILLER[:20_000]}"""\n# {FILLER[:5_000]}\n{method}'
                env.step({"tool": "write_file", "path": "solve.py", "content": padded})
                env.step({"tool": "write_file", "path": "pad.py", "content": FILLER_CODE})
                env.step({"tool": "write_file", "path": "notes.md", "content": FILLER})
                assert (
                    env.step({"tool": "bash", "command": "python solve.py > /dev/null"})[0]["exit_code"] == 0
                )
                env.step({"tool": "write_file", "path": "answer.txt", "content": "10\n"})
                assert env.step({"tool": "submit"})[4]["success"] is True
            run_id = env.run_id
        finally:
            env.close()
        assert run_id is not None
        data = load_run_data(store, run_id)
        metrics = compute_metrics(data)
    assert [a.executed_files for a in data.attempts] == [frozenset({"solve.py"})] * 2
    assert metrics.n_compared == 2
    assert metrics.method_consistency < 0.5, metrics.method_consistency
