"""MLGym's performance profiles and AUP, on examples worked out by hand (docs/metrics.md, "Suites")."""

from __future__ import annotations

import math
import re

import pytest

from gym_core.scoring.profile import (
    BASELINE,
    TaskScores,
    _ceil_one_decimal,
    performance_profiles,
    task_ratios,
)


def two_tasks() -> list[TaskScores]:
    return [
        # minimize, baseline 10: a scores 5, b scores 8
        TaskScores("t-min", "minimize", 10.0, {"a": 5.0, "b": 8.0}),
        # maximize, baseline 0.5: a scores 0.6, b has no valid score
        TaskScores("t-max", "maximize", 0.5, {"a": 0.6, "b": None}),
    ]


def test_ratios_by_hand() -> None:
    ratios, worst = task_ratios(two_tasks()[0], ["a", "b"])
    assert ratios == pytest.approx({"a": 1.0, "b": 1.6, BASELINE: 2.0})
    assert worst == pytest.approx(2.0)
    ratios, worst = task_ratios(two_tasks()[1], ["a", "b"])
    # b is infeasible: 1.05 x the worst feasible ratio (the baseline's 0.6 / 0.5 = 1.2)
    assert ratios == pytest.approx({"a": 1.0, BASELINE: 1.2, "b": 1.26})
    assert worst == pytest.approx(1.2)


def test_aup_by_hand() -> None:
    profiles = performance_profiles(two_tasks(), ["a", "b"])
    # tau_max: ceil(2.0 * 1.05) = 3 on t-min, ceil(1.26) = 2 on t-max; log10(3) = 0.477 -> 0.5
    assert profiles.tau_max == pytest.approx(0.5)
    assert profiles.aup["a"] == pytest.approx(0.5)  # best everywhere: the whole [0, 0.5]
    assert profiles.aup["b"] == pytest.approx(((0.5 - math.log10(1.6)) + (0.5 - math.log10(1.26))) / 2)
    assert profiles.aup[BASELINE] == pytest.approx(((0.5 - math.log10(2.0)) + (0.5 - math.log10(1.2))) / 2)
    assert profiles.aup["b"] == pytest.approx(0.347755, abs=1e-6)
    assert profiles.aup[BASELINE] == pytest.approx(0.309894, abs=1e-6)
    assert profiles.profile("b", 0.0) == 0.0
    assert profiles.profile("b", 0.15) == 0.5  # t-max's 1.26 (log 0.100) is within, t-min's 1.6 (0.204) not
    assert profiles.profile("a", 0.0) == 1.0


def test_aup_equals_mlgyms_grid_sum_up_to_the_grid_step() -> None:
    profiles = performance_profiles(two_tasks(), ["a", "b"])
    taus = [profiles.tau_max * i / 499 for i in range(500)]
    for method in ("a", "b", BASELINE):
        grid = sum((taus[i + 1] - taus[i]) * profiles.profile(method, taus[i]) for i in range(499))
        assert grid <= profiles.aup[method] + 1e-12
        assert profiles.aup[method] - grid <= profiles.tau_max / 499 + 1e-12


def test_scores_worse_than_the_baseline_or_negative_are_infeasible() -> None:
    task = TaskScores("t", "maximize", 2.0, {"worse": 1.0, "negative": -3.0, "good": 4.0})
    ratios, worst = task_ratios(task, ["worse", "negative", "good"])
    assert worst == pytest.approx(2.0)  # the baseline: 4 / 2
    assert ratios["worse"] == ratios["negative"] == pytest.approx(2.1)


def test_a_perfect_zero_on_a_minimized_metric_is_left_out_with_the_reason() -> None:
    tasks = [*two_tasks(), TaskScores("t-zero", "minimize", 5.0, {"a": 0.0, "b": 1.0})]
    profiles = performance_profiles(tasks, ["a", "b"])
    assert set(profiles.ratios) == {"t-min", "t-max"}
    assert "best score is 0" in profiles.skipped["t-zero"]
    assert profiles.aup["a"] == pytest.approx(0.5)


def test_the_baseline_name_is_reserved() -> None:
    with pytest.raises(ValueError, match="reserved"):
        performance_profiles(two_tasks(), [BASELINE])


# --- edge cases worked out by hand (each kills a mutant of profile.py that the tests above let through) ---


def test_an_infinite_or_negative_score_is_infeasible() -> None:
    ratios, worst = task_ratios(TaskScores("t", "maximize", 1.0, {"a": 2.0, "inf": math.inf}), ["a", "inf"])
    assert ratios == pytest.approx({"a": 1.0, BASELINE: 2.0, "inf": 2.1})
    assert worst == pytest.approx(2.0)
    # Negative on a minimized metric: "better" than the baseline, yet infeasible.
    ratios, worst = task_ratios(TaskScores("t", "minimize", 10.0, {"a": 5.0, "neg": -1.0}), ["a", "neg"])
    assert ratios == pytest.approx({"a": 1.0, BASELINE: 2.0, "neg": 2.1})


def test_scores_below_one_and_a_zero_baseline_have_ratios() -> None:
    ratios, worst = task_ratios(TaskScores("t", "minimize", 0.8, {"a": 0.4}), ["a"])
    assert (ratios, worst) == (pytest.approx({"a": 1.0, BASELINE: 2.0}), pytest.approx(2.0))
    # A baseline of 0 on a maximized metric is feasible but has no ratio: it is placed past the worst.
    ratios, worst = task_ratios(TaskScores("t", "maximize", 0.0, {"a": 2.0}), ["a"])
    assert (ratios, worst) == (pytest.approx({"a": 1.0, BASELINE: 1.05}), pytest.approx(1.0))


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            TaskScores("t", "maximize", -1.0, {"a": 1.0}),
            "its baseline score -1 is negative; ratios need positive scores",
        ),
        (
            TaskScores("t", "minimize", 5.0, {"a": 0.0}),
            "the best score is 0 on a minimized metric; ratios to it are undefined",
        ),
        (
            TaskScores("t", "maximize", 0.0, {"a": 0.0}),
            "the best score is 0 on a maximized metric; ratios to it are undefined",
        ),
    ],
)
def test_tasks_without_ratios_say_why(task: TaskScores, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        task_ratios(task, ["a"])


def test_tau_max_is_rounded_up_to_one_decimal() -> None:
    # worst ratio 1.2 (the baseline), ceil(1.26) = 2, log10(2) = 0.301 -> 0.4
    profiles = performance_profiles([TaskScores("t", "maximize", 0.5, {"a": 0.6})], ["a"])
    assert profiles.methods == ("a", BASELINE)
    assert profiles.tau_max == pytest.approx(0.4)
    assert profiles.aup == pytest.approx({"a": 0.4, BASELINE: 0.4 - math.log10(1.2)})


def test_tau_max_ignores_float_noise_above_a_tenth_but_not_more() -> None:
    # Float noise must not add a tenth: within 5e-11 of a tenth is that tenth, beyond it rounds up.
    assert _ceil_one_decimal(0.30000000002) == pytest.approx(0.3)
    assert _ceil_one_decimal(0.1 + 0.2) == pytest.approx(0.3)
    assert _ceil_one_decimal(0.300000002) == pytest.approx(0.4)


def test_the_worst_ratio_ignores_float_noise_above_an_integer() -> None:
    # ratio 2 (the baseline), 2 * (1 + epsilon) lands 4e-13 above 3: ceil gives 3, not 4, so tau_max is
    # log10(3) -> 0.5 and not log10(4) -> 0.7.
    task = TaskScores("t", "maximize", 0.5, {"a": 1.0})
    assert performance_profiles([task], ["a"], epsilon=0.5 + 2e-13).tau_max == pytest.approx(0.5)
    assert performance_profiles([task], ["a"], epsilon=0.5 + 2e-11).tau_max == pytest.approx(0.7)


def test_epsilon_is_passed_on() -> None:
    profiles = performance_profiles(two_tasks(), ["a", "b"], epsilon=0.1)
    assert profiles.ratios["t-max"]["b"] == pytest.approx(1.32)  # 1.1 x the baseline's 1.2


def test_a_skipped_task_does_not_stop_the_others() -> None:
    tasks = [TaskScores("t-zero", "minimize", 5.0, {"a": 0.0, "b": 1.0}), *two_tasks()]
    profiles = performance_profiles(tasks, ["a", "b"])
    assert set(profiles.ratios) == {"t-min", "t-max"}
    assert set(profiles.skipped) == {"t-zero"}


def test_no_task_profiled_gives_nan_with_the_reasons() -> None:
    profiles = performance_profiles([TaskScores("t-zero", "minimize", 5.0, {"a": 0.0})], ["a", "b"])
    assert profiles.methods == ("a", "b", BASELINE)
    assert profiles.ratios == {}
    assert math.isnan(profiles.tau_max)
    assert set(profiles.aup) == {"a", "b", BASELINE}
    assert all(math.isnan(v) for v in profiles.aup.values())
    assert profiles.skipped == {
        "t-zero": "the best score is 0 on a minimized metric; ratios to it are undefined"
    }
    assert math.isnan(profiles.profile("a", 0.5))
