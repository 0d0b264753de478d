"""The shared sentences and number formats of the text reports, for the cases the golden fixtures miss:
self-reported graders, tasks without a reference, a mean without a CI, n/a without a reason, percentage
deltas, unknown metric names and the harness line of a run whose every try failed or had several kinds."""

from __future__ import annotations

import math
from dataclasses import replace

from gym_core.report import formatting as fmt
from gym_core.report.entries import ReportEntry
from gym_core.scoring.metrics import HarnessReliability, RunMetrics, compute_metrics
from gym_core.scoring.run_data import RunData
from tests.report.synthetic import synthetic_run


def _run() -> RunData:
    return synthetic_run("01FORMATTING0000000000000", k=3, invalid=0, seed=3)


def _metrics() -> RunMetrics:
    return compute_metrics(_run())


def test_scale_text_of_a_self_reported_task_without_a_reference() -> None:
    """The warning leads the sentence; success is beating the baseline, above or below by direction."""
    run = replace(_run(), reference_raw=None, self_reported=True, metric_name="ece", baseline_raw=0.07)
    assert fmt.scale_text(replace(run, direction="minimize")) == (
        "self-reported grading: not tamper-proof. ece (minimize): baseline 0.07; no reference: scores are raw "
        "ece, success = beating the baseline (below 0.07)"
    )
    assert fmt.scale_text(replace(run, direction="maximize", self_reported=False)) == (
        "ece (maximize): baseline 0.07; no reference: scores are raw ece, success = beating the baseline "
        "(above 0.07)"
    )


def test_labels_of_flicker_and_of_an_unknown_metric() -> None:
    assert fmt.metric_label("flicker", 4) == "flicker (pass@4 - pass^4)"
    assert fmt.metric_label("std", 4) == "std"
    assert fmt.metric_label("custom_metric", 4) == "custom_metric"


def test_a_percentage_delta_is_in_points() -> None:
    assert fmt.signed("regression_rate", 0.6) == "+60 pts"
    assert fmt.signed("budget_used", -0.8) == "-80 pts"


def test_value_text_of_a_mean_without_ci_and_of_na_without_reason() -> None:
    m = replace(_metrics(), mean=0.5, mean_ci=(math.nan, math.nan), n_valid=1, n=3)
    assert fmt.value_text(m, "mean") == "0.500 [CI n/a] over 1/3 valid"
    assert fmt.value_text(replace(m, std=math.nan, na_reasons={}), "std") == "n/a"


def test_harness_text_with_several_kinds_and_no_rate() -> None:
    """Kinds are sorted, underscores become spaces, joined by commas; a run with no tries has no rate."""
    h = HarnessReliability(
        tries=4, environment_failures=3, retries=2, excluded=1, by_kind={"oom_kill": 1, "image_pull": 2}
    )
    assert fmt.harness_reliability_text(h) == (
        "4 tries, 3 environment failure(s) (75%): image pull 2, oom kill 1; 2 retried, 1 excluded"
    )
    assert fmt.harness_reliability_text(HarnessReliability(0, 0, 0, 0, {})) == (
        "0 tries, 0 environment failure(s) (n/a); 0 retried, 0 excluded"
    )


def test_perturbations_are_sorted_and_comma_separated() -> None:
    run = replace(_run(), perturbations={"tool_failure_rate": "0.2", "latency_s": "3"})
    entry = ReportEntry(run=run, metrics=compute_metrics(run))
    assert fmt.perturbation_text(entry) == "latency_s=3, tool_failure_rate=0.2"
