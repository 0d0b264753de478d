"""`rgym compare SUITE_RUN_A SUITE_RUN_B...` in every format, on the hand-made suite runs of
tests/report/test_suite_comparison.py whose verdicts are known.

The suite part (the suite runs, the warnings, each suite run's summary against A with its counts and every
task not compared with the reason) is pinned line by line in the plain table, the narrow records, Markdown
and JSON; below it each task's own comparison must be exactly what ``rgym compare RUN_A RUN_B`` prints.
HTML is checked by what a reader sees, the forest plot by what it draws, the terminal by its colours.
"""

from __future__ import annotations

import io
import json
import struct
from functools import cache
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gym_core.errors import ConfigError
from gym_core.report import comparison_render as cr
from gym_core.report import suite_comparison_render as scr
from gym_core.report.suite_comparison import SuiteComparison, build_suite_comparison
from gym_core.report.table import TEXT_WIDTH
from tests.report.suite_comparison_expected import (
    JSON_WITHOUT_TASKS,
    LONG_NAMES_SUITE_RUNS,
    MARKDOWN_HEAD,
    NARROW_HEAD,
    SQUEEZED_SUMMARY,
    TABLE_HEAD,
)
from tests.report.test_suite_comparison import FAIL, HALF, PASS, build, suite_run, task_run


@cache
def report() -> SuiteComparison:
    return build()


def test_the_table_shows_the_suite_runs_their_summaries_then_each_task_as_rgym_compare_does() -> None:
    rep = report()
    text = scr.render_suite_comparison(rep, "table")
    tasks = "".join(
        cr.plain_text([Text(""), *cr.comparison_renderables(t.report, TEXT_WIDTH)]) for t in rep.tasks
    )
    assert text == TABLE_HEAD + tasks
    assert "\x1b" not in text


def test_long_suite_and_agent_names_wrap_and_share_the_width_while_ids_stay_whole() -> None:
    """The suite and agent columns fold; the ids, K and status never wrap."""
    agent = "agent-with-a-rather-long-name-" * 3
    suite = "a-suite-with-a-long-long-name"
    a = suite_run(
        "01JSUITERUNAAAAAAAAAAAAAAA", [task_run("a1", "t1", FAIL)], ["t1"], suite=suite, agent=agent
    )
    b = suite_run("01JSUITERUNBBBBBBBBBBBBBBB", [task_run("b1", "t1", PASS)], ["t1"], suite=suite, agent="b")
    text = scr.render_suite_comparison(build_suite_comparison([a, b]), "table")
    assert LONG_NAMES_SUITE_RUNS in text


def test_a_squeezed_summary_folds_a_long_task_id_whole_and_keeps_each_number_on_one_line() -> None:
    """At 100 columns, a task id without spaces wider than its column is folded over lines, never cut; a long
    not-compared reason wraps; the success rates, the difference, its CI and p stay on one line."""
    long_id = "t-" + "abcdefghij" * 7
    tasks = [long_id, "t-version"]
    a = suite_run("SRA", [task_run("a1", long_id, FAIL), task_run("a2", "t-version", HALF)], tasks)
    b = suite_run(
        "SRB",
        [task_run("b1", long_id, PASS), task_run("b2", "t-version", HALF, version=2)],
        tasks,
        agent="tuner",
    )
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=False, no_color=True, color_system=None)
    console.print(scr.suite_comparison_renderables(build_suite_comparison([a, b]), 100)[2])
    assert buffer.getvalue() == SQUEEZED_SUMMARY


def test_a_narrow_terminal_gets_records() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=70, force_terminal=False, no_color=True, color_system=None)
    items = scr.suite_comparison_renderables(report(), 70)
    for item in items[:5]:
        console.print(item)
    assert buffer.getvalue() == NARROW_HEAD
    assert cr.plain_text(items[6:]) == cr.plain_text(
        [item for t in report().tasks for item in [Text(""), *cr.comparison_renderables(t.report, 70)]]
    )
    assert isinstance(scr.suite_comparison_renderables(report(), 100)[1], Table)  # from 100 columns: tables
    assert len(items) == 6 + sum(1 + len(cr.comparison_renderables(t.report, 70)) for t in report().tasks)


def test_print_suite_comparison_colours_the_verdicts_on_a_terminal() -> None:
    """On a colour terminal better is bold green, worse bold red, the rest plain; a pipe gets the table's
    text at full width whatever its own width."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=True, color_system="truecolor", highlight=False)
    scr.print_suite_comparison(report(), console)
    out = buffer.getvalue()
    lines = out.splitlines()
    assert (
        "│  t-better        0.000       1.000   +1.000   [+1.000, +1.000]   < 0.001   \x1b[1;32mbetter   "
        in lines[12]
    )
    assert (
        "│  t-worse         1.000       0.000   -1.000   [-1.000, -1.000]   < 0.001   \x1b[1;31mworse   "
        in lines[13]
    )
    assert lines[14].startswith(
        "│  t-same          0.500       0.500   +0.000   [+0.000, +0.000]     1.000   no detectable "
    )
    assert "\x1b[1mB (tuner on suite core) vs A (base on suite core), task by task" in out
    assert "\x1b[1;33mwarning: C ran suite other and A suite core" in out
    assert "\x1b[1mrgym compare · suite runs · each against A (base on suite core)\x1b[0m" in out
    assert "1.000   no detectable difference at n = 12 pairs " in out
    assert "      -   not compared: run b4 used t-version v2" in out
    pipe = io.StringIO()
    scr.print_suite_comparison(report(), Console(file=pipe, width=60, force_terminal=False, no_color=True))
    assert pipe.getvalue() == scr.render_suite_comparison(report(), "table")
    narrow = io.StringIO()
    colour = Console(file=narrow, width=80, force_terminal=True, color_system="truecolor", highlight=False)
    scr.print_suite_comparison(report(), colour)
    assert "\x1b[1;32mt-better\x1b[0m" in narrow.getvalue()
    assert "\x1b[1;31mt-worse\x1b[0m" in narrow.getvalue()
    assert "\x1b[1mt-gone\x1b[0m" in narrow.getvalue()


def test_markdown_has_the_suite_part_then_each_task_as_rgym_compare_does() -> None:
    rep = report()
    md = scr.render_suite_comparison(rep, "md")
    tasks = "".join("\n\n" + cr.comparison_markdown(t.report, level=2).rstrip("\n") for t in rep.tasks)
    assert md == MARKDOWN_HEAD.removesuffix("\n") + tasks + "\n"


def test_json_has_every_suite_run_pair_and_task() -> None:
    rep = report()
    text = scr.render_suite_comparison(rep, "json")
    assert text.endswith("}\n") and text.startswith('{\n  "schema": "rgym.compare-suites/1",\n')
    body = json.loads(text)
    tasks = body.pop("tasks")
    assert body == JSON_WITHOUT_TASKS
    assert tasks == [
        {"task_id": t.task_id, "comparison": json.loads(json.dumps(cr.comparison_json(t.report)))}
        for t in rep.tasks
    ]
    assert scr.suite_comparison_json(rep)["pairs"][0]["summary"][0]["headline"].startswith("B (x) vs A (x)")


def test_an_estimate_that_is_not_finite_is_null_in_json() -> None:
    assert scr._num(float("nan")) is None
    assert scr._num(float("inf")) is None
    assert scr._num(None) is None
    assert scr._num(0.25) == 0.25


def test_html_shows_the_suite_runs_summaries_forests_and_tasks() -> None:
    rep = report()
    page = scr.render_suite_comparison(rep, "html")
    assert page.startswith("<!DOCTYPE html>") or page.startswith("<!doctype html>")
    assert "<title>rgym compare: suite runs</title>" in page
    assert "<p>Each suite run against A (base on suite core), task by task.</p>" in page
    suite_runs = cr.html_table(scr.SUITE_RUN_HEADERS, [scr.suite_run_cells(s) for s in rep.suite_runs])
    assert f"task by task.</p>{suite_runs}<p class=" in page  # nothing stray between the parts
    assert (
        '<p class="warning">suite run A has more than one run of t-same: the newest, a3, is compared '
        "(not a3-old)</p>"
    ) in page
    assert "<section><h2>B vs A, task by task</h2>" in page
    assert "<section><h2>C vs A, task by task</h2>" in page
    assert (
        '<p class="headline">B (tuner on suite core) vs A (base on suite core), task by task: 1 better, 1 worse, '
        "1 no detectable difference, 3 not compared</p>"
    ) in page
    rows = rep.rows("B")
    assert (
        cr.html_table(
            scr.summary_headers("A", "B"),
            [scr.summary_cells(r) for r in rows],
            ["better", "worse", "no-detectable-difference", "not-compared", "not-compared", "not-compared"],
        )
        in page
    )
    caption = "Difference in success rate C - A of each task with its 95% bootstrap CI; right of 0 is a rise."
    assert (
        f"<figure>{cr.img_tag(scr.summary_forest(rep, 'C'), caption)}<figcaption>{caption}</figcaption>"
        in page
    )
    assert page.count("<figure>") >= 2
    for t in rep.tasks:
        body = cr.comparison_html_body(t.report, level=3)
        assert f"<section><h2>{t.task_id} v1</h2>{body}</section>" in page


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ConfigError):
        scr.render_suite_comparison(report(), "pdf")


def _forest(
    monkeypatch: pytest.MonkeyPatch, label: str, of: SuiteComparison | None = None
) -> tuple[Figure, bytes]:
    """The forest plot of suite run ``label`` in ``of`` (the fixture's report by default): its figure and PNG."""
    made: list[Figure] = []

    class Recording(Figure):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(scr, "Figure", Recording)
    png = scr.summary_forest(of if of is not None else report(), label)
    return made[0], png


def test_the_forest_plot_draws_each_task_difference_with_its_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """B against A: a green segment and point for t-better at +1, red for t-worse at -1, grey for t-same at 0
    (top to bottom in the suite's order), ``not compared`` written for the three unpaired tasks."""
    from gym_core.report import plots

    fig, png = _forest(monkeypatch, "B")
    assert png.startswith(b"\x89PNG")
    assert tuple(fig.get_size_inches()) == pytest.approx((plots.FIGSIZE[0], 0.45 * 6 + 1.4))
    (ax,) = fig.axes
    drawn = [
        (
            np.asarray(line.get_xdata()).tolist(),
            np.asarray(line.get_ydata()).tolist(),
            line.get_color(),
            line.get_marker(),
        )
        for line in ax.get_lines()
    ]
    green, red, grey = plots.REFERENCE_COLOUR, plots.INVALID_COLOUR, plots.BASELINE_COLOUR
    assert drawn[:-1] == [
        ([1.0, 1.0], [5, 5], green, "None"),
        ([1.0], [5], green, "o"),
        ([-1.0, -1.0], [4, 4], red, "None"),
        ([-1.0], [4], red, "o"),
        ([0.0, 0.0], [3, 3], grey, "None"),
        ([0.0], [3], grey, "o"),
    ]
    lines = ax.get_lines()
    assert [line.get_linewidth() for line in lines[:-1:2]] == [2.2] * 3
    assert [line.get_markersize() for line in lines[1:-1:2]] == [7] * 3
    assert [line.get_solid_capstyle() for line in lines[:-1:2]] == ["butt"] * 3
    axis = lines[-1]
    assert (
        np.asarray(axis.get_xdata()).tolist() == [0.0, 0.0]
        and axis.get_color() == "black"
        and axis.get_linewidth() == 1
    )
    assert [(t.get_text(), t.get_position()) for t in ax.texts] == [
        ("not compared", (0, 2)),
        ("not compared", (0, 1)),
        ("not compared", (0, 0)),
    ]
    text = ax.texts[0]
    assert (text.get_horizontalalignment(), text.get_verticalalignment(), text.get_color()) == (
        "center",
        "center",
        "#57606a",
    )
    patch = text.get_bbox_patch()
    assert patch is not None and patch.get_facecolor() == (1.0, 1.0, 1.0, 1.0)  # on white, over the grid
    assert ax.get_xlim() == pytest.approx((-1.05, 1.05))
    assert ax.get_ylim() == pytest.approx((-0.6, 5.6))
    assert list(ax.get_yticks()) == [5, 4, 3, 2, 1, 0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "t-better",
        "t-worse",
        "t-same",
        "t-version",
        "t-changed",
        "t-gone",
    ]
    assert ax.get_xlabel() == "difference in success rate B - A (95% bootstrap CI)"
    assert ax.get_title() == "Suite run B against A, task by task; green better, red worse"
    fig.canvas.draw()
    assert [(g.get_visible(), g.get_alpha()) for g in ax.xaxis.get_gridlines()][:1] == [(True, 0.3)]
    assert not any(g.get_visible() for g in ax.yaxis.get_gridlines())


def test_the_forest_plot_shows_a_task_id_with_dollar_signs_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib reads text between two ``$`` as mathtext: the tick label escapes each one."""
    a = suite_run("SRA", [task_run("a1", "cost-$5-to-$9", FAIL)], ["cost-$5-to-$9"])
    b = suite_run("SRB", [task_run("b1", "cost-$5-to-$9", PASS)], ["cost-$5-to-$9"])
    fig, _ = _forest(monkeypatch, "B", build_suite_comparison([a, b]))
    (label,) = fig.axes[0].get_yticklabels()
    assert label.get_text() == r"cost-\$5-to-\$9"


def test_the_forest_png_is_drawn_at_the_report_dpi_and_trimmed_to_its_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The PNG records plots.DPI (its pHYs chunk, in pixels per metre), and its size is the drawn content's
    (bbox_inches="tight"), not the figure's page."""
    from gym_core.report import plots

    fig, png = _forest(monkeypatch, "B")
    assert png[12:16] == b"IHDR"
    size = struct.unpack(">II", png[16:24])
    at = png.index(b"pHYs")
    assert struct.unpack(">IIB", png[at + 4 : at + 13]) == (round(plots.DPI / 0.0254),) * 2 + (1,)
    page = (round(plots.FIGSIZE[0] * plots.DPI), round((0.45 * 6 + 1.4) * plots.DPI))
    trimmed = io.BytesIO()
    fig.savefig(trimmed, format="png", dpi=plots.DPI, bbox_inches="tight")
    assert size == struct.unpack(">II", trimmed.getvalue()[16:24]) != page


def test_the_forest_plot_draws_the_ci_from_its_low_to_its_high_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """C against A on t-better: +0.5 with 95% CI [+0.25, +0.75]."""
    fig, _ = _forest(monkeypatch, "C")
    segment, point = fig.axes[0].get_lines()[:2]
    assert np.asarray(segment.get_xdata()).tolist() == [0.25, 0.75]
    assert np.asarray(point.get_xdata()).tolist() == [0.5]
