"""Every report renderer's whole output, pinned against a reviewed copy in tests/report/golden/.

The number tests (test_numbers.py, test_suite_table.py) read each number back from its labelled cell; these
pin the rest of what a reader sees: titles, headers, notes, colours, alignment, the narrow-terminal
records and the markdown and HTML structure. The inputs are synthetic runs (seeded, no store, fixed ids
and dates), so the output is the same on every machine.

A deliberate change of a report's look is recorded with ``RGYM_UPDATE_GOLDEN=1 pytest
tests/report/test_golden_output.py``; the diff of tests/report/golden/ is then reviewed like code.
Pictures (the HTML's data: URIs) are left out: their bytes depend on matplotlib's version, and
tests/report/test_render.py checks what each is drawn from. rgym's version is masked too.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from gym_core import __version__
from gym_core.outcomes import Origin
from gym_core.report import print_report, render_report
from gym_core.report.layout import long_table
from gym_core.report.suite import SuiteRunData, build_suite_reports, print_suite_report, render_suite_report
from gym_core.scoring.run_data import RunData
from tests.report.synthetic import synthetic_run, synthetic_suite_run

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("RGYM_UPDATE_GOLDEN") == "1"
_DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")


def _raw(run: RunData) -> RunData:
    """``run`` with each final raw score filled in from its normalized one (synthetic runs have none), so the
    suite report's AUP, which is computed on raw scores, tells the agents apart."""
    assert run.reference_raw is not None
    gap = run.reference_raw - run.baseline_raw
    return replace(
        run,
        attempts=tuple(
            replace(
                a,
                final_raw=None if a.final_normalized is None else run.baseline_raw + a.final_normalized * gap,
            )
            for a in run.attempts
        ),
    )


def _with_an_excluded_attempt(run: RunData) -> RunData:
    """``run`` with its first attempt lost to the environment even after a retry: excluded, and flagged."""
    first, *rest = run.attempts
    lost = replace(
        first,
        status="crashed",
        origin=Origin.ENVIRONMENT,
        failure_kind="sandbox",
        final_normalized=None,
        succeeded=False,
    )
    return replace(run, attempts=(lost, *rest))


def _runs() -> list[RunData]:
    """A clean run and a perturbed run of the same task and agent (so the report compares them), and a run
    of another agent with an excluded attempt and one that never finished (so it carries the warnings)."""
    return [
        synthetic_run("01GOLDENC1EAN0000000000000", k=5, invalid=1, seed=3),
        synthetic_run(
            "01GOLDENPERTURBED000000000",
            k=5,
            invalid=0,
            skill=0.05,
            seed=4,
            perturbations={"tool_failure_rate": "0.2"},
        ),
        _with_an_excluded_attempt(
            synthetic_run("01GOLDENF1AKY0000000000000", k=4, finished=3, seed=5, agent="flaky-agent")
        ),
    ]


def _suite_runs() -> list[SuiteRunData]:
    """Two suite runs of two tasks by two agents (so the report adds AUP across them), and a third whose
    run of a third task is missing and whose first task lost an attempt to the environment (so its
    aggregate is n/a and it is flagged)."""
    out = []
    for n, (agent, skill) in enumerate((("baseline", 0.02), ("tuner", 0.2), ("flaky-agent", 0.1))):
        runs = tuple(
            _raw(
                synthetic_run(
                    f"01GOLDENSUITE{n}RUN{i}000000000",
                    k=3,
                    invalid=i,
                    skill=skill,
                    seed=10 * n + i,
                    agent=agent,
                    task_id=task,
                )
            )
            for i, task in enumerate(("calibration-temperature-scaling", "bandit-bernoulli-regret"))
        )
        tasks = [r.task_id for r in runs]
        if agent == "flaky-agent":
            runs = (_with_an_excluded_attempt(runs[0]), *runs[1:])
            tasks.append("unsupervised-anomaly-detection")
        out.append(
            synthetic_suite_run(
                f"01GOLDENSUITE{n}0000000000000",
                runs,
                tasks=tasks,
                agent=agent,
                created_at=datetime(2026, 12, 1, 9, n, tzinfo=UTC),
                finished_at=datetime(2026, 12, 1, 10, n, tzinfo=UTC),
            )
        )
    return out


def _terminal(width: int, draw: Callable[[Console], None]) -> str:
    """What a colour terminal of ``width`` columns shows, escape codes included (no environment read)."""
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=True, color_system="truecolor", no_color=False, _environ={}
    )
    draw(console)
    return out.getvalue()


def _print_suite(console: Console) -> None:
    print_suite_report(*build_suite_reports(_suite_runs()), console)


def _long_table(width: int) -> Callable[[Console], None]:
    """``rgym episodes``' table of a big run: headers wrapped between words when the columns would not fit."""
    columns = [
        ("#", "right"),
        ("episode id", "left"),
        ("final raw (private)", "right"),
        ("failure kind", "left"),
    ]
    rows = [
        [
            (str(i), ""),
            (f"01GOLDENEP{i:016d}", "cyan"),
            (f"{i / 7:.3f}", ""),
            ("timed_out" if i % 3 else "", "red"),
        ]
        for i in range(12)
    ]
    return lambda console: console.print(long_table("run 01GOLDEN", columns, rows, width), soft_wrap=True)


CASES: dict[str, Callable[[], str]] = {
    "run-table.txt": lambda: render_report(_runs(), "table"),
    "run-terminal.ansi": lambda: _terminal(140, lambda c: print_report(_runs(), c)),
    "run-narrow.ansi": lambda: _terminal(70, lambda c: print_report(_runs(), c)),
    "run.md": lambda: render_report(_runs(), "md"),
    "run.json": lambda: render_report(_runs(), "json"),
    "run.html": lambda: render_report(_runs(), "html"),
    "suite-table.txt": lambda: render_suite_report(_suite_runs(), "table"),
    "suite-terminal.ansi": lambda: _terminal(140, _print_suite),
    "suite-narrow.ansi": lambda: _terminal(70, _print_suite),
    "suite.md": lambda: render_suite_report(_suite_runs(), "md"),
    "suite.json": lambda: render_suite_report(_suite_runs(), "json"),
    "suite.html": lambda: render_suite_report(_suite_runs(), "html"),
    "long-table.ansi": lambda: _terminal(120, _long_table(120)),
    "long-table-wrapped-headers.ansi": lambda: _terminal(54, _long_table(54)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_report_is_rendered_as_reviewed(name: str) -> None:
    text = _DATA_URI.sub("data:image/(picture)", CASES[name]()).replace(__version__, "(version)")
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: write it with RGYM_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert text == expected, (
        f"{name} differs from {path}; if the change is meant, rerun with RGYM_UPDATE_GOLDEN=1 and review the "
        "diff of tests/report/golden/"
    )


def test_pictures_are_the_only_part_left_out() -> None:
    html = render_report(_runs(), "html")
    assert _DATA_URI.search(html)  # the html does carry pictures, and only they are masked
    masked = _DATA_URI.sub("data:image/(picture)", html)
    assert "base64," not in masked
