"""`rgym compare SUITE_RUN_A SUITE_RUN_B...` on suite runs recorded with chosen outcomes, through the real CLI.

Every attempt's outcome is chosen (tests/cli/recorded.py), so each verdict below is worked out by hand: six
paired attempts that all fail against six that all succeed differ by 1.000 with p = 2/64 = 0.031 (the exact
sign-flip test), and identical runs differ by nothing (p = 1).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gym_core.cli import compare as compare_cli
from gym_core.cli.main import main
from gym_core.sandbox import local_backend
from gym_core.store import TraceStore, open_store
from tests.cli.recorded import record_run

FAIL, PASS, MIXED = [0.0] * 6, [1.0] * 6, [1.0, 0.0] * 3
TASKS = ["tiny-mean", "other-task", "third"]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'traces.db'}"


def rgym(args: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> tuple[str, str]:
    assert main(args) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


def suite_run(
    store: TraceStore,
    agent: str,
    finals: dict[str, list[float]],
    *,
    suite: str = "tiny",
    tasks: list[str] | None = None,
    status: str = "completed",
    options: dict[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, str]]:
    """A suite run with one recorded run per task in ``finals`` (``options`` per task go to
    :func:`record_run`); returns its id and its run ids by task."""
    suite_run_id = store.create_suite_run(suite=suite, tasks=tasks or TASKS, agent=agent, config={}, k=6)
    runs = {}
    for task_id, scores in finals.items():
        extra = (options or {}).get(task_id, {})
        runs[task_id] = record_run(
            store, scores, agent=agent, task_id=task_id, suite_run_id=suite_run_id, **extra
        )
    store.finish_suite_run(suite_run_id, status=status)
    return suite_run_id, runs


def flat(text: str) -> str:
    """The words of a table, joined by single spaces: a wrapped cell reads as one sentence."""
    return " ".join(text.replace("│", " ").split())


def cells(line: str) -> list[str]:
    return [c for c in re.split(r"\s{2,}", line.strip("│ ")) if c]


@pytest.fixture
def two_suite_runs(store_url: str) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """A ran all three tasks; B (interrupted) is better on one, worse on one and never reached the third."""
    with open_store(store_url) as store:
        a, a_runs = suite_run(store, "baseline", {"tiny-mean": FAIL, "other-task": PASS, "third": MIXED})
        b, b_runs = suite_run(store, "tuner:4", {"tiny-mean": PASS, "other-task": FAIL}, status="interrupted")
    return a, b, a_runs, b_runs


def test_compare_suite_runs_pairs_their_runs_by_task_with_a_summary_on_top(
    store_url: str,
    two_suite_runs: tuple[str, str, dict[str, str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, a_runs, b_runs = two_suite_runs
    out, _ = rgym(["compare", a[:14].lower(), b, "--store", store_url], capsys)
    summary, *sections = out.split("rgym compare · ")[1:]
    assert summary.startswith("suite runs · each against A (baseline on suite tiny)")
    assert a in summary and b in summary  # whole ids
    assert (
        "B (tuner:4 on suite tiny) vs A (baseline on suite tiny), task by task: 1 better, 1 worse, 1 not "
        "compared" in flat(summary)
    )
    rows = {
        cells(line)[0]: cells(line)[1:]
        for line in summary.splitlines()
        if cells(line)[:1] in (["tiny-mean"], ["other-task"], ["third"])
    }
    assert rows["tiny-mean"] == ["0.000", "1.000", "+1.000", "[+1.000, +1.000]", "0.031", "better"]
    assert rows["other-task"] == ["1.000", "0.000", "-1.000", "[-1.000, -1.000]", "0.031", "worse"]
    assert rows["third"][:5] == ["-"] * 5
    assert "- not compared: suite run B is interrupted and recorded no run of third" in flat(summary)
    # below the summary, each compared task gets the per-run comparison of its two runs, paired by seed
    assert [s.split(" ·")[0] for s in sections] == ["tiny-mean v1", "other-task v1"]
    mean_section, other_section = sections
    assert a_runs["tiny-mean"] in mean_section and b_runs["tiny-mean"] in mean_section
    assert "B (tuner:4) vs A (baseline): better: success rate 0.000 -> 1.000" in mean_section
    assert "paired by seed: 6 pairs" in mean_section and "power:" in mean_section
    assert "B (tuner:4) vs A (baseline): worse: success rate 1.000 -> 0.000" in other_section
    assert a_runs["third"] not in out  # a task B lacks has no section, only its summary row


def test_fail_if_worse_counts_any_task_that_is_worse(
    store_url: str,
    two_suite_runs: tuple[str, str, dict[str, str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, _, _ = two_suite_runs
    with open_store(store_url) as store:
        same, _ = suite_run(store, "baseline", {"tiny-mean": FAIL, "other-task": PASS, "third": MIXED})
        better_only, _ = suite_run(store, "tuner:8", {"tiny-mean": PASS, "other-task": PASS, "third": MIXED})
    rgym(["compare", a, b, "--store", store_url, "--fail-if-worse"], capsys, code=1)  # worse on one task
    out, _ = rgym(["compare", a, same, "--store", store_url, "--fail-if-worse"], capsys)
    assert out.count("no detectable difference at n = 6 pairs") >= 3
    rgym(["compare", a, better_only, "--store", store_url, "--fail-if-worse"], capsys)  # better, never worse
    # with three suite runs, a task worse in any of them fails
    rgym(["compare", a, same, b, "--store", store_url, "--fail-if-worse"], capsys, code=1)


def test_compare_suite_runs_as_json_md_and_html(
    store_url: str,
    two_suite_runs: tuple[str, str, dict[str, str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    a, b, a_runs, b_runs = two_suite_runs
    document = json.loads(rgym(["compare", a, b, "--store", store_url, "-f", "json"], capsys)[0])
    assert document["schema"] == "rgym.compare-suites/1"
    assert [(s["label"], s["suite_run_id"], s["status"]) for s in document["suite_runs"]] == [
        ("A", a, "completed"),
        ("B", b, "interrupted"),
    ]
    assert document["suite_runs"][1]["runs"] == b_runs
    (pair,) = document["pairs"]
    assert (pair["a"], pair["b"]) == ("A", "B")
    assert pair["counts"] == {
        "better": 1,
        "worse": 1,
        "no detectable difference": 0,
        "not estimable": 0,
        "not compared": 1,
    }
    by_task = {row["task_id"]: row for row in pair["summary"]}
    assert list(by_task) == ["tiny-mean", "other-task"]
    assert by_task["tiny-mean"]["verdict"] == "better"
    assert (by_task["tiny-mean"]["a_run_id"], by_task["tiny-mean"]["b_run_id"]) == (
        a_runs["tiny-mean"],
        b_runs["tiny-mean"],
    )
    assert by_task["other-task"]["success_rate"] == {
        "a": 1.0,
        "b": 0.0,
        "diff": -1.0,
        "ci95": [-1.0, -1.0],
        "p_value": pytest.approx(2 / 64),
    }
    assert pair["unpaired"] == [
        {
            "task_id": "third",
            "reason": "suite run B is interrupted and recorded no run of third",
            "run_ids": [a_runs["third"]],
        }
    ]
    # each task's comparison is exactly what `rgym compare RUN_A RUN_B` says of its two runs
    for task in document["tasks"]:
        runs = [a_runs[task["task_id"]], b_runs[task["task_id"]]]
        alone = json.loads(rgym(["compare", *runs, "--store", store_url, "-f", "json"], capsys)[0])
        assert task["comparison"] == alone
    assert [t["task_id"] for t in document["tasks"]] == ["tiny-mean", "other-task"]

    md = rgym(["compare", a, b, "--store", store_url, "-f", "md"], capsys)[0]
    assert "## B vs A, task by task" in md
    assert "| task | A success | B success | Δ B-A | 95% CI | p | verdict |" in md
    assert "| tiny-mean | 0.000 | 1.000 | +1.000 | [+1.000, +1.000] | 0.031 | better |" in md
    assert (
        "| third | - | - | - | - | - | not compared: suite run B is interrupted and recorded no run of third |"
        in md
    )
    assert md.count("\n# ") == 0 and md.startswith("# rgym compare: suite runs")  # one title; tasks below it
    assert "## rgym compare: tiny-mean v1" in md and "### B vs A" in md

    page = tmp_path / "suites.html"
    rgym(["compare", a, b, "--store", store_url, "-f", "html", "-o", str(page)], capsys)
    html = page.read_text()
    assert html.count('<img src="data:image/png;base64,') == 3  # the summary's plot, one per task
    assert '<td class="better">better</td>' in html and '<td class="worse">worse</td>' in html
    assert "not compared: suite run B is interrupted and recorded no run of third" in html
    assert "<h2>tiny-mean v1</h2>" in html and a_runs["other-task"] in html
    assert "http" not in html.split("<body>")[1]


def test_tasks_of_one_suite_run_only_are_listed_as_unpaired(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        a, _ = suite_run(store, "baseline", {"tiny-mean": FAIL, "third": MIXED}, tasks=["tiny-mean", "third"])
        b, b_runs = suite_run(
            store,
            "tuner:4",
            {"tiny-mean": FAIL, "only-b": PASS, "stray": PASS},  # stray: a run outside its suite's list
            suite="big",
            tasks=["tiny-mean", "only-b"],
        )
    document = json.loads(rgym(["compare", a, b, "--store", store_url, "-f", "json"], capsys)[0])
    (pair,) = document["pairs"]
    assert [row["task_id"] for row in pair["summary"]] == ["tiny-mean"]
    reasons = {u["task_id"]: u["reason"] for u in pair["unpaired"]}
    assert reasons == {
        "third": "B ran suite big, which has no task third",
        "only-b": "A ran suite tiny, which has no task only-b (every suite run is compared with A)",
        "stray": "A ran suite tiny, which has no task stray (every suite run is compared with A)",
    }
    assert [u["task_id"] for u in pair["unpaired"]] == ["third", "only-b", "stray"]
    assert {u["task_id"]: u["run_ids"] for u in pair["unpaired"]}["only-b"] == [b_runs["only-b"]]
    assert document["warnings"] == ["B ran suite big and A suite tiny: only the tasks both ran are compared"]
    out, _ = rgym(["compare", a, b, "--store", store_url], capsys)
    words = flat(out)
    assert "1 no detectable difference, 3 not compared" in words
    assert "not compared: A ran suite tiny, which has no task only-b" in words
    assert "warning: B ran suite big and A suite tiny" in words


def test_changed_task_versions_and_checksums_are_not_compared_silently(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        a, _ = suite_run(store, "baseline", {"tiny-mean": FAIL, "other-task": PASS, "third": MIXED})
        b, b_runs = suite_run(
            store,
            "tuner:4",
            {"tiny-mean": PASS, "other-task": PASS, "third": MIXED},
            options={"other-task": {"version": 2}, "third": {"checksum": "sha256:bbbb1111bbbb1111"}},
        )

    def pair(*flags: str) -> tuple[list[str], dict[str, str], list[str]]:
        """The tasks compared, the unpaired ones with their reasons, and the warnings."""
        out = rgym(["compare", a, b, "--store", store_url, "-f", "json", *flags], capsys)[0]
        document = json.loads(out)
        (only,) = document["pairs"]
        compared = [row["task_id"] for row in only["summary"]]
        return compared, {u["task_id"]: u["reason"] for u in only["unpaired"]}, document["warnings"]

    compared, reasons, _ = pair()
    assert compared == ["tiny-mean"]
    assert f"run {b_runs['other-task']} used other-task v2" in reasons["other-task"]
    assert "not comparable" in reasons["other-task"]
    assert "the task folder changed between them" in reasons["third"]
    assert "--allow-changed-task" in reasons["third"]
    compared, reasons, warnings = pair("--allow-changed-task")
    assert compared == ["tiny-mean", "third"]
    assert list(reasons) == ["other-task"]  # another version is never compared
    assert len(warnings) == 1 and warnings[0].startswith("third: compared although the task changed")
    out, _ = rgym(["compare", a, b, "--store", store_url, "--allow-changed-task"], capsys)
    assert "warning: third: compared although the task changed" in out


def test_three_suite_runs_keep_their_labels_in_every_task(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        a, _ = suite_run(store, "baseline", {"tiny-mean": FAIL, "other-task": FAIL, "third": FAIL})
        b, _ = suite_run(store, "tuner:4", {"tiny-mean": PASS, "third": FAIL}, status="failed")
        c, c_runs = suite_run(store, "tuner:8", {"tiny-mean": FAIL, "other-task": PASS, "third": FAIL})
    document = json.loads(rgym(["compare", a, b, c, "--store", store_url, "-f", "json"], capsys)[0])
    assert [(p["a"], p["b"]) for p in document["pairs"]] == [("A", "B"), ("A", "C")]
    by_task = {t["task_id"]: t["comparison"] for t in document["tasks"]}
    # B has no run of other-task: its comparison is of A and C, still labelled A and C
    assert [r["label"] for r in by_task["other-task"]["runs"]] == ["A", "C"]
    assert by_task["other-task"]["runs"][1]["run_id"] == c_runs["other-task"]
    assert [r["label"] for r in by_task["tiny-mean"]["runs"]] == ["A", "B", "C"]
    b_pair, c_pair = document["pairs"]
    assert {r["task_id"]: r["verdict"] for r in c_pair["summary"]}["other-task"] == "better"
    assert [u["task_id"] for u in b_pair["unpaired"]] == ["other-task"]
    assert "suite run B is failed and recorded no run of other-task" in b_pair["unpaired"][0]["reason"]
    out, _ = rgym(["compare", a, b, c, "--store", store_url], capsys)
    assert "C (tuner:8) vs A (baseline): better: success rate 0.000 -> 1.000" in out
    assert "C vs A, task by task" in out and "B vs A, task by task" in out


def test_suite_runs_and_runs_do_not_mix_and_history_takes_runs(
    store_url: str,
    two_suite_runs: tuple[str, str, dict[str, str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, a_runs, _ = two_suite_runs
    for args in ([a_runs["tiny-mean"], b], [a, a_runs["tiny-mean"]]):
        _, err = rgym(["compare", *args, "--store", store_url], capsys, code=2)
        assert len(err.strip().splitlines()) == 1, err  # the error with its hint, no traceback
        assert "give either run ids or suite run ids, not both" in err
        assert "rgym compare SUITE_RUN_A SUITE_RUN_B" in err and "rgym runs --suite-run" in err
    _, err = rgym(["compare", a, "--history", "--store", store_url], capsys, code=2)
    assert f"--history follows one agent on one task; {a} is a suite run" in err
    assert f"rgym runs --suite-run {a}" in err and "Traceback" not in err
    _, err = rgym(["compare", a, "--store", store_url], capsys, code=2)
    assert "at least two suite runs" in err and "rgym runs --suites" in err
    _, err = rgym(["compare", a, a, "--store", store_url], capsys, code=2)
    assert f"suite run {a} is given twice" in err
    rgym(["compare", a, "0" * 26, "--store", store_url], capsys, code=2)  # neither a run nor a suite run


def test_suite_runs_without_a_comparable_task_are_refused(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        a, _ = suite_run(store, "baseline", {"tiny-mean": FAIL}, tasks=["tiny-mean"])
        b, _ = suite_run(
            store, "tuner:4", {"tiny-mean": PASS}, tasks=["tiny-mean"], options={"tiny-mean": {"version": 3}}
        )
    _, err = rgym(["compare", a, b, "--store", store_url], capsys, code=2)
    assert "no task of these suite runs can be compared with suite run A's" in err
    assert "tiny-mean v3" in err


def test_a_suite_comparison_on_a_narrow_terminal_keeps_ids_and_numbers_whole(
    store_url: str,
    two_suite_runs: tuple[str, str, dict[str, str], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b, a_runs, _ = two_suite_runs
    buffer = io.StringIO()
    console = Console(file=buffer, width=60, force_terminal=True, color_system=None, highlight=False)
    monkeypatch.setattr(compare_cli, "console", console)
    assert main(["compare", a, b, "--store", store_url]) == 0
    lines = buffer.getvalue().splitlines()
    assert all(len(line) <= 60 for line in lines), max(lines, key=len)
    tokens = {t.strip("│,:[]()") for line in lines for t in line.split()}
    assert {a, b, a_runs["tiny-mean"], "0.000", "1.000", "+1.000", "-1.000", "0.031"} <= tokens


# --- real suite runs ---------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "tests" / "fixtures" / "agents" / "suite_agents.py"


def _rgym_process(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RGYM_TASKS_PATH": str(ROOT / "tests" / "fixtures" / "tasks"), "RGYM_STORE": url}
    return subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.slow
@pytest.mark.skipif(not local_backend.bubblewrap_usable(), reason="the local backend needs bubblewrap here")
def test_compare_two_suite_runs_made_by_rgym_run(tmp_path: Path) -> None:
    """Both agents of tests/fixtures/agents/suite_agents.py on the tiny suite, 3 attempts each from seed 0.

    By that file's docstring: on tiny-mean Alternating scores 0.8, 0.4, 0.8 (2 of 3 over the 0.5 bar) and
    Steady 0.4 three times (none); on guess-target both clear the bar every time. Paired by seed, the
    success rates differ by -2/3 on tiny-mean; of the 2^3 sign flips of the pairs (one pair ties), half
    give a difference as large, so p = 0.5: no detectable difference at n = 3 pairs, on both tasks.
    """
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    suite_runs = []
    for agent in ("Alternating", "Steady"):
        result = _rgym_process(
            "run", "--suite", "tiny", "--agent", f"module:{AGENTS}:{agent}", "--runs", "3", "--seed", "0",
            "--backend", "local", "--no-progress", url=url,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        suite_runs.append(result.stdout.strip().splitlines()[-1])
    alternating, steady = suite_runs
    result = _rgym_process("compare", alternating, steady, "--format", "json", "--fail-if-worse", url=url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    listed = _rgym_process("runs", "--suite-run", steady, "--format", "json", url=url)
    assert document["suite_runs"][1]["runs"] == {r["task_id"]: r["run_id"] for r in json.loads(listed.stdout)}
    (pair,) = document["pairs"]
    assert pair["unpaired"] == []
    mean, target = pair["summary"]
    assert (mean["task_id"], target["task_id"]) == ("tiny-mean", "guess-target")  # the suite's order
    assert mean["success_rate"]["a"] == pytest.approx(2 / 3) and mean["success_rate"]["b"] == 0.0
    assert mean["success_rate"]["diff"] == pytest.approx(-2 / 3)
    assert mean["success_rate"]["p_value"] == pytest.approx(0.5)
    assert mean["verdict_text"] == "no detectable difference at n = 3 pairs"
    assert (target["success_rate"]["diff"], target["verdict"]) == (0.0, "no detectable difference")
    tiny_mean = document["tasks"][0]["comparison"]
    assert tiny_mean["comparisons"][0]["pairing"]["pairs"] == 3
    means = next(m for m in tiny_mean["comparisons"][0]["metrics"] if m["name"] == "mean")
    assert (means["a"], means["b"]) == (pytest.approx(2 / 3), pytest.approx(0.4))
    assert [r["agent"] for r in tiny_mean["runs"]] == ["alternating", "steady"]  # the classes' names


def test_a_report_of_two_suite_runs_points_to_compare(
    store_url: str,
    two_suite_runs: tuple[str, str, dict[str, str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, _, _ = two_suite_runs
    _, err = rgym(["report", a, b, "--store", store_url], capsys)
    assert f"rgym compare {a} {b}" in flat(err)
    _, alone = rgym(["report", a, "--store", store_url], capsys)
    assert "rgym compare" not in alone
