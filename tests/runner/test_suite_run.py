"""`rgym run --suite` and `rgym report SUITE_RUN` end to end, on the two tiny fixture tasks.

The agents of tests/fixtures/agents/suite_agents.py answer by task and seed, so every number below is worked
out by hand in that file's docstring: no number here is read back from the code under test.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.sandbox import local_backend
from gym_core.settings import get_settings
from gym_core.store import open_store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tasks"
AGENTS = ROOT / "tests" / "fixtures" / "agents" / "suite_agents.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not local_backend.bubblewrap_usable(), reason="the local backend needs bubblewrap here"
    ),
]


def rgym(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RGYM_TASKS_PATH": str(FIXTURES), "RGYM_STORE": url}
    return subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )


def run_suite(agent: str, url: str) -> str:
    result = rgym(
        "run", "--suite", "tiny", "--agent", f"module:{AGENTS}:{agent}", "--runs", "3", "--parallel", "2",
        "--seed", "0", "--backend", "local", "--no-progress", url=url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_suite_runs_report_per_task_rows_the_aggregate_and_aup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    alternating = run_suite("Alternating", url)
    steady = run_suite("Steady", url)

    get_settings.cache_clear()
    with open_store(url) as store:
        record = store.get_suite_run(alternating)
        assert (record.suite, record.tasks, record.k, record.status) == (
            "tiny",
            ["tiny-mean", "guess-target"],
            3,
            "completed",
        )
        runs = store.suite_run_runs(alternating)
        assert [r.task_id for r in runs] == ["tiny-mean", "guess-target"]
        assert all(r.suite_run_id == alternating and r.status == "completed" and r.k == 3 for r in runs)
        # --parallel 2 spans tasks: guess-target's first attempt starts before tiny-mean's second one
        mean_eps = {e.index: e for e in store.list_episodes(runs[0].id)}
        sum_eps = {e.index: e for e in store.list_episodes(runs[1].id)}
        assert sorted(e.seed for e in mean_eps.values()) == [0, 1, 2]
        assert sum_eps[0].started_at < mean_eps[1].started_at

    report = rgym("report", alternating, "--format", "json", url=url)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    (suite,) = data["suite_runs"]
    rows = {row["task_id"]: row for row in suite["tasks"]}
    # tiny-mean: normalized 0.8, 0.4, 0.8 with a 0.5 bar -> c = 2 of 3
    assert rows["tiny-mean"]["best_of_k"] == pytest.approx(0.8)
    assert rows["tiny-mean"]["worst_of_k"] == pytest.approx(0.4)
    assert rows["tiny-mean"]["mean"] == pytest.approx(2.0 / 3.0)
    assert rows["tiny-mean"]["pass_at_k"] == pytest.approx(1.0)  # 1 - C(1,3)/C(3,3)
    assert rows["tiny-mean"]["pass_hat_k"] == pytest.approx(0.0)  # C(2,3)/C(3,3)
    assert rows["tiny-mean"]["flicker"] == pytest.approx(1.0)
    assert rows["tiny-mean"]["best_raw"] == pytest.approx(1.0)
    # guess-target: normalized 1.0, 0.8, 0.8 -> c = 3 of 3
    assert rows["guess-target"]["best_of_k"] == pytest.approx(1.0)
    assert rows["guess-target"]["mean"] == pytest.approx(2.6 / 3.0)
    assert rows["guess-target"]["pass_at_k"] == rows["guess-target"]["pass_hat_k"] == pytest.approx(1.0)
    assert rows["guess-target"]["flicker"] == pytest.approx(0.0)
    assert suite["aggregate"] == pytest.approx(
        {"mean_best_of_k": 0.9, "mean_pass_at_k": 1.0, "mean_pass_hat_k": 0.5, "mean_flicker": 0.5}
    )
    assert "aup" not in data  # one suite run alone has no AUP

    both = json.loads(rgym("report", alternating, steady, "--format", "json", url=url).stdout)
    aup = both["aup"]
    # tiny-mean (minimize): best raw 1 (alternating), 3 (steady), baseline 5 -> ratios 1, 3, 5; ceil(5.25) = 6
    # guess-target (maximize): best raw 10, 9, baseline 5 -> ratios 1, 10/9, 2; tau_max = ceil1(log10 6) = 0.8
    assert aup["tau_max"] == pytest.approx(0.8)
    assert aup["values"][alternating] == pytest.approx(0.8)
    assert aup["values"][steady] == pytest.approx(((0.8 - math.log10(3)) + (0.8 - math.log10(10 / 9))) / 2)
    assert aup["values"]["baseline"] == pytest.approx(0.3)

    table = rgym("report", alternating, steady, url=url)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    mean_row = next(line for line in lines if "tiny-mean" in line)
    assert "0.800" in mean_row and "1.000" in mean_row and "0.000" in mean_row and "0.400" in mean_row
    aggregate = next(line for line in lines if "mean of 2 tasks" in line)
    assert [cell.strip() for cell in aggregate.split("│") if cell.strip()][1:] == [
        "0.900",
        "1.000",
        "0.500",
        "0.500",
    ]
    assert "AUP across suite runs" in table.stdout
    assert any("baseline" in line and "0.300" in line for line in lines)

    html = rgym("report", alternating, steady, "--format", "html", "--out", str(tmp_path / "r.html"), url=url)
    assert html.returncode == 0
    page = (tmp_path / "r.html").read_text()
    assert "Flicker per task" in page and page.count("data:image/png;base64,") == 1

    mixed = rgym("report", alternating, runs[0].id, url=url)
    assert mixed.returncode == 2 and "either suite run ids or run ids" in mixed.stderr


def test_bad_suite_input_is_one_line_and_records_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    for args, needle in (
        (["--suite", "tiyn"], "did you mean tiny?"),
        (["tiny-mean", "--suite", "tiny"], "give a task or --suite, not both"),
        ([], "give a task to run, or --suite NAME"),
        (["--suite", "tiny", "--budget", "walltime=3"], "unknown key walltime"),
    ):
        result = rgym("run", *args, "--agent", "noop", "--backend", "local", "--no-progress", url=url)
        assert result.returncode == 2, (args, result.stderr)
        assert needle in result.stderr and "Traceback" not in result.stderr
    get_settings.cache_clear()
    with open_store(url) as store:
        assert store.list_runs() == [] and store.list_suite_runs() == []


def test_resume_finishes_a_suite_run_that_never_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from gym_core.recorder import RunConfig
    from gym_core.runner.runner import Runner
    from gym_core.tasks.suites import find_suite

    url = f"sqlite:///{tmp_path / 'traces.db'}"
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    with open_store(url) as store:
        runner = Runner(store, console=Console(file=io.StringIO()), show_progress=False)
        suite_run, run_ids = runner.start_suite(
            find_suite("tiny"), RunConfig(task="", agent="baseline", runs=1, seed=3, backend="local")
        )
        assert [store.get_run(r).status for r in run_ids] == ["running", "running"]
    result = rgym("resume", suite_run[:16], "--no-progress", url=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == suite_run
    with open_store(url) as store:
        assert store.get_suite_run(suite_run).status == "completed"
        runs = store.suite_run_runs(suite_run)
        assert [r.status for r in runs] == ["completed", "completed"]
        assert all(r.seed == 3 for r in runs)
        # the baseline agent reproduces each baseline: raw 5.0 on both tasks' private splits
        finals = [store.list_episodes(r.id)[0].final_raw for r in runs]
        assert finals == [5.0, 5.0]
    assert "mean of 2 tasks" in result.stderr
