"""`rgym runs` and `rgym compare` on runs recorded with chosen outcomes, through the real CLI entry point."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gym_core.cli.main import main
from gym_core.store import open_store
from tests.cli.recorded import record_run

ID = re.compile(r"\b[0-9A-Z]{26}\b")


def row_blocks(out: str) -> dict[str, list[str]]:
    """A table's rows by run id: the id's line and the lines its wrapped cells continue on."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in out.splitlines():
        match = ID.match(line.strip())
        if match:
            current = blocks.setdefault(match.group(0), [])
        if current is not None and line.strip():
            current.append(line)
    return blocks


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'traces.db'}"


def rgym(args: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> tuple[str, str]:
    assert main(args) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


# --- rgym runs ---------------------------------------------------------------------------------------


def test_runs_lists_each_run_with_its_metrics_and_health(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        good = record_run(store, [1.0, 1.0, 0.0, 0.2, 0.9], agent="tuner:4")
        crashed = record_run(store, [], crashed=3, agent="llm:model")
    out, err = rgym(["runs", "--store", store_url], capsys)
    rows = row_blocks(out)
    assert list(rows) == [crashed, good]  # newest first
    cells = rows[good][0].split()
    assert cells[-5:] == ["5/5", "3", "1.000", "0.000", "0.620"]  # n/K c pass@K pass^K mean
    assert rows[crashed][0].split()[-5:] == ["3/3", "0", "0.000", "0.000", "n/a"]
    continued = " ".join(" ".join(line.split()) for line in rows[crashed][1:])
    assert "completed" in rows[crashed][0] and continued == "(all 3 crashed)"  # status wraps between words
    assert f"store: {store_url}" in err  # not the default store: say which one was read
    document = json.loads(rgym(["runs", "--store", store_url, "--format", "json"], capsys)[0])
    by_id = {row["run_id"]: row for row in document}
    assert by_id[crashed]["health"] == "bad" and by_id[crashed]["status"] == "completed"
    assert by_id[crashed]["status_text"] == "completed (all 3 crashed)"
    assert by_id[good]["health"] == "ok"
    assert (by_id[good]["n"], by_id[good]["c"], by_id[good]["mean"]) == (5, 3, pytest.approx(0.62))


def test_runs_filters_by_task_agent_and_date(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(store_url) as store:
        old = record_run(store, [1.0], agent="tuner:4", created_at=datetime.now(UTC) - timedelta(days=10))
        tuner8 = record_run(store, [1.0], agent="tuner:8")
        other_task = record_run(store, [1.0], agent="tuner:4", task_id="other-task")
        base = record_run(store, [0.0], agent="baseline")
        tuner_ab = record_run(store, [0.0], agent="tuner_ab")

    def ids(*args: str) -> set[str]:
        out = rgym(["runs", "--store", store_url, "--format", "json", *args], capsys)[0]
        return {row["run_id"] for row in json.loads(out)}

    assert ids() == {old, tuner8, other_task, base, tuner_ab}
    assert ids("--agent", "tuner") == {old, tuner8, other_task}  # the name before ':' matches every config
    assert ids("--agent", "tuner:8") == {tuner8}
    assert ids("--agent", "tuner_ab") == {tuner_ab}
    assert ids("--task", "other-task") == {other_task}
    assert ids("--since", "2d") == {tuner8, other_task, base, tuner_ab}
    assert ids("--since", (datetime.now(UTC) - timedelta(days=20)).date().isoformat()) == ids()
    assert ids("--agent", "tuner", "--since", "today", "--task", "tiny-mean") == {tuner8}


@pytest.mark.parametrize("bad", ["last tuesday", "2025-13-01", "7y"])
def test_runs_bad_since_is_one_line_exit_2(
    store_url: str, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    _, err = rgym(["runs", "--store", store_url, "--since", bad], capsys, code=2)
    assert len(err.strip().splitlines()) == 1 and "--since" in err and "Traceback" not in err


def test_runs_of_the_default_store_do_not_name_it(capsys: pytest.CaptureFixture[str]) -> None:
    with open_store() as store:  # RGYM_DATA_DIR is the test's own (tests/conftest.py)
        run_id = record_run(store, [1.0])
    out, err = rgym(["runs"], capsys)
    assert run_id in out
    assert "store:" not in err


def test_an_empty_store_says_how_to_start(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = rgym(["runs", "--store", store_url, "--agent", "nobody"], capsys)
    assert "no runs matching agent nobody" in out and "rgym run" in out


def test_runs_name_their_suite_run_and_runs_suites_lists_suite_runs(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        lone = record_run(store, [1.0], agent="tuner:4")
        suite = store.create_suite_run(
            suite="tiny", tasks=["tiny-mean", "other-task"], agent="tuner:4", config={}, k=2
        )
        flickers = record_run(store, [1.0, 0.0], agent="tuner:4", suite_run_id=suite)
        steady = record_run(store, [1.0, 0.6], agent="tuner:4", task_id="other-task", suite_run_id=suite)
        store.finish_suite_run(suite, status="completed")
        cut = store.create_suite_run(
            suite="tiny", tasks=["tiny-mean", "other-task"], agent="llm:m", config={}, k=2
        )
        record_run(store, [0.0, 0.0], agent="llm:m", suite_run_id=cut)
        store.finish_suite_run(cut, status="interrupted")
    out, err = rgym(["runs", "--store", store_url], capsys)
    rows = row_blocks(out)
    assert suite[:10] in rows[flickers][0] and suite[:10] in rows[steady][0]
    assert suite[:10] not in rows[lone][0] and cut[:10] not in rows[flickers][0]
    assert "rgym runs --suites" in err
    document = json.loads(rgym(["runs", "--store", store_url, "--format", "json"], capsys)[0])
    assert {row["run_id"]: row["suite_run_id"] for row in document}[steady] == suite
    assert {row["run_id"]: row["suite_run_id"] for row in document}[lone] is None

    # one line per suite run, with the aggregate row of its report
    out, err = rgym(["runs", "--store", store_url, "--suites"], capsys)
    rows = row_blocks(out)
    assert list(rows) == [cut, suite]
    assert rows[suite][0].split()[-6:] == ["2/2", "2", "1.000", "1.000", "0.500", "0.500"]
    assert "n/a" in rows[cut][0] and "no run for other-task" in " ".join(
        " ".join(r.split()) for r in rows[cut]
    )
    assert "rgym report SUITE_RUN" in err
    by_id = {
        r["suite_run_id"]: r
        for r in json.loads(rgym(["runs", "--store", store_url, "--suites", "-f", "json"], capsys)[0])
    }
    assert by_id[suite]["mean_pass_hat_k"] == 0.5 and by_id[suite]["health"] == "ok"
    assert (by_id[cut]["runs"], by_id[cut]["tasks"], by_id[cut]["mean_pass_at_k"]) == (1, 2, None)
    assert by_id[cut]["health"] == "warn"
    report = rgym(["report", suite, "--store", store_url, "--format", "json"], capsys)[0]
    assert json.dumps(0.5) in report  # the same aggregate as `rgym report`

    def suite_ids(*args: str) -> list[str]:
        out = rgym(["runs", "--store", store_url, "--suites", "--format", "json", *args], capsys)[0]
        return [row["suite_run_id"] for row in json.loads(out)]

    assert suite_ids("--agent", "tuner") == [suite]
    assert suite_ids("--task", "other-task") == [cut, suite] and suite_ids("--task", "nope") == []
    assert suite_ids("--limit", "1") == [cut]

    # the runs of one suite run
    out = rgym(["runs", "--store", store_url, "--suite-run", suite[:12].lower(), "-f", "json"], capsys)[0]
    assert {row["run_id"] for row in json.loads(out)} == {flickers, steady}
    _, err = rgym(["runs", "--store", store_url, "--suites", "--suite-run", suite], capsys, code=2)
    assert len(err.strip().splitlines()) == 1 and "--suites" in err


def test_compare_refuses_a_run_beside_a_suite_run_and_export_writes_all_its_runs(
    store_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with open_store(store_url) as store:
        suite = store.create_suite_run(
            suite="tiny", tasks=["tiny-mean", "other-task"], agent="a", config={}, k=2
        )
        first = record_run(store, [1.0, 0.0], agent="a", suite_run_id=suite)
        second = record_run(store, [1.0, 1.0], agent="a", task_id="other-task", suite_run_id=suite)
        lone = record_run(store, [0.0, 0.0], agent="a")
    _, err = rgym(["compare", lone, suite[:16], "--store", store_url], capsys, code=2)
    assert len(err.strip().splitlines()) == 1 and f"{lone} is a run, {suite} a suite run" in err
    assert "rgym compare SUITE_RUN_A SUITE_RUN_B" in err and f"rgym runs --suite-run {suite}" in err
    rgym(["compare", lone, "0" * 26, "--store", store_url], capsys, code=2)  # neither: still not found
    out_file = tmp_path / "suite.jsonl"
    _, err = rgym(["export", suite[:16], "--store", store_url, "--out", str(out_file)], capsys)
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert records[0]["type"] == "suite_run" and records[0]["id"] == suite
    runs = [r for r in records if r["type"] == "run"]
    assert [r["id"] for r in runs] == [first, second] and all(r["suite_run_id"] == suite for r in runs)
    assert sum(r["type"] == "episode" for r in records) == 4
    assert f"records of suite run {suite}" in err
    single = rgym(["export", first, "--store", store_url], capsys)[0].splitlines()
    assert json.loads(single[0])["type"] == "run" and len(single) < len(records)


def test_runs_suites_of_a_store_without_any(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(store_url) as store:
        record_run(store, [1.0])
    out, _ = rgym(["runs", "--store", store_url, "--suites"], capsys)
    assert "no suite runs" in out and "rgym run --suite" in out
    assert "--suites" not in rgym(["runs", "--store", store_url], capsys)[1]  # no hint without suite runs


# --- rgym compare ------------------------------------------------------------------------------------


@pytest.fixture
def two_runs(store_url: str) -> tuple[str, str]:
    with open_store(store_url) as store:
        base = record_run(store, [0.0] * 6, agent="baseline")
        tuned = record_run(store, [1.0] * 6, agent="tuner:4")
    return base, tuned


def test_compare_states_a_paired_verdict(
    store_url: str, two_runs: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, tuned = two_runs
    out, _ = rgym(["compare", base, tuned, "--store", store_url], capsys)
    assert "B (tuner:4) vs A (baseline): better: success rate 0.000 -> 1.000" in out
    assert "p = 0.031" in out
    assert "paired by seed: 6 pairs" in out
    row = next(line for line in out.splitlines() if "success rate (pass@1)" in line)
    assert row.strip("│ ").split() == [
        "success",
        "rate",
        "(pass@1)",
        "0.000",
        "1.000",
        "+1.000",
        "[+1.000,",
        "+1.000]",
        "0.031",
        "better",
    ]
    assert "attempts per run to detect" in out  # the power note
    # Swapped, the same test says worse, and --fail-if-worse makes that exit 1.
    out, _ = rgym(["compare", tuned, base, "--store", store_url, "--fail-if-worse"], capsys, code=1)
    assert "worse" in out


def test_compare_json_md_and_html(
    store_url: str, two_runs: tuple[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, tuned = two_runs
    document = json.loads(rgym(["compare", base, tuned, "--store", store_url, "-f", "json"], capsys)[0])
    assert document["schema"] == "rgym.compare/1"
    assert [r["run_id"] for r in document["runs"]] == [base, tuned]
    (comparison,) = document["comparisons"]
    assert comparison["verdict"] == "better"
    assert comparison["pairing"] == {
        "paired": True,
        "pairs": 6,
        "n_a": 6,
        "n_b": 6,
        "unmatched_a": 0,
        "unmatched_b": 0,
    }
    metrics = {m["name"]: m for m in comparison["metrics"]}
    assert metrics["success_rate"]["p_value"] == pytest.approx(2 / 64)
    assert metrics["success_rate"]["ci95"] == [1.0, 1.0]
    assert metrics["regression_rate"]["verdict"] == "not estimable"
    assert {p["metric"] for p in comparison["power"]} == {"success_rate", "mean"}
    md = rgym(["compare", base, tuned, "--store", store_url, "-f", "md"], capsys)[0]
    assert "| success rate (pass@1) | 0.000 | 1.000 | +1.000 | [+1.000, +1.000] | 0.031 | better |" in md
    out = tmp_path / "compare.html"
    rgym(["compare", base, tuned, "--store", store_url, "-f", "html", "-o", str(out)], capsys)
    html = out.read_text()
    assert html.count('<img src="data:image/png;base64,') == 1
    assert "better" in html and "http" not in html.split("<body>")[1]


def test_compare_refuses_other_versions_and_changed_tasks(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store_url) as store:
        v1 = record_run(store, [0.0] * 3)
        v2 = record_run(store, [1.0] * 3, version=2)
        changed = record_run(store, [1.0] * 3, checksum="sha256:bbbb1111bbbb1111")
        other = record_run(store, [1.0] * 3, task_id="other-task")
    for run_id, why in ((v2, "v2, run"), (changed, "the task folder changed"), (other, "of task other-task")):
        _, err = rgym(["compare", v1, run_id, "--store", store_url], capsys, code=2)
        assert why in err and len(err.strip().splitlines()) == 2  # store line + one error line
    _, err = rgym(["compare", v1, v2, "--store", store_url, "--allow-changed-task"], capsys, code=2)
    assert "not comparable" in err  # another version is never compared
    out, _ = rgym(["compare", v1, changed, "--store", store_url, "--allow-changed-task"], capsys)
    assert "warning: compared although the task changed" in out


def test_compare_needs_two_runs(
    store_url: str, two_runs: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = rgym(["compare", two_runs[0], "--store", store_url], capsys, code=2)
    assert "at least two runs" in err and "--history" in err


def test_history_shows_series_and_the_flicker_over_time(
    store_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with open_store(store_url) as store:
        first = record_run(store, [1.0] * 6, agent="tuner:4", created_at=now - timedelta(hours=3))
        second = record_run(
            store, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], agent="tuner:4", created_at=now - timedelta(hours=2)
        )
        changed = record_run(
            store, [0.0] * 6, agent="tuner:4", checksum="sha256:cccc", created_at=now - timedelta(hours=1)
        )
        record_run(store, [0.0] * 6, agent="baseline")  # another agent: not in the history
    document = json.loads(
        rgym(["compare", second, "--history", "--store", store_url, "-f", "json"], capsys)[0]
    )
    assert document["schema"] == "rgym.history/1" and document["agent"] == "tuner:4"
    first_series, second_series = document["series"]
    assert [r["run_id"] for r in first_series["runs"]] == [first, second]
    assert first_series["reason"] is None
    assert [r["run_id"] for r in second_series["runs"]] == [changed]
    assert "checksum" in second_series["reason"] and "not comparable" in second_series["reason"]
    assert [r["flicker"] for r in first_series["runs"]] == [0.0, 1.0]
    assert first_series["runs"][1]["vs_previous"]["run_id"] == first
    assert second_series["runs"][0]["vs_previous"] is None  # never compared across the change
    out, _ = rgym(["compare", second, "--history", "--store", store_url], capsys)
    assert "flicker over time: 0.000 -> 1.000" in out
    assert "a separate series: task folder changed" in out
    md = rgym(["compare", second, "--history", "--store", store_url, "-f", "md"], capsys)[0]
    assert md.count("## Task v1, checksum") == 2 and "Flicker over time: 0.000 -> 1.000" in md
    page = tmp_path / "history.html"
    rgym(["compare", second, "--history", "--store", store_url, "-f", "html", "-o", str(page)], capsys)
    html = page.read_text()
    assert html.count('<img src="data:image/png;base64,') == 2  # one plot per series
    assert "A separate series: task folder changed" in html and first in html and changed in html


def test_report_of_two_runs_points_to_compare(
    store_url: str, two_runs: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, tuned = two_runs
    _, err = rgym(["report", base, tuned, "--store", store_url], capsys)
    assert f"rgym compare {base} {tuned}" in err
