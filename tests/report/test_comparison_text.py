"""The words and numbers of ``rgym compare``: metric labels, n/a for unknown numbers, verdicts with their n, how
attempts were paired, power notes, and the cells of ``rgym compare --history``'s lines (each run's position, id,
creation time to the second with a space for the ``T`` and blank when unknown, n/K, c, numbers, and how it compares
with the run before it)."""

from __future__ import annotations

import math
from dataclasses import replace

from gym_core.report.comparison import build_comparison, build_history
from gym_core.report.comparison_text import (
    ci_text,
    flicker_trend,
    headline,
    history_cells,
    metric_cells,
    metric_label,
    number,
    p_method,
    p_text,
    pairing_text,
    power_text,
    run_line_cells,
    signed,
    verdict_text,
)
from gym_core.scoring.compare import MetricDifference, Pairing, PowerNote, RunComparison
from tests.report.synthetic import synthetic_run


def test_history_lines_show_when_each_run_was_made_and_how_it_compares_with_the_one_before() -> None:
    first = synthetic_run("01HIST0", k=3, invalid=0, seed=1)  # created 2025-01-01T12:00:00+00:00
    later = replace(
        synthetic_run("01HIST1", k=3, invalid=1, seed=2),
        created_at="2025-01-02T08:30:05.123456+00:00",
        task_checksum=first.task_checksum,
    )
    undated = replace(
        synthetic_run("01HIST2", k=3, invalid=1, seed=3), created_at=None, task_checksum=first.task_checksum
    )
    (series,) = build_history([first, later, undated]).series
    assert [history_cells(i, point) for i, point in enumerate(series.points, 1)] == [
        ["1", "01HIST2", "", "3/3", "1", "1.000", "0.000", "1.000", "-0.004", "-"],  # undated sorts first
        [
            "2",
            "01HIST0",
            "2025-01-01 12:00:00",
            "3/3",
            "2",
            "1.000",
            "0.000",
            "1.000",
            "0.271",
            "no detectable difference at n = 3 pairs (Δ +0.333, p = 1.000)",
        ],
        [
            "3",
            "01HIST1",
            "2025-01-02 08:30:05",
            "3/3",
            "2",
            "1.000",
            "0.000",
            "1.000",
            "0.522",
            "no detectable difference at n = 3 pairs (Δ +0.000, p = 1.000)",
        ],
    ]


def _comparison(
    *, paired: bool = True, unmatched_a: int = 0, unmatched_b: int = 0, exact_p: bool = True
) -> RunComparison:
    diff = MetricDifference(
        name="success_rate",
        a=0.5,
        b=0.75,
        diff=0.25,
        ci=(-0.125, 0.625),
        p_value=0.0004,
        verdict="no detectable difference",
        higher_is_better=True,
    )
    return RunComparison(
        a_run_id="01A",
        b_run_id="01B",
        k=4,
        pairing=Pairing(
            paired=paired, pairs=6, n_a=7, n_b=8, unmatched_a=unmatched_a, unmatched_b=unmatched_b
        ),
        metrics=(diff,),
        power=(),
        alpha=0.05,
        exact_p=exact_p,
        relabellings=64,
    )


def test_metric_labels_fill_in_k_and_leave_other_names_as_they_are() -> None:
    names = ("success_rate", "pass_at_k", "pass_hat_k", "flicker", "mean", "best_of_k", "worst_of_k")
    assert [metric_label(name, 4) for name in (*names, "regression_rate", "budget_used")] == [
        "success rate (pass@1)",
        "pass@4",
        "pass^4",
        "flicker (pass@4 - pass^4)",
        "mean",
        "best of 4 (final, private)",
        "worst of 4 (final, private)",
        "regression rate",
        "budget_used",
    ]


def test_numbers_signs_intervals_and_p_values_read_n_a_when_unknown() -> None:
    nan = math.nan
    assert (number(0.12345), number(nan)) == ("0.123", "n/a")
    assert (signed(0.25), signed(-0.0004), signed(nan)) == ("+0.250", "-0.000", "n/a")
    assert (ci_text((-0.125, 0.625)), ci_text((nan, nan))) == ("[-0.125, +0.625]", "n/a")
    assert (p_text(0.0004), p_text(0.001), p_text(0.25), p_text(nan)) == ("< 0.001", "0.001", "0.250", "n/a")


def test_a_verdict_of_no_difference_says_at_which_n_and_the_pairing_says_what_was_left_out() -> None:
    paired, unpaired = _comparison(unmatched_a=1, unmatched_b=2), _comparison(paired=False)
    assert verdict_text(paired.headline, paired) == "no detectable difference at n = 6 pairs"
    assert verdict_text(unpaired.headline, unpaired) == "no detectable difference at n = 7 vs 8 attempts"
    better = replace(paired.headline, verdict="better")
    assert verdict_text(better, paired) == "better"
    # Named by the labels of the two runs compared (C against A in `rgym compare A B C`).
    assert (
        pairing_text(paired, "A", "C")
        == "paired by seed: 6 pairs (1 of A and 2 of C without a matching seed left out)"
    )
    assert (
        pairing_text(_comparison(unmatched_b=3), "A", "B")
        == "paired by seed: 6 pairs (3 of B without a matching seed left out)"
    )
    assert pairing_text(_comparison(), "A", "B") == "paired by seed: 6 pairs"
    assert pairing_text(unpaired, "A", "B") == "unpaired (seeds do not match): 7 vs 8 finished attempts"
    assert metric_cells(paired.headline, paired) == [
        "success rate (pass@1)",
        "0.500",
        "0.750",
        "+0.250",
        "[-0.125, +0.625]",
        "< 0.001",
        "no detectable difference",
    ]
    assert (p_method(paired), p_method(_comparison(exact_p=False))) == ("exact", "Monte Carlo")


def test_power_notes_count_pairs_only_for_a_paired_mean() -> None:
    paired, unpaired = _comparison(), _comparison(paired=False)
    rate = PowerNote(
        metric="success_rate", delta=0.1, needed=388, have=6, basis="the pooled success rate 0.50"
    )
    mean = PowerNote(metric="mean", delta=0.05, needed=40, have=6, basis="the sd of the paired differences")
    assert power_text(rate, paired) == (
        "a difference of 0.10 in success rate needs about 388 attempts per run to detect (80% power, alpha = 0.05; "
        "from the pooled success rate 0.50); you have 6"
    )
    assert power_text(mean, paired).startswith(
        "a difference of 0.05 in mean score needs about 40 pairs to detect"
    )
    assert power_text(mean, unpaired).startswith(
        "a difference of 0.05 in mean score needs about 40 attempts per run "
    )
    unknown = replace(mean, needed=None, basis="fewer than 2 finished attempts")
    assert (
        power_text(unknown, paired)
        == "mean score: cannot plan a sample size yet (fewer than 2 finished attempts)"
    )


def test_the_headline_and_run_lines_name_each_run_by_label_and_agent_with_its_perturbations() -> None:
    a = synthetic_run("01CMPA", k=4, invalid=0, seed=1)
    b = replace(
        synthetic_run("01CMPB", k=4, invalid=3, seed=2, perturbations={"noise": "0.1"}),
        task_checksum=a.task_checksum,
    )
    report = build_comparison([a, b])
    (comparison,) = report.comparisons
    assert headline(report, comparison) == (
        "B (tuner [noise=0.1]) vs A (tuner): no detectable difference at n = 4 pairs: success rate 0.500 -> 0.250, "
        "Δ -0.250, 95% CI [-1.000, +0.500], p = 1.000"
    )
    assert [run_line_cells(run) for run in report.runs] == [
        ["A", "tuner", "01CMPA", "4/4", "2", "1.000", "0.000", "1.000", "0.109"],
        ["B", "tuner [noise=0.1]", "01CMPB", "4/4", "1", "1.000", "0.000", "1.000", "0.346"],
    ]
    pass_at = next(m for m in comparison.metrics if m.name == "pass_at_k")
    assert metric_cells(pass_at, comparison)[0] == "pass@4"
    later = replace(
        synthetic_run("01CMPC", k=4, invalid=1, seed=3),
        created_at="2025-02-01T00:00:00+00:00",
        task_checksum=a.task_checksum,
    )
    (series,) = build_history([a, later]).series
    assert flicker_trend(series.points) == "1.000 -> 1.000"
