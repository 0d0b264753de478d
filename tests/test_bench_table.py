"""`python -m benchmarks.table`: one summary of every result file, and the README's table; a result file of
any other shape is refused, naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import table
from benchmarks.common import row, stats_ms, verdict

README = Path(__file__).resolve().parent.parent / "README.md"


def _write(folder: Path, name: str, data: object) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(data))
    return folder / name


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    timed = row(
        "rgym thing", [0.2, 0.3, 0.4], baseline="raw thing", baseline_s=[0.1, 0.1, 0.1], target_ms=250
    )
    _write(folder, "new.json", {"benchmark": "later-added", "rows": [timed]})
    ratio = row(
        "record step",
        [0.0005, 0.0005],
        baseline="raw sqlite",
        baseline_s=[0.0001, 0.0001],
        target_ms=1.0,
        target_ratio=6.0,
    )
    _write(folder, "store.json", {"benchmark": "store.record_step", "rows": [ratio]})
    return folder


def test_collects_every_row_of_every_result_file(results: Path) -> None:
    rows = {(r["benchmark"], r["name"]): r for r in table.collect(results)}
    new = rows["later-added", "rgym thing"]
    assert new["median_ms"] == pytest.approx(300.0) and new["samples"] == 3
    assert new["ratio"] == pytest.approx(3.0)
    assert new["met"] is False and verdict(new) == "< 250 ms: missed"
    store = rows["store.record_step", "record step"]
    assert store["baseline"] == "raw sqlite" and store["ratio"] == pytest.approx(5.0)
    assert store["met"] is True and verdict(store) == "< 1 ms, <= 6x: met"
    assert store["source"] == "results/store.json"
    assert len(rows) == 2


def test_a_target_is_met_only_when_every_target_given_is() -> None:
    def met(target_ms: float | None = None, target_ratio: float | None = None) -> bool | None:
        r = row("x", [0.5], baseline="raw", baseline_s=[0.1], target_ms=target_ms, target_ratio=target_ratio)
        result: bool | None = r["met"]
        return result

    assert met(target_ms=600, target_ratio=4.0) is False  # 5x the baseline
    assert met(target_ms=400, target_ratio=6.0) is False  # over 400 ms
    assert met(target_ms=600, target_ratio=6.0) is True
    assert met() is None


def test_p95_is_the_nearest_rank() -> None:
    assert stats_ms([i / 1000 for i in range(1, 21)])["p95_ms"] == pytest.approx(19.0)  # 19 of 20 at most
    assert stats_ms([i / 1000 for i in range(1, 22)])["p95_ms"] == pytest.approx(20.0)  # 19.95 of 21: 20th
    assert stats_ms([0.1])["p95_ms"] is None


@pytest.mark.parametrize(
    "data",
    [
        # the old shape of bench_store.py (no rows)
        {
            "benchmark": "store.record_step",
            "record_step": {"median_ms": 0.5},
            "raw_sqlite": {"median_ms": 0.1},
        },
        # the old rows of benchmarks/_common.py (ratio_median, target_ratio, target_met)
        {
            "benchmark": "env_reset_vs_docker_run",
            "rows": [
                {
                    "name": "env.reset",
                    "median_ms": 5.0,
                    "p95_ms": 6.0,
                    "n": 3,
                    "baseline": "docker run",
                    "baseline_median_ms": 2.0,
                    "ratio_median": 2.5,
                    "target_ratio": 1.2,
                    "target_met": False,
                }
            ],
        },
        [1, 2],
        {"rows": []},
    ],
    ids=["no-rows", "old-row-keys", "not-an-object", "no-benchmark"],
)
def test_a_result_file_of_an_unknown_shape_is_refused_naming_it(results: Path, data: object) -> None:
    path = _write(results, "zz-odd.json", data)
    with pytest.raises(SystemExit) as refused:
        table.collect(results)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and "benchmarks/README.md" in message


def test_an_unknown_row_shape_names_what_it_lacks(results: Path) -> None:
    _write(
        results,
        "zz-odd.json",
        {"benchmark": "b", "rows": [{"name": "x", "median_ms": 1.0, "ratio_median": 2}]},
    )
    with pytest.raises(SystemExit, match=r"zz-odd\.json: row 1 lacks samples, p95_ms, baseline"):
        table.collect(results)


def test_main_writes_the_summary_and_the_readme_between_its_markers(results: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{table.START}\nold table\n{table.END}\nafter\n")
    summary = tmp_path / "results.json"
    assert (
        table.main(
            ["--results", str(results), "--summary", str(summary), "--readme", "--readme-file", str(readme)]
        )
        == 0
    )
    assert {r["name"] for r in json.loads(summary.read_text())["rows"]} == {"rgym thing", "record step"}
    text = readme.read_text()
    assert (
        "old table" not in text
        and text.startswith("# x\n\nbefore\n")
        and text.endswith(f"{table.END}\nafter\n")
    )
    assert "| `later-added` | rgym thing | 300 ms | 400 ms |" in text
    assert "3.00x" in text and "< 250 ms: missed" in text


def test_a_readme_without_markers_is_refused(results: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="markers"):
        table.update_readme(readme, table.collect(results))


def test_the_readme_has_the_benchmark_markers() -> None:
    text = README.read_text()
    assert text.index(table.START) < text.index(table.END)


def test_the_committed_results_are_of_the_one_shape() -> None:
    rows = table.collect(Path(table.__file__).resolve().parent / "results")
    assert rows and all(r["median_ms"] is not None for r in rows)
