"""rgym report in all four formats, on synthetic runs: capability beside reliability, n/a, deltas, plots."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pytest
from rich.console import Console

from gym_core.errors import ConfigError
from gym_core.report import FORMATS, print_report, render_report
from gym_core.report.table import TEXT_WIDTH
from gym_core.scoring.run_data import RunData
from tests.report.synthetic import synthetic_run

ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def clean() -> RunData:
    return synthetic_run("run-clean", k=6, seed=1)


@pytest.fixture(scope="module")
def perturbed() -> RunData:
    return synthetic_run(
        "run-pert", k=6, seed=2, skill=0.02, invalid=2, perturbations={"description": "terse"}
    )


@pytest.fixture(scope="module")
def short() -> RunData:
    return synthetic_run("run-short", k=6, finished=2, seed=3, agent="noop")


@pytest.fixture(scope="module")
def html_report(clean: RunData, perturbed: RunData, short: RunData) -> str:
    # Rendered once: the plots are the slow part of the suite.
    return render_report([perturbed, clean, short], "html")


@pytest.mark.parametrize("fmt", ["table", "md"])
def test_text_formats_show_both_families_and_the_flicker(clean: RunData, fmt: str) -> None:
    text = render_report([clean], fmt)
    for label in ("pass@6", "pass^6", "best of 6", "worst of 6", "mean [95% CI]", "regression rate"):
        assert label in text, label
    assert "capability" in text and "reliability" in text
    assert "flicker = pass@6 - pass^6" in text
    assert "PERSIST" in text


def test_table_is_plain_text_but_print_report_colours_a_terminal(clean: RunData) -> None:
    assert not ANSI.search(render_report([clean], "table"))
    buffer = io.StringIO()
    print_report([clean], Console(file=buffer, force_terminal=True, width=120))
    assert ANSI.search(buffer.getvalue())
    assert "pass^6" in buffer.getvalue()


def test_json_is_strict_and_complete(clean: RunData, short: RunData) -> None:
    document = json.loads(render_report([clean, short], "json"))
    assert document["schema"] == "rgym.report/1"
    by_id = {r["run_id"]: r for r in document["runs"]}
    full, partial = by_id["run-clean"], by_id["run-short"]
    assert full["counts"]["n"] == 6 and full["counts"]["k"] == 6
    assert 0.0 <= full["metrics"]["pass_hat_k"] <= full["metrics"]["pass_at_k"] <= 1.0
    assert full["metrics"]["flicker"] == pytest.approx(
        full["metrics"]["pass_at_k"] - full["metrics"]["pass_hat_k"]
    )
    assert full["curves"]["k"] == [1, 2, 3, 4, 5, 6]
    assert full["deltas"] is None and full["clean_run_id"] is None
    # NaN never leaks into JSON: it is null, and the reason is given.
    assert partial["metrics"]["pass_at_k"] is None
    assert partial["na_reasons"]["pass_at_k"] == "n < k: 2 of 6 finished"
    assert partial["curves"]["pass_at_k"][2:] == [None] * 4
    assert "NaN" not in render_report([short], "json")


@pytest.mark.parametrize("fmt", ["table", "md"])
def test_fewer_finished_than_k_shows_na_with_the_reason(short: RunData, fmt: str) -> None:
    text = render_report([short], fmt)
    assert "n/a (n < k: 2 of 6 finished)" in text
    assert "flicker: n/a" in text


def test_perturbed_run_is_shown_beside_its_clean_run(clean: RunData, perturbed: RunData) -> None:
    document = json.loads(render_report([perturbed, clean], "json"))
    runs = document["runs"]
    # The clean run comes first in its (task, agent) group, whatever the order given.
    assert [r["run_id"] for r in runs] == ["run-clean", "run-pert"]
    pert = runs[1]
    assert pert["clean_run_id"] == "run-clean"
    assert pert["deltas"]["mean"] == pytest.approx(pert["metrics"]["mean"] - runs[0]["metrics"]["mean"])
    md = render_report([perturbed, clean], "md")
    assert "compared with clean run `run-clean`" in md
    clean_mean = runs[0]["metrics"]["mean"]
    assert f"clean {clean_mean:.3f}, Δ {pert['deltas']['mean']:+.3f}" in md
    assert "description=terse" in render_report([perturbed, clean], "table")


def test_perturbed_run_of_another_agent_is_not_compared(clean: RunData, perturbed: RunData) -> None:
    other = replace(perturbed, agent="llm:gpt")
    document = json.loads(render_report([other, clean], "json"))
    assert all(r["deltas"] is None for r in document["runs"])


@pytest.mark.slow
def test_html_is_self_contained_with_three_plots_per_run(html_report: str) -> None:
    assert html_report.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html_report)
    assert len(images) == 3 * 3
    assert all(len(data) > 5_000 for data in images)  # real pictures, not empty canvases
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html_report, re.IGNORECASE)
    assert "<script" not in html_report and "<link" not in html_report


@pytest.mark.slow
def test_html_shows_na_deltas_and_flicker(html_report: str) -> None:
    assert "n/a (n &lt; k: 2 of 6 finished)" in html_report
    assert "compared with clean run run-clean" in html_report
    assert "Δ" in html_report
    assert "flicker = pass@6 - pass^6" in html_report


@pytest.mark.slow
def test_user_text_is_escaped(clean: RunData) -> None:
    hostile = replace(clean, agent="<script>alert(1)</script>|x", metric_name="cost_$x^2")
    html = render_report([hostile], "html")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    md = render_report([hostile], "md")
    assert "\\|x" in md


def test_bad_requests_are_one_line_errors(clean: RunData) -> None:
    with pytest.raises(ConfigError, match="unknown report format 'pdf'"):
        render_report([clean], "pdf")
    with pytest.raises(ConfigError, match="no runs"):
        render_report([], "json")
    with pytest.raises(ConfigError, match="given twice"):
        render_report([clean, clean], "json")
    assert set(FORMATS) == {"table", "json", "md", "html"}


def test_rendering_is_deterministic(clean: RunData) -> None:
    assert render_report([clean], "json") == render_report([clean], "json")


def test_the_table_format_is_laid_out_at_the_fixed_text_width(clean: RunData) -> None:
    widths = [len(line) for line in render_report([clean], "table").splitlines()]
    # The summary table fills the 120 columns: no 80-column terminal guess folds its numbers.
    assert max(widths) == TEXT_WIDTH


def test_print_report_on_a_pipe_prints_the_table_format(clean: RunData) -> None:
    buffer = io.StringIO()
    # Not a terminal, and rich would assume 80 columns: the report is the fixed-width table format.
    print_report([clean], Console(file=buffer, width=80))
    assert buffer.getvalue() == render_report([clean], "table")


def test_a_narrow_terminal_gets_records_at_its_own_width(clean: RunData) -> None:
    buffer = io.StringIO()
    print_report([clean], Console(file=buffer, force_terminal=True, width=60))
    text = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "┏" not in text  # records, not a summary table squeezed into 60 columns
    assert "run run-clean" in text and "pass@6 1.000" in text
