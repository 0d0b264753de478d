"""The terminal report's layout where the golden files do not reach: other widths, long ids and names,
numbers wider than their column, headers that must wrap, empty headers and tables without rows.

What is pinned is what a reader sees: every id and every number whole (folded if it must, never cut or
dropped), and each table laid out the way its docstring promises.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from rich.console import Console, RenderableType
from rich.table import Table

from gym_core.report import formatting as fmt
from gym_core.report import print_report
from gym_core.report.layout import NARROW_BELOW, is_narrow, long_table, records
from gym_core.scoring.metrics import compute_metrics
from gym_core.scoring.run_data import RunData
from tests.report.synthetic import synthetic_run

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
RUN_ID = "01M8T8FMYAHKQ2V7RZ0C4X9D1E"
"""A run id as the store makes them: 26 characters."""


def _terminal(run: RunData, width: int) -> list[str]:
    """The report printed on a colour terminal of ``width`` columns, without its colour codes."""
    buffer = io.StringIO()
    print_report([run], Console(file=buffer, force_terminal=True, width=width))
    return _ANSI.sub("", buffer.getvalue()).splitlines()


def _plain(renderable: RenderableType, width: int, *, soft_wrap: bool = False) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(renderable, soft_wrap=soft_wrap)
    return buffer.getvalue().splitlines()


def _cells(line: str) -> list[str]:
    """The stripped cells of a table line drawn with ``│`` or ``┃``."""
    return [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]


# --- summary table and run panel (gym_core/report/table.py) ------------------------------------------


def test_a_terminal_of_exactly_the_narrow_limit_still_gets_tables() -> None:
    # Records are for consoles *narrower* than NARROW_BELOW; one of exactly that width fits the tables.
    lines = _terminal(synthetic_run(RUN_ID, k=6, seed=1), NARROW_BELOW)
    assert lines[1].startswith("┏")  # the summary table's top edge, right under its title
    assert any(_cells(line)[:1] == ["capability: can it appear?"] for line in lines)
    assert max(len(line) for line in lines) <= NARROW_BELOW
    # The other commands (`rgym runs`, `rgym episodes`) draw the line at the same width.
    assert not is_narrow(Console(width=NARROW_BELOW))
    assert is_narrow(Console(width=NARROW_BELOW - 1))


def test_long_names_fold_in_the_summary_but_the_run_id_and_numbers_stay_whole() -> None:
    run = replace(
        synthetic_run(RUN_ID, k=6, seed=1),
        task_id="calibration-temperature-scaling-with-a-very-long-task-name",
        agent="llm:anthropic/claude-some-very-long-model-name-2026",
        perturbations={"description": "terse", "noise": "0.25"},
    )
    m = compute_metrics(run)
    lines = _terminal(run, NARROW_BELOW)
    assert max(len(line) for line in lines) <= NARROW_BELOW
    (row,) = [line for line in lines if RUN_ID in line and line.startswith("│")]
    assert _cells(row)[2:] == [
        RUN_ID,
        "descr",  # the free-text columns fold, five characters a line at this width...
        "6/6",  # ...so that the numbers never do
        str(m.c),
        fmt.number("pass_at_k", m.pass_at_k),
        fmt.number("pass_hat_k", m.pass_hat_k),
        fmt.number("flicker", m.flicker),
        fmt.number("mean", m.mean),
    ]


def _scaled(run: RunData, factor: float) -> RunData:
    """``run`` with every normalized score times ``factor``: huge numbers, as when a task's reference is
    very close to its baseline."""

    def scale(value: float | None) -> float | None:
        return None if value is None else value * factor

    return replace(
        run,
        attempts=tuple(
            replace(
                a,
                final_normalized=scale(a.final_normalized),
                evaluations=tuple(replace(e, normalized=scale(e.normalized)) for e in a.evaluations),
            )
            for a in run.attempts
        ),
    )


def test_a_number_wider_than_its_panel_column_is_folded_whole_not_cut() -> None:
    run = _scaled(synthetic_run(RUN_ID, k=6, seed=1), 1e12)
    m = compute_metrics(run)
    lines = _terminal(run, NARROW_BELOW)
    panel = [_cells(line) for line in lines if line.startswith("│") and line.count("│") == 5]
    capability = "".join(cells[1] for cells in panel)
    reliability = "".join(cells[3] for cells in panel)
    assert "…" not in capability + reliability
    # The digits of each number follow each other across the folded lines of its column.
    for name in ("best_of_k", "best_attempt"):
        assert fmt.number(name, m.value(name)) in capability, name
    for name in ("mean", "std", "worst_of_k"):
        assert fmt.number(name, m.value(name)) in reliability, name
    assert len(fmt.number("best_of_k", m.best_of_k)) > 15  # wider than the column: it did fold


# --- records (gym_core/report/layout.py) -------------------------------------------------------------


def test_records_fold_a_long_head_and_value_whole_even_in_a_cutting_table_cell() -> None:
    head, value = "EP" + "0123456789" * 5, "sha256:" + "abcdef0123" * 5
    group = records([[("id", "short"), ("checksum", value)]], heads=[head], styles=[""])
    # A table cell cuts text with an ellipsis by default; a record's id and values must not be cut.
    outer = Table(show_header=False)
    outer.add_column()
    outer.add_row(group)
    lines = [" ".join(_cells(line)) for line in _plain(outer, 30) if line.startswith("│")]
    # The head folds over two lines of the cell; the value, too long for a line of its own, folds after
    # the line it would have started.
    assert "".join(lines) == head + "id short · checksum" + value
    assert "…" not in "".join(lines)


def test_a_record_head_without_a_style_of_its_own_is_bold() -> None:
    # `rgym episodes` gives a style per status and "" for the others: their heads are bold all the same.
    buffer = io.StringIO()
    console = Console(file=buffer, width=40, force_terminal=True, color_system="standard")
    console.print(records([[("seed", "1")], [("seed", "2")]], heads=["EP1", "EP2"], styles=["", "red"]))
    assert "\x1b[1mEP1\x1b[0m" in buffer.getvalue()
    assert "\x1b[31mEP2\x1b[0m" in buffer.getvalue()


# --- long_table (gym_core/report/layout.py) ----------------------------------------------------------

_Columns = Sequence[tuple[str, Literal["left", "right"]]]


def _long(columns: _Columns, rows: Sequence[Sequence[str]], width: int) -> list[str] | None:
    text = long_table("t", columns, [[(cell, "") for cell in row] for row in rows], width)
    if text is None:
        return None
    # As `rgym episodes` prints it; without the title, the trailing spaces and the closing blank line.
    return [line.rstrip() for line in _plain(text, width, soft_wrap=True)[1:-1]]


def test_long_table_fits_exactly_its_natural_width_without_wrapping() -> None:
    columns: _Columns = [("#", "right"), ("episode id", "left"), ("final raw (private)", "right")]
    rows = [["1", "EP1", "0.500"], ["12", "EP12", "-3.250"]]
    natural = 2 + 10 + 19 + 2 * 2
    assert _long(columns, rows, natural) == [
        " #  episode id  final raw (private)",
        "─" * natural,
        " 1  EP1                       0.500",
        "12  EP12                     -3.250",
    ]
    # One column narrower, the header that gains the most wraps between its words.
    assert _long(columns, rows, natural - 1) == [
        " #  episode id  final raw",
        "                (private)",
        "─" * (natural - 10),
        " 1  EP1             0.500",
        "12  EP12           -3.250",
    ]


def test_long_table_wraps_the_header_that_gains_the_most_and_only_it() -> None:
    # Wrapping "first second third" gains 12 columns, "the longest column header" only 5: the first is
    # enough to fit 40 columns, so the second stays on one line.
    columns: _Columns = [("first second third", "left"), ("the longest column header", "right")]
    rows = [["ab", "12345678901234567890"]]
    assert _long(columns, rows, 40) == [
        "first   the longest column header",
        "second",
        "third",
        "─" * 33,
        "ab           12345678901234567890",
    ]


def test_long_table_pads_every_left_column_but_the_last() -> None:
    columns: _Columns = [("#", "right"), ("status", "left"), ("failure", "left")]
    rows = [["1", "submitted", "-"], ["2", "ok", "timed_out"]]
    assert _long(columns, rows, 60) == [
        "#  status     failure",
        "─" * 23,
        "1  submitted  -",
        "2  ok         timed_out",
    ]


def test_long_table_takes_an_empty_header_and_no_rows() -> None:
    # A marker column may have no header, and a table may have no rows.
    columns: _Columns = [("", "left"), ("episode id", "left")]
    assert _long(columns, [["*", "EP1"], ["", "EP2"]], 60) == [
        "   episode id",
        "─" * 13,
        "*  EP1",
        "   EP2",
    ]
    assert _long([("#", "right"), ("episode id", "left")], [], 60) == [
        "#  episode id",
        "─" * 13,
    ]
    # A blank header over a column of empty cells is a column of width 0, not an error.
    assert _long(columns, [["", "EP1"]], 60) == ["  episode id", "─" * 12, "  EP1"]
    assert _long(columns, [], 60) == ["  episode id", "─" * 12]
