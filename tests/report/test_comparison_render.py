"""`rgym compare` and `rgym compare --history` in every format, on hand-made runs whose numbers are known.

Each text form (the plain table, Markdown, narrow records) is pinned line by line: which run is compared with
which, every number, every warning and every series' reason must reach the reader unchanged. Colours are
checked on a colour terminal, HTML by the elements a reader sees, JSON by its values (NaN becomes null).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pytest
from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style

from gym_core import __version__
from gym_core.errors import ConfigError
from gym_core.report import comparison_render as cr
from gym_core.report.comparison import ComparisonReport, History, build_comparison, build_history
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHECKSUM = "sha256:0123456789abcdef0123"
OTHER_CHECKSUM = "sha256:fedcba9876543210fedc"


def attempt(seed: int, final: float | None) -> Attempt:
    """A submitted attempt with one submit; it succeeds at 0.5 or more."""
    return Attempt(
        episode_id=f"ep-{seed}",
        index=seed,
        seed=seed,
        status="submitted",
        failure_kind=None if final is not None else "invalid_submission",
        final_raw=None,
        final_normalized=final,
        succeeded=final is not None and final >= 0.5,
        evaluations=(EvalPoint(step_index=2, t_s=2.0, kind="submit", raw=None, normalized=final),),
        wall_time_s=10.0,
        wall_budget_s=100.0,
        steps=3,
    )


def scored_run(
    run_id: str,
    finals: list[float | None],
    *,
    agent: str = "tuner",
    checksum: str = CHECKSUM,
    version: int = 1,
    created_at: str | None = None,
    perturbations: dict[str, str] | None = None,
) -> RunData:
    """A run of ``tiny-mean`` whose attempt i (seed i) ends with ``finals[i]``; k is their count."""
    return RunData(
        run_id=run_id,
        task_id="tiny-mean",
        task_version=version,
        task_checksum=checksum,
        agent=agent,
        metric_name="abs_error",
        direction="minimize",
        baseline_raw=5.0,
        reference_raw=0.0,
        success_threshold=0.5,
        k=len(finals),
        perturbations=dict(perturbations or {}),
        attempts=tuple(attempt(i, f) for i, f in enumerate(finals)),
        created_at=created_at,
    )


@pytest.fixture(scope="module")
def report() -> ComparisonReport:
    """A succeeds half the time; B (another agent) always: better; C (perturbed, task changed) never: worse."""
    a = scored_run("01RUNA", [1.0, 0.0] * 6)
    b = scored_run("01RUNB", [1.0] * 12, agent="tuner:v2")
    c = scored_run("01RUNC", [0.0] * 12, checksum=OTHER_CHECKSUM, perturbations={"noise": "0.1", "drop": "x"})
    return build_comparison([a, b, c], allow_changed_task=True)


@pytest.fixture(scope="module")
def history() -> History:
    """Seven runs, given newest first: three clean v1 runs (one after a detour), a perturbed one, one on a
    changed task folder, then on v2 a perturbed run followed by a clean one."""
    runs = [
        scored_run("01H1", [1.0, 0.0, 1.0, 0.0], created_at="2026-01-01T10:00:00+00:00"),
        scored_run("01H2", [1.0, 1.0, 1.0, 0.0], created_at="2026-01-02T10:00:00+00:00"),
        scored_run(
            "01H3",
            [0.0, 0.0, 1.0, 0.0],
            created_at="2026-01-03T10:00:00+00:00",
            perturbations={"noise": "0.1", "drop": "x"},
        ),
        scored_run(
            "01H4", [1.0, 1.0, 1.0, 1.0], created_at="2026-01-04T10:00:00+00:00", checksum=OTHER_CHECKSUM
        ),
        scored_run("01H5", [1.0, 1.0, 1.0, 1.0], created_at="2026-01-05T10:00:00+00:00"),
        scored_run(
            "01H6",
            [0.0, 0.0, 0.0, 1.0],
            created_at="2026-01-06T10:00:00+00:00",
            version=2,
            perturbations={"noise": "0.1"},
        ),
        scored_run("01H7", [1.0, 0.0, 0.0, 0.0], created_at="2026-01-07T10:00:00+00:00", version=2),
    ]
    return build_history(runs[::-1])


def printed(renderables: list[RenderableType], width: int) -> list[str]:
    """The renderables as a plain console of ``width`` prints them, line by line."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None, force_terminal=False)
    for item in renderables:
        console.print(item)
    return buffer.getvalue().splitlines()


def segments(renderables: list[RenderableType], width: int) -> list[Segment]:
    """What a colour terminal of ``width`` is sent: text with its style."""
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor")
    return [s for item in renderables for s in console.render(item) if s.text.strip()]


def look(segs: list[Segment], text: str) -> tuple[str | None, bool, bool]:
    """(colour, bold, dim) of the first segment that shows ``text``."""
    for s in segs:
        if text in s.text:
            style = s.style or Style()
            return (style.color.name if style.color else None, bool(style.bold), bool(style.dim))
    raise AssertionError(f"{text!r} is not shown")


# --- comparison -----------------------------------------------------------------------------------------

COMPARE_TABLE = [
    "rgym compare · tiny-mean v1 · each run against A (tuner)",
    " run   agent      run id     n/K    c   pass@K   pass^K   flicker    mean ",
    "──────────────────────────────────────────────────────────────────────────",
    " A     tuner      01RUNA   12/12    6    1.000    0.000     1.000   0.500 ",
    " B     tuner:v2   01RUNB   12/12   12    1.000    1.000     0.000   1.000 ",
    " C     tuner      01RUNC   12/12    0    0.000    0.000     0.000   0.000 ",
    "warning: compared although the task changed: run 01RUNC used tiny-mean v1 with checksum sha256:fedcb, run 01RUNA with ",
    "sha256:01234: the task folder changed between them",
    "╭─ B vs A ─────────────────────────────────────────────────────────────────────────────────────────────────────────────╮",
    "│ B (tuner:v2) vs A (tuner): better: success rate 0.500 -> 1.000, Δ +0.500, 95% CI [+0.250, +0.750], p = 0.031         │",
    "│ paired by seed: 12 pairs; k = 12; p-values exact over 4096 relabellings                                              │",
    "│  metric                             A       B    Δ B-A             95% CI       p   verdict                          │",
    "│ ─────────────────────────────────────────────────────────────────────────────────────────────────────────────        │",
    "│  success rate (pass@1)          0.500   1.000   +0.500   [+0.250, +0.750]   0.031   better                           │",
    "│  pass@12                        1.000   1.000   +0.000   [+0.000, +0.000]   1.000   no detectable difference         │",
    "│  pass^12                        0.000   1.000   +1.000   [+1.000, +1.000]   0.031   better                           │",
    "│  flicker (pass@12 - pass^12)    1.000   0.000   -1.000   [-1.000, -1.000]   0.031   better                           │",
    "│  mean                           0.500   1.000   +0.500   [+0.250, +0.750]   0.031   better                           │",
    "│  best of 12 (final, private)    1.000   1.000   +0.000   [+0.000, +0.000]   1.000   no detectable difference         │",
    "│  worst of 12 (final, private)   0.000   1.000   +1.000   [+1.000, +1.000]   0.031   better                           │",
    "│  regression rate                  n/a     n/a      n/a                n/a     n/a   not estimable                    │",
    "│ power: a difference of 0.10 in success rate needs about 388 attempts per run to detect (80% power, alpha = 0.05;     │",
    "│ from A's success rate 0.50, two proportions); you have 12                                                            │",
    "│ power: a difference of 0.10 in mean score needs about 215 pairs to detect (80% power, alpha = 0.05; from the sd of   │",
    "│ the paired differences 0.522); you have 12                                                                           │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
    "╭─ C vs A ─────────────────────────────────────────────────────────────────────────────────────────────────────────────╮",
    "│ C (tuner [drop=x, noise=0.1]) vs A (tuner): worse: success rate 0.500 -> 0.000, Δ -0.500, 95% CI [-0.750, -0.250], p │",
    "│ = 0.031                                                                                                              │",
    "│ paired by seed: 12 pairs; k = 12; p-values exact over 4096 relabellings                                              │",
    "│  metric                             A       C    Δ C-A             95% CI       p   verdict                          │",
    "│ ─────────────────────────────────────────────────────────────────────────────────────────────────────────────        │",
    "│  success rate (pass@1)          0.500   0.000   -0.500   [-0.750, -0.250]   0.031   worse                            │",
    "│  pass@12                        1.000   0.000   -1.000   [-1.000, -1.000]   0.031   worse                            │",
    "│  pass^12                        0.000   0.000   +0.000   [+0.000, +0.000]   1.000   no detectable difference         │",
    "│  flicker (pass@12 - pass^12)    1.000   0.000   -1.000   [-1.000, -1.000]   0.031   better                           │",
    "│  mean                           0.500   0.000   -0.500   [-0.750, -0.250]   0.031   worse                            │",
    "│  best of 12 (final, private)    1.000   0.000   -1.000   [-1.000, -1.000]   0.031   worse                            │",
    "│  worst of 12 (final, private)   0.000   0.000   +0.000   [+0.000, +0.000]   1.000   no detectable difference         │",
    "│  regression rate                  n/a     n/a      n/a                n/a     n/a   not estimable                    │",
    "│ power: a difference of 0.10 in success rate needs about 388 attempts per run to detect (80% power, alpha = 0.05;     │",
    "│ from A's success rate 0.50, two proportions); you have 12                                                            │",
    "│ power: a difference of 0.10 in mean score needs about 215 pairs to detect (80% power, alpha = 0.05; from the sd of   │",
    "│ the paired differences 0.522); you have 12                                                                           │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
]

COMPARE_MD = [
    "# rgym compare: tiny-mean v1",
    "",
    "Each run against A (tuner).",
    "",
    "| run | agent | run id | n/K | c | pass@K | pass^K | flicker | mean |",
    "|---|---|---|---|---|---|---|---|---|",
    "| A | tuner | 01RUNA | 12/12 | 6 | 1.000 | 0.000 | 1.000 | 0.500 |",
    "| B | tuner:v2 | 01RUNB | 12/12 | 12 | 1.000 | 1.000 | 0.000 | 1.000 |",
    "| C | tuner [drop=x, noise=0.1] | 01RUNC | 12/12 | 0 | 0.000 | 0.000 | 0.000 | 0.000 |",
    "",
    "> **Warning:** compared although the task changed: run 01RUNC used tiny-mean v1 with checksum sha256:fedcb, run 01RUNA with sha256:01234: the task folder changed between them",
    "",
    "## B vs A",
    "",
    "**B (tuner:v2) vs A (tuner): better: success rate 0.500 -> 1.000, Δ +0.500, 95% CI [+0.250, +0.750], p = 0.031**",
    "",
    "paired by seed: 12 pairs; k = 12; p-values exact over 4096 relabellings.",
    "",
    "| metric | A | B | Δ B-A | 95% CI | p | verdict |",
    "|---|---|---|---|---|---|---|",
    "| success rate (pass@1) | 0.500 | 1.000 | +0.500 | [+0.250, +0.750] | 0.031 | better |",
    "| pass@12 | 1.000 | 1.000 | +0.000 | [+0.000, +0.000] | 1.000 | no detectable difference |",
    "| pass^12 | 0.000 | 1.000 | +1.000 | [+1.000, +1.000] | 0.031 | better |",
    "| flicker (pass@12 - pass^12) | 1.000 | 0.000 | -1.000 | [-1.000, -1.000] | 0.031 | better |",
    "| mean | 0.500 | 1.000 | +0.500 | [+0.250, +0.750] | 0.031 | better |",
    "| best of 12 (final, private) | 1.000 | 1.000 | +0.000 | [+0.000, +0.000] | 1.000 | no detectable difference |",
    "| worst of 12 (final, private) | 0.000 | 1.000 | +1.000 | [+1.000, +1.000] | 0.031 | better |",
    "| regression rate | n/a | n/a | n/a | n/a | n/a | not estimable |",
    "",
    "- Power: a difference of 0.10 in success rate needs about 388 attempts per run to detect (80% power, alpha = 0.05; from A's success rate 0.50, two proportions); you have 12",
    "- Power: a difference of 0.10 in mean score needs about 215 pairs to detect (80% power, alpha = 0.05; from the sd of the paired differences 0.522); you have 12",
    "",
    "## C vs A",
    "",
    "**C (tuner [drop=x, noise=0.1]) vs A (tuner): worse: success rate 0.500 -> 0.000, Δ -0.500, 95% CI [-0.750, -0.250], p = 0.031**",
    "",
    "paired by seed: 12 pairs; k = 12; p-values exact over 4096 relabellings.",
    "",
    "| metric | A | C | Δ C-A | 95% CI | p | verdict |",
    "|---|---|---|---|---|---|---|",
    "| success rate (pass@1) | 0.500 | 0.000 | -0.500 | [-0.750, -0.250] | 0.031 | worse |",
    "| pass@12 | 1.000 | 0.000 | -1.000 | [-1.000, -1.000] | 0.031 | worse |",
    "| pass^12 | 0.000 | 0.000 | +0.000 | [+0.000, +0.000] | 1.000 | no detectable difference |",
    "| flicker (pass@12 - pass^12) | 1.000 | 0.000 | -1.000 | [-1.000, -1.000] | 0.031 | better |",
    "| mean | 0.500 | 0.000 | -0.500 | [-0.750, -0.250] | 0.031 | worse |",
    "| best of 12 (final, private) | 1.000 | 0.000 | -1.000 | [-1.000, -1.000] | 0.031 | worse |",
    "| worst of 12 (final, private) | 0.000 | 0.000 | +0.000 | [+0.000, +0.000] | 1.000 | no detectable difference |",
    "| regression rate | n/a | n/a | n/a | n/a | n/a | not estimable |",
    "",
    "- Power: a difference of 0.10 in success rate needs about 388 attempts per run to detect (80% power, alpha = 0.05; from A's success rate 0.50, two proportions); you have 12",
    "- Power: a difference of 0.10 in mean score needs about 215 pairs to detect (80% power, alpha = 0.05; from the sd of the paired differences 0.522); you have 12",
]

COMPARE_NARROW_START = [
    "rgym compare · tiny-mean v1 · each run against A (tuner)",
    "A  01RUNA  tuner",
    "  n/K 12/12 · c 6 · pass@K 1.000 · pass^K 0.000 · flicker 1.000 · mean 0.500",
    "B  01RUNB  tuner:v2",
    "  n/K 12/12 · c 12 · pass@K 1.000 · pass^K 1.000 · flicker 0.000 · mean 1.000",
    "C  01RUNC  tuner [drop=x, noise=0.1]",
    "  n/K 12/12 · c 0 · pass@K 0.000 · pass^K 0.000 · flicker 0.000 · mean 0.000",
    "warning: compared although the task changed: run 01RUNC used tiny-mean v1 with ",
    "checksum sha256:fedcb, run 01RUNA with sha256:01234: the task folder changed ",
    "between them",
    "╭─ B vs A ─────────────────────────────────────────────────────────────────────╮",
    "│ B (tuner:v2) vs A (tuner): better: success rate 0.500 -> 1.000, Δ +0.500,    │",
    "│ 95% CI [+0.250, +0.750], p = 0.031                                           │",
    "│ paired by seed: 12 pairs; k = 12; p-values exact over 4096 relabellings      │",
]


def test_compare_table_shows_the_runs_the_warning_and_each_run_against_the_first(
    report: ComparisonReport,
) -> None:
    text = cr.render_comparison(report, "table")
    assert text.splitlines() == COMPARE_TABLE
    assert text.endswith(" │\n╰" + "─" * 118 + "╯\n")  # TEXT_WIDTH wide, whatever the terminal
    assert "\x1b[" not in text  # plain text: no colour codes


def test_compare_markdown_has_every_table_warning_and_power_note(report: ComparisonReport) -> None:
    assert cr.render_comparison(report, "md").split("\n") == [*COMPARE_MD, ""]


def test_compare_markdown_inside_a_suite_nests_its_headings(report: ComparisonReport) -> None:
    lines = cr.comparison_markdown(report, level=2).splitlines()
    assert lines[0] == "## rgym compare: tiny-mean v1"
    assert [line for line in lines if line.startswith("#")] == [
        "## rgym compare: tiny-mean v1",
        "### B vs A",
        "### C vs A",
    ]


def test_narrow_compare_prints_records_that_keep_every_number(report: ComparisonReport) -> None:
    assert (
        printed(cr.comparison_renderables(report, 99), 80)[: len(COMPARE_NARROW_START)]
        == COMPARE_NARROW_START
    )
    # C's records are headed by C's label, not B's.
    narrow = "\n".join(printed(cr.comparison_renderables(report, 99), 80))
    c_panel = narrow[narrow.index("╭─ C vs A") :]
    assert "A 0.500 · C 0.000 · Δ C-A -0.500" in c_panel and "B" not in c_panel.replace("BCa", "")
    # From NARROW_BELOW columns on, tables.
    assert printed(cr.comparison_renderables(report, 100), 100)[1].split() == [
        "run",
        "agent",
        "run",
        "id",
        "n/K",
        "c",
        "pass@K",
        "pass^K",
        "flicker",
        "mean",
    ]


def test_compare_colours_each_verdict(report: ComparisonReport) -> None:
    for width in (120, 80):  # tables, then records
        segs = segments(cr.comparison_renderables(report, width), width)
        assert look(segs, "rgym compare · tiny-mean v1") == (None, True, False)
        assert look(segs, "warning: compared although the task changed") == ("yellow", True, False)
        assert look(segs, "B (tuner:v2) vs A (tuner): better") == ("green", True, False)
        assert look(segs, "C (tuner [drop=x, noise=0.1]) vs A (tuner): worse") == ("red", True, False)
        assert look(segs, "paired by seed: 12 pairs; k = 12;") == (None, False, True)
        assert look(segs, "power: a difference of 0.10") == (None, False, False)
    wide = segments(cr.comparison_renderables(report, 120), 120)
    verdicts = [look([s], s.text) for s in wide if s.text.strip() in ("better", "worse")]
    assert verdicts[:2] == [("green", True, False)] * 2 and ("red", True, False) in verdicts
    assert look([s for s in wide if s.text.strip() == "not estimable"], "not estimable") == (
        None,
        False,
        False,
    )
    narrow = segments(cr.comparison_renderables(report, 80), 80)
    heads = {
        s.text: look([s], s.text) for s in narrow if s.text in ("success rate (pass@1)", "regression rate")
    }
    assert heads == {"success rate (pass@1)": ("red", True, False), "regression rate": (None, True, False)}
    assert look(narrow, "pass@12") == (None, True, False)  # B's pass@12: no detectable difference -> bold


@pytest.fixture(scope="module")
def undecided() -> ComparisonReport:
    """Two runs too small to tell apart, with 26-character run ids and a long agent name."""
    a = scored_run("01JB7Z8Q9R0S1T2V3W4X5Y6Z71", [1.0, 0.0] * 3, agent="some-long-agent-name:with-version-2")
    b = scored_run("01JB7Z8Q9R0S1T2V3W4X5Y6Z72", [1.0] * 6, agent="other")
    return build_comparison([a, b])


def test_a_long_agent_name_folds_in_its_column_and_ids_and_numbers_stay_whole(
    undecided: ComparisonReport,
) -> None:
    assert printed(cr.comparison_renderables(undecided, 100), 100)[1:7] == [
        " run   agent               run id                       n/K   c   pass@K   pass^K   flicker    mean ",
        "─" * 100,
        " A     some-long-agent-n   01JB7Z8Q9R0S1T2V3W4X5Y6Z71   6/6   3    1.000    0.000     1.000   0.500 ",
        "       ame:with-version-                                                                            ",
        "       2                                                                                            ",
        " B     other               01JB7Z8Q9R0S1T2V3W4X5Y6Z72   6/6   6    1.000    1.000     0.000   1.000 ",
    ]


def test_an_undecided_headline_is_bold_without_a_colour(undecided: ComparisonReport) -> None:
    for width in (120, 80):
        segs = segments(cr.comparison_renderables(undecided, width), width)
        assert look(segs, "B (other) vs A") == (None, True, False)
        assert look(segs, "paired by seed: 6 pairs; k = 6;") == (None, False, True)


def test_at_the_narrowest_table_width_a_wide_interval_stays_on_one_line() -> None:
    """Scores far from the baseline make wide numbers: the text columns wrap, the numbers never do."""
    a = scored_run(
        "01JB7Z8Q9R0S1T2V3W4X5Y6Z71", [-12.5, 0.0] * 3, agent="some-long-agent-name:with-version-2"
    )
    b = scored_run("01JB7Z8Q9R0S1T2V3W4X5Y6Z72", [10.25] * 6, agent="other")
    lines = printed(cr.comparison_renderables(build_comparison([a, b]), 100), 100)
    start = lines.index(next(line for line in lines if line.startswith("│  mean ")))
    assert lines[start : start + 3] == [
        "│  mean                -6.250   10.250   +16.500   [+12.333, +20.667]   0.031   better             │",
        "│  best of 6            0.000   10.250   +10.250   [+10.250, +10.250]   0.031   better             │",
        "│  (final, private)                                                                                │",
    ]


def test_extreme_scores_squeeze_the_text_columns_which_fold_their_words_rather_than_cut_them() -> None:
    a = scored_run("01JB7Z8Q9R0S1T2V3W4X5Y6Z71", [-123456.5, 0.0, 1.0] * 2)
    b = scored_run("01JB7Z8Q9R0S1T2V3W4X5Y6Z72", [102345.25, 1.0, 0.0] * 2, agent="other")
    lines = printed(cr.comparison_renderables(build_comparison([a, b]), 100), 100)
    assert "…" not in "".join(lines)
    header = next(i for i, line in enumerate(lines) if "95% CI" in line and "verdict" in line)
    column = lines[header].index("verdict")
    first_row = lines[header + 2 : header + 7]
    assert first_row[0].startswith("│  success ")
    assert "".join(line[column:-1].strip() for line in first_row) == "nodetectabledifference"
    assert "".join(line[3:13].strip() for line in first_row) == "successrate(pass@1)"


def test_compare_json_has_every_number_and_nan_as_null(report: ComparisonReport) -> None:
    text = cr.render_comparison(report, "json")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2) + "\n"
    assert {k: v for k, v in document.items() if k not in ("runs", "comparisons")} == {
        "schema": "rgym.compare/1",
        "task_id": "tiny-mean",
        "task_version": 1,
        "detect": 0.1,
        "warnings": [
            "compared although the task changed: run 01RUNC used tiny-mean v1 with checksum sha256:fedcb, run "
            "01RUNA with sha256:01234: the task folder changed between them"
        ],
    }
    assert document["runs"][2] == {
        "label": "C",
        "run_id": "01RUNC",
        "agent": "tuner",
        "title": "tuner [drop=x, noise=0.1]",
        "task_checksum": OTHER_CHECKSUM,
        "perturbations": {"noise": "0.1", "drop": "x"},
        "created_at": None,
        "k": 12,
        "n": 12,
        "c": 0,
        "n_excluded": 0,
        "pass_at_k": 0.0,
        "pass_hat_k": 0.0,
        "flicker": 0.0,
        "mean": 0.0,
    }
    assert [(r["label"], r["agent"], r["c"], r["pass_hat_k"], r["flicker"]) for r in document["runs"]] == [
        ("A", "tuner", 6, 0.0, 1.0),
        ("B", "tuner:v2", 12, 1.0, 0.0),
        ("C", "tuner", 0, 0.0, 0.0),
    ]
    better, worse = document["comparisons"]
    assert {k: v for k, v in better.items() if k not in ("metrics", "power")} == {
        "a": "01RUNA",
        "b": "01RUNB",
        "k": 12,
        "pairing": {"paired": True, "pairs": 12, "n_a": 12, "n_b": 12, "unmatched_a": 0, "unmatched_b": 0},
        "verdict": "better",
        "headline": "B (tuner:v2) vs A (tuner): better: success rate 0.500 -> 1.000, Δ +0.500, 95% CI "
        "[+0.250, +0.750], p = 0.031",
        "p_values": {"exact": True, "relabellings": 4096},
        "alpha": 0.05,
    }
    assert worse["b"] == "01RUNC" and worse["verdict"] == "worse"
    assert better["metrics"][0] == {
        "name": "success_rate",
        "label": "success rate (pass@1)",
        "a": 0.5,
        "b": 1.0,
        "diff": 0.5,
        "ci95": [0.25, 0.75],
        "p_value": 0.03125,
        "verdict": "better",
        "verdict_text": "better",
        "higher_is_better": True,
    }
    assert [m["label"] for m in better["metrics"][1:4]] == [
        "pass@12",
        "pass^12",
        "flicker (pass@12 - pass^12)",
    ]
    assert better["metrics"][1]["verdict_text"] == "no detectable difference at n = 12 pairs"
    assert better["metrics"][3]["higher_is_better"] is False  # the flicker
    assert better["metrics"][-1] == {  # no regression can be estimated: NaN is written null
        "name": "regression_rate",
        "label": "regression rate",
        "a": None,
        "b": None,
        "diff": None,
        "ci95": [None, None],
        "p_value": None,
        "verdict": "not estimable",
        "verdict_text": "not estimable",
        "higher_is_better": False,
    }
    assert better["power"] == [
        {
            "metric": "success_rate",
            "delta": 0.1,
            "attempts_needed": 388,
            "attempts_have": 12,
            "basis": "A's success rate 0.50, two proportions",
            "text": "a difference of 0.10 in success rate needs about 388 attempts per run to detect (80% "
            "power, alpha = 0.05; from A's success rate 0.50, two proportions); you have 12",
        },
        {
            "metric": "mean",
            "delta": 0.1,
            "attempts_needed": 215,
            "attempts_have": 12,
            "basis": "the sd of the paired differences 0.522",
            "text": "a difference of 0.10 in mean score needs about 215 pairs to detect (80% power, alpha = "
            "0.05; from the sd of the paired differences 0.522); you have 12",
        },
    ]


def test_compare_json_writes_an_unknown_number_as_null() -> None:
    """A run with fewer finished attempts than k has no pass@k: null, not NaN (which is not JSON)."""
    short = replace(scored_run("01SHORT", [1.0, 0.0, 1.0]), k=4)
    text = cr.render_comparison(build_comparison([scored_run("01FULL", [1.0, 1.0, 0.0, 1.0]), short]), "json")
    run = json.loads(text)["runs"][1]
    assert (run["k"], run["n"], run["pass_at_k"], run["pass_hat_k"], run["flicker"]) == (
        4,
        3,
        None,
        None,
        None,
    )
    assert run["mean"] == pytest.approx(2 / 3)


def test_compare_html_is_a_page_with_each_pair_its_verdict_and_plot(report: ComparisonReport) -> None:
    page = cr.render_comparison(report, "html")
    assert page.startswith(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>'
    )
    assert page.endswith("</body></html>\n")
    assert "<title>rgym compare: tiny-mean v1</title>" in page
    assert f'<h1>rgym compare: tiny-mean v1</h1><p class="meta">rgym {__version__}</p>' in page
    assert "<p>Each run against A (tuner).</p><table><thead><tr><th>run</th><th>agent</th>" in page
    assert (
        "<tr><td>C</td><td>tuner [drop=x, noise=0.1]</td><td>01RUNC</td><td>12/12</td><td>0</td><td>0.000</td>"
        "<td>0.000</td><td>0.000</td><td>0.000</td></tr>"
    ) in page
    assert '<p class="warning">compared although the task changed: run 01RUNC used' in page
    assert page.count("<section><h2>") == 2 and "<section><h2>B vs A</h2>" in page
    assert (
        '<p class="headline better">B (tuner:v2) vs A (tuner): better: success rate 0.500 -&gt; 1.000' in page
    )
    assert '<p class="headline worse">C (tuner [drop=x, noise=0.1]) vs A (tuner): worse' in page
    assert (
        '<p class="meta">paired by seed: 12 pairs; k = 12; p-values exact over 4096 relabellings.</p>'
        "<table><thead><tr><th>metric</th><th>A</th><th>B</th><th>Δ B-A</th>"
    ) in page
    assert (
        "<tr><td>success rate (pass@1)</td><td>0.500</td><td>1.000</td><td>+0.500</td><td>[+0.250, +0.750]</td>"
        '<td>0.031</td><td class="better">better</td></tr>'
    ) in page
    assert '<td class="worse">worse</td>' in page
    assert '<td class="not estimable">not estimable</td>' in page
    assert "<p>Power: a difference of 0.10 in success rate needs about 388 attempts per run" in page
    assert "two proportions); you have 12</p><p>Power: a difference of 0.10 in mean score needs" in page
    assert "paired differences 0.522); you have 12</p><figure><img " in page
    caption = "Difference B - A of each metric with its 95% bootstrap CI; right of 0 is a rise."
    assert f'alt="{caption}"><figcaption>{caption}</figcaption></figure></section>' in page
    assert "Difference C - A of each metric" in page
    assert "<table><thead><tr><th>metric</th><th>A</th><th>C</th><th>Δ C-A</th>" in page
    assert page.count('<img src="data:image/png;base64,iVBORw0KGgo') == 2


def test_compare_html_body_escapes_names_and_takes_its_heading_level(report: ComparisonReport) -> None:
    a = scored_run("01RUNA", [1.0, 0.0] * 3, agent="<b>&co")
    b = scored_run("01RUNB", [1.0] * 6, perturbations={"prompt": "a<b"})
    body = cr.comparison_html_body(build_comparison([a, b], labels=["X", "Y"]), level=3)
    assert body.startswith("<p>Each run against X (&lt;b&gt;&amp;co).</p>")
    assert "<section><h3>Y vs X</h3>" in body and "<h2>" not in body
    assert "<td>tuner [prompt=a&lt;b]</td>" in body and "<b>" not in body


def test_markdown_and_html_tables_escape_their_cells() -> None:
    assert cr.md_row(["a|b", "two\nlines", "x"]) == "| a\\|b | two<br>lines | x |"
    assert cr.md_table(["h1", "h2"], [["1", "2"]]) == ["| h1 | h2 |", "|---|---|", "| 1 | 2 |"]
    assert cr.html_table(["<h>"], [["a&b", "c"], ["d", "e"]], ["better"]) == (
        "<table><thead><tr><th>&lt;h&gt;</th></tr></thead><tbody>"
        '<tr><td>a&amp;b</td><td class="better">c</td></tr><tr><td>d</td><td>e</td></tr></tbody></table>'
    )
    assert (
        cr.img_tag(b"\x89PNG", 'a "plot"')
        == '<img src="data:image/png;base64,iVBORw==" alt="a &quot;plot&quot;">'
    )


@pytest.mark.parametrize("fmt", ["csv", "TABLE", ""])
def test_an_unknown_format_is_refused_with_the_formats_to_use(
    report: ComparisonReport, history: History, fmt: str
) -> None:
    with pytest.raises(ConfigError) as info:
        cr.render_comparison(report, fmt)
    with pytest.raises(ConfigError) as history_info:
        cr.render_history(history, fmt)
    for error in (info.value, history_info.value):
        assert error.message == f"unknown compare format {fmt!r}"
        assert error.hint == "use one of: table, json, md, html"


def test_print_comparison_uses_a_terminal_width_but_gives_a_pipe_the_full_table(
    report: ComparisonReport,
) -> None:
    pipe = io.StringIO()
    cr.print_comparison(report, Console(file=pipe, width=60, force_terminal=False))
    assert pipe.getvalue() == cr.render_comparison(report, "table")
    terminal = io.StringIO()
    cr.print_comparison(
        report, Console(file=terminal, width=80, force_terminal=True, color_system="truecolor")
    )
    plain = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor")
    lines = [line for line in terminal.getvalue().splitlines() if line.strip()]
    assert "\x1b[" in terminal.getvalue() and all(plain.measure(line).maximum <= 80 for line in lines)
    assert "n/K 12/12 · c 6" in ANSI.sub("", terminal.getvalue())
    wide = io.StringIO()  # a wide pipe keeps its width
    cr.print_comparison(report, Console(file=wide, width=150, force_terminal=False))
    assert max(len(line) for line in wide.getvalue().splitlines()) == 150


def test_a_console_that_is_a_terminal_or_wide_enough_is_used_as_it_is() -> None:
    for console in (
        Console(file=io.StringIO(), width=80, force_terminal=True),
        Console(file=io.StringIO(), width=120, force_terminal=False),
    ):
        assert cr.wide_unless_terminal(console) is console
    pipe = io.StringIO()
    wide = cr.wide_unless_terminal(Console(file=pipe, width=119, force_terminal=False))
    assert (wide.width, wide.file) == (120, pipe)


# --- history --------------------------------------------------------------------------------------------

HISTORY_TABLE = [
    "rgym compare --history · tiny-mean · agent tuner · 7 run(s)",
    "╭─ task v1 · checksum sha256:01234 ────────────────────────────────────────────────────────────────────────────────────╮",
    "│  #   run id   created               n/K   c   pass@K   pass^K   flicker    mean   vs previous                        │",
    "│ ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────── │",
    "│  1   01H1     2026-01-01 10:00:00   4/4   2    1.000    0.000     1.000   0.500   -                                  │",
    "│  2   01H2     2026-01-02 10:00:00   4/4   3    1.000    0.000     1.000   0.750   no detectable difference at n = 4  │",
    "│                                                                                   pairs (Δ +0.250, p = 1.000)        │",
    "│  3   01H5     2026-01-05 10:00:00   4/4   4    1.000    1.000     0.000   1.000   no detectable difference at n = 4  │",
    "│                                                                                   pairs (Δ +0.250, p = 1.000)        │",
    "│ flicker over time: 1.000 -> 1.000 -> 0.000                                                                           │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
    "╭─ task v1 · checksum sha256:01234 · drop=x, noise=0.1 ────────────────────────────────────────────────────────────────╮",
    "│ a separate series: perturbations drop=x, noise=0.1: a perturbed run is compared with clean runs by `rgym report`,    │",
    "│ not here                                                                                                             │",
    "│  #   run id   created               n/K   c   pass@K   pass^K   flicker    mean   vs previous                        │",
    "│ ──────────────────────────────────────────────────────────────────────────────────────────────                       │",
    "│  4   01H3     2026-01-03 10:00:00   4/4   1    1.000    0.000     1.000   0.250   -                                  │",
    "│ flicker over time: 1.000                                                                                             │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
    "╭─ task v1 · checksum sha256:fedcb ────────────────────────────────────────────────────────────────────────────────────╮",
    "│ a separate series: task folder changed: checksum sha256:fedcb (was sha256:01234); scores are not comparable across   │",
    "│ the change                                                                                                           │",
    "│  #   run id   created               n/K   c   pass@K   pass^K   flicker    mean   vs previous                        │",
    "│ ──────────────────────────────────────────────────────────────────────────────────────────────                       │",
    "│  5   01H4     2026-01-04 10:00:00   4/4   4    1.000    1.000     0.000   1.000   -                                  │",
    "│ flicker over time: 0.000                                                                                             │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
    "╭─ task v2 · checksum sha256:01234 · noise=0.1 ────────────────────────────────────────────────────────────────────────╮",
    "│ a separate series: task v2 (was v1): scores of two versions are not comparable                                       │",
    "│  #   run id   created               n/K   c   pass@K   pass^K   flicker    mean   vs previous                        │",
    "│ ──────────────────────────────────────────────────────────────────────────────────────────────                       │",
    "│  6   01H6     2026-01-06 10:00:00   4/4   1    1.000    0.000     1.000   0.250   -                                  │",
    "│ flicker over time: 1.000                                                                                             │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
    "╭─ task v2 · checksum sha256:01234 ────────────────────────────────────────────────────────────────────────────────────╮",
    "│ a separate series: perturbations none: a perturbed run is compared with clean runs by `rgym report`, not here        │",
    "│  #   run id   created               n/K   c   pass@K   pass^K   flicker    mean   vs previous                        │",
    "│ ──────────────────────────────────────────────────────────────────────────────────────────────                       │",
    "│  7   01H7     2026-01-07 10:00:00   4/4   1    1.000    0.000     1.000   0.250   -                                  │",
    "│ flicker over time: 1.000                                                                                             │",
    "╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯",
]

HISTORY_MD = [
    "# rgym history: tiny-mean, agent tuner",
    "",
    "## Task v1, checksum `sha256:01234`",
    "",
    "| # | run id | created | n/K | c | pass@K | pass^K | flicker | mean | vs previous |",
    "|---|---|---|---|---|---|---|---|---|---|",
    "| 1 | 01H1 | 2026-01-01 10:00:00 | 4/4 | 2 | 1.000 | 0.000 | 1.000 | 0.500 | - |",
    "| 2 | 01H2 | 2026-01-02 10:00:00 | 4/4 | 3 | 1.000 | 0.000 | 1.000 | 0.750 | no detectable difference at n = 4 pairs (Δ +0.250, p = 1.000) |",
    "| 3 | 01H5 | 2026-01-05 10:00:00 | 4/4 | 4 | 1.000 | 1.000 | 0.000 | 1.000 | no detectable difference at n = 4 pairs (Δ +0.250, p = 1.000) |",
    "",
    "Flicker over time: 1.000 -> 1.000 -> 0.000",
    "",
    "## Task v1, checksum `sha256:01234`, drop=x, noise=0.1",
    "",
    "> A separate series: perturbations drop=x, noise=0.1: a perturbed run is compared with clean runs by `rgym report`, not here",
    "",
    "| # | run id | created | n/K | c | pass@K | pass^K | flicker | mean | vs previous |",
    "|---|---|---|---|---|---|---|---|---|---|",
    "| 4 | 01H3 | 2026-01-03 10:00:00 | 4/4 | 1 | 1.000 | 0.000 | 1.000 | 0.250 | - |",
    "",
    "Flicker over time: 1.000",
    "",
    "## Task v1, checksum `sha256:fedcb`",
    "",
    "> A separate series: task folder changed: checksum sha256:fedcb (was sha256:01234); scores are not comparable across the change",
    "",
    "| # | run id | created | n/K | c | pass@K | pass^K | flicker | mean | vs previous |",
    "|---|---|---|---|---|---|---|---|---|---|",
    "| 5 | 01H4 | 2026-01-04 10:00:00 | 4/4 | 4 | 1.000 | 1.000 | 0.000 | 1.000 | - |",
    "",
    "Flicker over time: 0.000",
    "",
    "## Task v2, checksum `sha256:01234`, noise=0.1",
    "",
    "> A separate series: task v2 (was v1): scores of two versions are not comparable",
    "",
    "| # | run id | created | n/K | c | pass@K | pass^K | flicker | mean | vs previous |",
    "|---|---|---|---|---|---|---|---|---|---|",
    "| 6 | 01H6 | 2026-01-06 10:00:00 | 4/4 | 1 | 1.000 | 0.000 | 1.000 | 0.250 | - |",
    "",
    "Flicker over time: 1.000",
    "",
    "## Task v2, checksum `sha256:01234`",
    "",
    "> A separate series: perturbations none: a perturbed run is compared with clean runs by `rgym report`, not here",
    "",
    "| # | run id | created | n/K | c | pass@K | pass^K | flicker | mean | vs previous |",
    "|---|---|---|---|---|---|---|---|---|---|",
    "| 7 | 01H7 | 2026-01-07 10:00:00 | 4/4 | 1 | 1.000 | 0.000 | 1.000 | 0.250 | - |",
    "",
    "Flicker over time: 1.000",
]

HISTORY_NARROW_START = [
    "rgym compare --history · tiny-mean · agent tuner · 7 run(s)",
    "╭─ task v1 · checksum sha256:01234 ────────────────────────────────────────────╮",
    "│ 1. 01H1                                                                      │",
    "│   created 2026-01-01 10:00:00 · n/K 4/4 · c 2 · pass@K 1.000 · pass^K 0.000  │",
    "│ · flicker 1.000 · mean 0.500 · vs previous -                                 │",
    "│ 2. 01H2                                                                      │",
    "│   created 2026-01-02 10:00:00 · n/K 4/4 · c 3 · pass@K 1.000 · pass^K 0.000  │",
    "│ · flicker 1.000 · mean 0.750 · vs previous no detectable difference at n = 4 │",
    "│ pairs (Δ +0.250, p = 1.000)                                                  │",
    "│ 3. 01H5                                                                      │",
    "│   created 2026-01-05 10:00:00 · n/K 4/4 · c 4 · pass@K 1.000 · pass^K 1.000  │",
    "│ · flicker 0.000 · mean 1.000 · vs previous no detectable difference at n = 4 │",
    "│ pairs (Δ +0.250, p = 1.000)                                                  │",
    "│ flicker over time: 1.000 -> 1.000 -> 0.000                                   │",
    "╰──────────────────────────────────────────────────────────────────────────────╯",
    "╭─ task v1 · checksum sha256:01234 · drop=x, noise=0.1 ────────────────────────╮",
    "│ a separate series: perturbations drop=x, noise=0.1: a perturbed run is       │",
    "│ compared with clean runs by `rgym report`, not here                          │",
    "│ 4. 01H3                                                                      │",
    "│   created 2026-01-03 10:00:00 · n/K 4/4 · c 1 · pass@K 1.000 · pass^K 0.000  │",
    "│ · flicker 1.000 · mean 0.250 · vs previous -                                 │",
    "│ flicker over time: 1.000                                                     │",
]


def test_history_table_shows_each_series_with_its_reason_and_flicker(history: History) -> None:
    text = cr.render_history(history, "table")
    assert text.splitlines() == HISTORY_TABLE
    assert "\x1b[" not in text


def test_history_markdown_shows_each_series_with_its_reason_and_flicker(history: History) -> None:
    assert cr.render_history(history, "md").split("\n") == [*HISTORY_MD, ""]


def test_narrow_history_prints_a_record_per_run(history: History) -> None:
    assert (
        printed(cr.history_renderables(history, 99), 80)[: len(HISTORY_NARROW_START)] == HISTORY_NARROW_START
    )
    assert printed(cr.history_renderables(history, 100), 100)[2].split() == [
        "│",
        "#",
        "run",
        "id",
        "created",
        "n/K",
        "c",
        "pass@K",
        "pass^K",
        "flicker",
        "mean",
        "vs",
        "previous",
        "│",
    ]


def test_history_colours_a_separate_series(history: History) -> None:
    segs = segments(cr.history_renderables(history), 120)
    assert look(segs, "rgym compare --history · tiny-mean") == (None, True, False)
    assert look(segs, "a separate series: perturbations drop=x") == ("yellow", False, False)
    assert look(segs, "flicker over time: 1.000 -> 1.000 -> 0.000") == (None, False, False)


def test_history_table_of_long_run_ids_folds_the_comparison_instead_of_cutting_it() -> None:
    """At 112 columns, run ids of 26 characters leave "vs previous" 5 characters: its words fold, whole."""
    runs = [
        scored_run(f"01JB7Z8Q9R0S1T2V3W4X5Y6Z7{i}", [1.0, 0.0, 1.0, 0.0], created_at=f"2026-01-0{i}T10:00:00")
        for i in (1, 2)
    ]
    lines = printed(cr.history_renderables(build_history(runs), 112), 112)
    assert "…" not in "".join(lines)
    rows = lines[lines.index(next(line for line in lines if "01JB7Z8Q9R0S1T2V3W4X5Y6Z72" in line)) :]
    column = lines[2].index("vs")
    folded = "".join(
        line[column:-1].replace(" ", "")
        for line in rows[: rows.index(next(r for r in rows if "flicker" in r))]
    )
    assert folded == "nodetectabledifferenceatn=4pairs(Δ+0.000,p=1.000)"


def test_a_history_table_too_wide_for_its_panel_is_printed_as_records() -> None:
    """Two 26-character run ids need 108 columns for the table: below that every run is a record, so no id,
    time or number is ever cut, at any width."""
    ids = ["01JB7Z8Q9R0S1T2V3W4X5Y6Z71", "01JB7Z8Q9R0S1T2V3W4X5Y6Z72"]
    runs = [
        scored_run(run_id, [1.0, 0.0, 1.0, 0.0], created_at=f"2026-01-0{i}T10:00:00")
        for i, run_id in enumerate(ids, 1)
    ]
    history = build_history(runs)
    for width in range(100, 125):
        text = "\n".join(printed(cr.history_renderables(history, width), width))
        assert "…" not in text
        for whole in (*ids, "2026-01-02 10:00:00", "0.500"):
            assert whole in text, (width, whole)
    assert (
        printed(cr.history_renderables(history, 107), 107)[2]
        == "│ 1. 01JB7Z8Q9R0S1T2V3W4X5Y6Z71" + " " * 75 + "│"
    )
    table = printed(cr.history_renderables(history, 108), 108)
    assert any(
        line.startswith("│  1   01JB7Z8Q9R0S1T2V3W4X5Y6Z71   2026-01-01 10:00:00   4/4 ") for line in table
    )


def test_history_json_has_each_series_and_how_each_run_compares_with_the_one_before(history: History) -> None:
    text = cr.render_history(history, "json")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2) + "\n"
    assert (document["schema"], document["task_id"], document["agent"]) == (
        "rgym.history/1",
        "tiny-mean",
        "tuner",
    )
    assert [
        (s["task_version"], s["task_checksum"], s["perturbations"], [r["run_id"] for r in s["runs"]])
        for s in document["series"]
    ] == [
        (1, CHECKSUM, {}, ["01H1", "01H2", "01H5"]),
        (1, CHECKSUM, {"drop": "x", "noise": "0.1"}, ["01H3"]),
        (1, OTHER_CHECKSUM, {}, ["01H4"]),
        (2, CHECKSUM, {"noise": "0.1"}, ["01H6"]),
        (2, CHECKSUM, {}, ["01H7"]),
    ]
    first = document["series"][0]
    assert first["reason"] is None
    assert first["runs"][0] == {
        "run_id": "01H1",
        "created_at": "2026-01-01T10:00:00+00:00",
        "k": 4,
        "n": 4,
        "c": 2,
        "n_excluded": 0,
        "pass_at_k": 1.0,
        "pass_hat_k": 0.0,
        "flicker": 1.0,
        "mean": 0.5,
        "vs_previous": None,
    }
    assert first["runs"][2]["vs_previous"] == {
        "run_id": "01H2",
        "verdict": "no detectable difference",
        "text": "no detectable difference at n = 4 pairs (Δ +0.250, p = 1.000)",
        "diff": 0.25,
        "ci95": [0.0, 0.75],
        "p_value": 1.0,
    }
    assert [s["reason"] for s in document["series"][1:]] == [
        "perturbations drop=x, noise=0.1: a perturbed run is compared with clean runs by `rgym report`, not here",
        "task folder changed: checksum sha256:fedcb (was sha256:01234); scores are not comparable across the change",
        "task v2 (was v1): scores of two versions are not comparable",
        "perturbations none: a perturbed run is compared with clean runs by `rgym report`, not here",
    ]


def test_history_json_writes_an_unknown_number_as_null() -> None:
    runs = [
        replace(scored_run("01S1", [1.0, None]), k=3, created_at="2026-01-01"),
        replace(scored_run("01S2", [None, None]), created_at="2026-01-02"),
    ]
    first, second = json.loads(cr.render_history(build_history(runs), "json"))["series"][0]["runs"]
    assert (first["pass_at_k"], first["pass_hat_k"], first["flicker"], first["mean"]) == (
        None,
        None,
        None,
        1.0,
    )
    assert second["mean"] is None  # no valid final score
    assert second["vs_previous"]["diff"] == -0.5
    assert second["vs_previous"]["ci95"] == [-1.0, 0.0]


def test_history_html_is_a_page_with_a_section_and_a_plot_per_series(history: History) -> None:
    page = cr.render_history(history, "html")
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body></html>\n")
    assert "<title>rgym history: tiny-mean, agent tuner</title>" in page
    assert "<h1>rgym history: tiny-mean, agent tuner</h1>" in page
    assert (
        f'<p class="meta">rgym {__version__}</p><section><h2>task v1 · checksum sha256:01234</h2>'
        "<table><thead><tr><th>#</th><th>run id</th>"
    ) in page
    assert (
        '<section><h2>task v1 · checksum sha256:01234 · drop=x, noise=0.1</h2><p class="warning">A separate '
        "series: perturbations drop=x, noise=0.1: a perturbed run is compared with clean runs by `rgym report`, "
        "not here</p>"
    ) in page
    assert "<section><h2>task v1 · checksum sha256:fedcb</h2>" in page
    assert "<section><h2>task v2 · checksum sha256:01234 · noise=0.1</h2>" in page
    assert page.count("<section>") == page.count("</section>") == 5
    assert [
        f"<tr><td>{i}</td><td>{run_id}</td>" in page
        for i, run_id in enumerate(["01H1", "01H2", "01H5", "01H3", "01H4", "01H6", "01H7"], 1)
    ] == [True] * 7
    assert (
        "<td>no detectable difference at n = 4 pairs (Δ +0.250, p = 1.000)</td></tr>"
        "<tr><td>3</td><td>01H5</td>"
    ) in page
    assert "<p>Flicker over time: 1.000 -&gt; 1.000 -&gt; 0.000</p>" in page
    caption = "pass@K, pass^K and the flicker between them, run by run (oldest first)."
    assert page.count(f'alt="{caption}"><figcaption>{caption}</figcaption></figure></section>') == 5
    assert page.count('<img src="data:image/png;base64,iVBORw0KGgo') == 5


def test_print_history_uses_a_terminal_width_but_gives_a_pipe_the_full_table(history: History) -> None:
    pipe = io.StringIO()
    cr.print_history(history, Console(file=pipe, width=60, force_terminal=False))
    assert pipe.getvalue() == cr.render_history(history, "table")
    terminal = io.StringIO()
    cr.print_history(history, Console(file=terminal, width=80, force_terminal=True, color_system="truecolor"))
    assert "\x1b[" in terminal.getvalue() and "1. " in terminal.getvalue()
    assert "created 2026-01-01 10:00:00" in ANSI.sub("", terminal.getvalue())


def test_the_pairing_line_names_the_runs_whose_attempts_were_left_out_in_every_format() -> None:
    """X ran seeds 0-5 and Y seeds 2-7: four pairs, and two attempts of each left out, named by label."""
    x = scored_run("01RUNX", [1.0, 0.0] * 3)
    y = scored_run("01RUNY", [1.0] * 6)
    y = replace(y, attempts=tuple(replace(a, seed=a.seed + 2) for a in y.attempts))
    report = build_comparison([x, y], labels=["X", "Y"])
    said = "paired by seed: 4 pairs (2 of X and 2 of Y without a matching seed left out); k = 6"
    assert said in " ".join(cr.render_comparison(report, "table").replace("│", " ").split())
    assert said in cr.render_comparison(report, "md")
    assert f'<p class="meta">{said}' in cr.render_comparison(report, "html")
