"""What every benchmark shares: timing, child processes with their peak memory, the result row and file,
and the console table of rows.

A benchmark writes ``benchmarks/results/<name>.json`` with :func:`write_result`: ``benchmark``, ``rows``,
``machine``, ``measured_at``, and any parameters of its own. Each row comes from :func:`row`: one rgym
measurement against its raw baseline, measured in the same run, with the keys of :data:`ROW_KEYS`
(benchmarks/README.md, "Result files"). ``python -m benchmarks.table`` reads these files and nothing else.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent

ROW_KEYS = (
    "name",
    "samples",
    "median_ms",
    "p95_ms",
    "baseline",
    "baseline_median_ms",
    "baseline_p95_ms",
    "ratio",
    "target_ms",
    "target_ratio",
    "met",
)
"""The keys every row has (any may be null but ``name`` and ``median_ms``); a row may carry more."""


def stats_ms(seconds: Sequence[float]) -> dict[str, float | None]:
    """Median, p95, mean and max of timings given in seconds, in milliseconds.

    The p95 is the nearest rank: the smallest sample that at least 95% of the samples do not exceed. A
    single sample has no p95 (None).
    """
    ordered = sorted(seconds)
    if not ordered:
        raise ValueError("no samples to summarise")
    rank = -(-95 * len(ordered) // 100)  # ceil(0.95 n) in integers, so no float error moves it
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[rank - 1] * 1000 if len(ordered) > 1 else None,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def time_calls(count: int, call: Callable[[int], object], *, warmup: int = 0) -> list[float]:
    """Seconds taken by each of ``count`` calls of ``call(i)``, after ``warmup`` untimed ones."""
    for i in range(warmup):
        call(i)
    times = []
    for i in range(warmup, warmup + count):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return times


def run_timed(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, int, float]:
    """Run a command to completion with its output discarded.

    Returns:
        (wall seconds, peak RSS in KiB, CPU seconds: user + system). On a loaded machine the CPU time
        says more than the wall time about what the command itself costs.

    Raises:
        RuntimeError: the command failed (its stderr is in the message).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}"
        )
    return elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime


def row(
    name: str,
    samples_s: Sequence[float],
    *,
    baseline: str,
    baseline_s: Sequence[float],
    target_ms: float | None = None,
    target_ratio: float | None = None,
    cpu_s: Sequence[float] | None = None,
    baseline_cpu_s: Sequence[float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One row of a result file: a measurement against its raw baseline measured in the same run.

    Args:
        name: what rgym did.
        samples_s: rgym's timings, in seconds.
        baseline: what the raw baseline did.
        baseline_s: the baseline's timings, in seconds, measured in the same run (interleaved).
        target_ms: the target as an absolute time: met when the median is under it.
        target_ratio: the target as a ratio to the baseline: met when the ratio is at most this.
        cpu_s: CPU seconds of rgym's process for each sample, when measured (``cpu_median_ms``).
        baseline_cpu_s: the same for the baseline (``baseline_cpu_median_ms``).
        **extra: more keys of the row (peak memory, a first run).

    Returns:
        The row: ``ratio`` is ``median_ms / baseline_median_ms``; ``met`` is null without a target, and
        true only when every target given is met.
    """
    measured, raw = stats_ms(samples_s), stats_ms(baseline_s)
    median, raw_median = measured["median_ms"], raw["median_ms"]
    assert median is not None and raw_median is not None
    ratio = median / raw_median if raw_median > 0 else None
    checks = []
    if target_ms is not None:
        checks.append(median < target_ms)
    if target_ratio is not None:
        checks.append(ratio is not None and ratio <= target_ratio)
    result: dict[str, Any] = {
        "name": name,
        "samples": len(samples_s),
        "median_ms": median,
        "p95_ms": measured["p95_ms"],
        "baseline": baseline,
        "baseline_median_ms": raw_median,
        "baseline_p95_ms": raw["p95_ms"],
        "ratio": ratio,
        "target_ms": target_ms,
        "target_ratio": target_ratio,
        "met": all(checks) if checks else None,
    }
    if cpu_s:
        result["cpu_median_ms"] = statistics.median(cpu_s) * 1000
    if baseline_cpu_s:
        result["baseline_cpu_median_ms"] = statistics.median(baseline_cpu_s) * 1000
    return {**result, **extra}


def target_text(r: dict[str, Any]) -> str:
    """A row's target as people read it ("< 2 s", "<= 0.05x"), or "" without one."""
    parts = []
    if r.get("target_ms") is not None:
        ms = r["target_ms"]
        parts.append(f"< {ms / 1000:g} s" if ms >= 1000 else f"< {ms:g} ms")
    if r.get("target_ratio") is not None:
        parts.append(f"<= {r['target_ratio']:g}x")
    return ", ".join(parts)


def verdict(r: dict[str, Any]) -> str:
    """The target with whether it was met ("< 2 s: missed"), or "" without a target."""
    target = target_text(r)
    if not target:
        return ""
    met = r.get("met")
    return f"{target}: " + ("met" if met else "missed" if met is False else "?")


def fmt_number(value: float | None) -> str:
    """Three significant figures under 10, whole numbers with thousands separators above; "" for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.3g}" if value < 10 else f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    """A ratio as "0.18x" (two decimals under 10, whole above); "" for none."""
    if value is None or math.isnan(value):
        return ""
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def print_rows(
    console: Console,
    title: str,
    rows: Sequence[dict[str, Any]],
    *,
    extra: Sequence[tuple[str, str]] = (),
    by_benchmark: bool = False,
) -> None:
    """The rows as one table: median, p95, the raw baseline, its median, the ratio and the target.

    Args:
        extra: more columns after the p95, as (row key, heading), e.g. ``("cpu_median_ms", "CPU ms")``.
        by_benchmark: lead with each row's ``benchmark`` (the summary of every result file).
    """
    table = Table(title=title, title_justify="left")
    headings = [
        *(["benchmark"] if by_benchmark else []),
        "measurement",
        "median ms",
        "p95 ms",
        *(heading for _, heading in extra),
        "raw baseline",
        "baseline ms",
        "ratio",
        "target",
    ]
    for heading in headings:
        numeric = heading not in ("benchmark", "measurement", "raw baseline", "target")
        table.add_column(heading, justify="right" if numeric else "left")
    for r in rows:
        text = verdict(r)
        table.add_row(
            *([r["benchmark"]] if by_benchmark else []),
            r["name"],
            fmt_number(r["median_ms"]),
            fmt_number(r["p95_ms"]),
            *(fmt_number(r.get(key)) for key, _ in extra),
            r["baseline"] or "",
            fmt_number(r["baseline_median_ms"]),
            fmt_ratio(r["ratio"]),
            f"[red]{text}[/]" if r["met"] is False else text,
        )
    console.print(table)


def write_result(path: Path, benchmark: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    """Write a result file: the benchmark's name, its rows, the machine, and its own parameters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": benchmark,
        "rows": rows,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
