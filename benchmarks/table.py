"""One table of every benchmark: median, p95, the raw baseline and the ratio, from ``benchmarks/results/``.

Reads every ``benchmarks/results/*.json`` (so a benchmark added later is picked up as soon as it writes
its result there), prints the table, and writes the summary ``benchmarks/results.json``. With
``--readme`` it also regenerates the README's benchmark table between ``<!-- bench:start -->`` and
``<!-- bench:end -->``.

Every result file has the one shape :mod:`benchmarks.common` writes (benchmarks/README.md, "Result
files"); a file of any other shape is refused, naming it and what it lacks.

Usage: python -m benchmarks.table [--readme] [--results DIR] [--summary FILE] [--readme-file FILE]
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.common import ROW_KEYS, fmt_number, fmt_ratio, print_rows, verdict

HERE = Path(__file__).resolve().parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
TITLE = "rgym benchmarks (ratios against a raw baseline measured in the same run)"
_FIX = "see benchmarks/README.md, 'Result files'; run its bench_*.py again to write it afresh"


def read_result(path: Path) -> list[dict[str, Any]]:
    """The rows of one result file, each with its benchmark, source file and time of measurement.

    Raises:
        SystemExit: the file is unreadable or not of the one shape (the message names the file).
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{path}: not a readable result file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise SystemExit(f"{path}: not a result file of the known shape: it has no list 'rows' ({_FIX})")
    if not isinstance(data.get("benchmark"), str):
        raise SystemExit(f"{path}: not a result file of the known shape: it has no 'benchmark' name ({_FIX})")
    rows = []
    for index, r in enumerate(data["rows"]):
        missing = [key for key in ROW_KEYS if not isinstance(r, dict) or key not in r]
        if missing:
            raise SystemExit(f"{path}: row {index + 1} lacks {', '.join(missing)} ({_FIX})")
        if not isinstance(r["name"], str) or not isinstance(r["median_ms"], (int, float)):
            raise SystemExit(f"{path}: row {index + 1} needs a text 'name' and a number 'median_ms' ({_FIX})")
        rows.append(
            {
                "benchmark": data["benchmark"],
                **{key: r[key] for key in ROW_KEYS},
                "cpu_median_ms": r.get("cpu_median_ms"),
                "source": f"results/{path.name}",
                "measured_at": data.get("measured_at"),
            }
        )
    return rows


def collect(results_dir: Path) -> list[dict[str, Any]]:
    """Every row of every result file in ``results_dir``, in the order of the files' names."""
    return [r for path in sorted(results_dir.glob("*.json")) for r in read_result(path)]


def markdown(rows: list[dict[str, Any]]) -> str:
    """The README's table."""
    lines = [
        "| benchmark | measurement | median | p95 | CPU (median) | raw baseline (median) | ratio | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        baseline = f"{r['baseline']} ({fmt_number(r['baseline_median_ms'])} ms)" if r["baseline"] else ""
        cells = [
            f"`{r['benchmark']}`",
            r["name"],
            f"{fmt_number(r['median_ms'])} ms",
            f"{fmt_number(r['p95_ms'])} ms" if r["p95_ms"] is not None else "",
            f"{fmt_number(r['cpu_median_ms'])} ms" if r["cpu_median_ms"] is not None else "",
            baseline,
            fmt_ratio(r["ratio"]),
            verdict(r),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, rows: list[dict[str, Any]]) -> None:
    """Replace the text between the README's benchmark markers with the table."""
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: no {START} ... {END} markers to put the benchmark table between")
    readme.write_text(pattern.sub(lambda _: f"{START}\n{markdown(rows)}{END}", text, count=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results", help="folder of result files")
    parser.add_argument(
        "--summary", type=Path, default=HERE / "results.json", help="where to write the summary"
    )
    parser.add_argument("--readme", action="store_true", help="regenerate the README's benchmark table")
    parser.add_argument("--readme-file", type=Path, default=HERE.parent / "README.md")
    args = parser.parse_args(argv)
    rows = collect(args.results)
    print_rows(Console(), TITLE, rows, extra=[("cpu_median_ms", "CPU ms")], by_benchmark=True)
    args.summary.write_text(
        json.dumps({"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": rows}, indent=2)
        + "\n"
    )
    if args.readme:
        update_readme(args.readme_file, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
