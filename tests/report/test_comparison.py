"""Which runs `rgym compare` accepts and how it groups them: each run against the first, with a label and a
warning for every compromise, and a history split into series of comparable runs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gym_core.errors import ConfigError
from gym_core.report.comparison import build_comparison, build_history, labels_for
from gym_core.scoring.metrics import compute_metrics
from gym_core.scoring.run_data import Attempt
from tests.report.test_comparison_render import CHECKSUM, OTHER_CHECKSUM, scored_run


def environment_failure(seed: int) -> Attempt:
    """An attempt that crashed from the environment: excluded from n."""
    return replace(
        scored_run("x", [None]).attempts[0], seed=seed, index=seed, status="crashed", origin="environment"
    )


def test_fewer_than_two_runs_or_a_run_given_twice_are_refused() -> None:
    a, b = scored_run("01A", [1.0, 0.0]), scored_run("01B", [1.0, 1.0])
    with pytest.raises(ConfigError) as info:
        build_comparison([a])
    assert info.value.message == "rgym compare needs at least two runs"
    assert (
        info.value.hint
        == "give RUN_A RUN_B..., or one run with --history for every run of its agent on its task"
    )
    with pytest.raises(ConfigError) as info:
        build_comparison([a, b, b])
    assert (info.value.message, info.value.hint) == ("run 01B is given twice", "pass each RUN_ID once")


@pytest.mark.parametrize("detect", [0.0, -0.1, 1.5])
def test_a_detectable_difference_outside_0_to_1_is_refused(detect: float) -> None:
    with pytest.raises(ConfigError) as info:
        build_comparison([scored_run("01A", [1.0, 0.0]), scored_run("01B", [1.0, 1.0])], detect=detect)
    assert info.value.message == f"--detect {detect:g} must be in (0, 1]"
    assert info.value.hint == "e.g. --detect 0.1"


@pytest.mark.parametrize("detect", [1.0, 0.25])
def test_the_power_notes_plan_for_the_difference_asked_for(detect: float) -> None:
    report = build_comparison([scored_run("01A", [1.0, 0.0]), scored_run("01B", [1.0, 1.0])], detect=detect)
    assert report.detect == detect
    assert [n.delta for n in report.comparisons[0].power] == [detect, detect]


def test_runs_of_another_task_or_version_are_never_compared() -> None:
    a = scored_run("01A", [1.0, 0.0])
    for other, problem in (
        (
            replace(scored_run("01B", [1.0]), task_id="other"),
            "run 01B is of task other, run 01A of task tiny-mean",
        ),
        (
            scored_run("01B", [1.0], version=2),
            "run 01B used tiny-mean v2, run 01A v1: scores of two task versions are not comparable",
        ),
    ):
        with pytest.raises(ConfigError) as info:
            build_comparison([a, scored_run("01C", [1.0]), other], allow_changed_task=True)
        assert info.value.message == f"cannot compare: {problem}"
        assert info.value.hint == (
            "compare runs of one task version; `rgym compare RUN --history` shows each version as its own series"
        )


def test_a_changed_task_folder_is_compared_only_when_allowed_and_then_with_a_warning() -> None:
    a, b = scored_run("01A", [1.0, 0.0]), scored_run("01B", [1.0, 1.0])
    changed = scored_run("01C", [0.0, 0.0], checksum=OTHER_CHECKSUM)
    problem = (
        "run 01C used tiny-mean v1 with checksum sha256:fedcb, run 01A with sha256:01234: the task folder "
        "changed between them"
    )
    for runs in ([a, b, changed], [a, changed, b]):
        with pytest.raises(ConfigError) as info:
            build_comparison(runs)
        assert info.value.message == f"cannot compare: {problem}"
    assert info.value.hint == (
        "re-run both on the same task folder, or pass --allow-changed-task to compare them anyway with a warning"
    )
    report = build_comparison([a, b, changed], allow_changed_task=True)
    assert report.warnings == (f"compared although the task changed: {problem}",)
    assert [c.b_run_id for c in report.comparisons] == ["01B", "01C"]


def test_runs_with_attempts_excluded_as_environment_failures_are_warned_about_in_order() -> None:
    a = replace(
        scored_run("01A", [1.0, 0.0]),
        attempts=(*scored_run("01A", [1.0, 0.0]).attempts, environment_failure(7)),
    )
    b = scored_run("01B", [1.0, 1.0])
    c = replace(
        scored_run("01C", [0.0, 1.0], checksum=OTHER_CHECKSUM),
        attempts=(*scored_run("01C", [0.0, 1.0]).attempts, environment_failure(8), environment_failure(9)),
    )
    report = build_comparison([a, b, c], allow_changed_task=True)
    assert report.warnings[1:] == (
        "run 01A: 1 attempt(s) excluded as environment failures",
        "run 01C: 2 attempt(s) excluded as environment failures",
    )
    assert report.warnings[0].startswith("compared although the task changed: run 01C")


def test_every_run_after_the_first_is_compared_with_the_first_under_its_label() -> None:
    runs = [
        scored_run("01A", [1.0, 0.0]),
        scored_run("01B", [1.0, 1.0], agent="other"),
        scored_run("01C", [0.0, 0.0], perturbations={"z": "1", "a": "x"}),
    ]
    report = build_comparison(runs)
    assert (report.task_id, report.task_version) == ("tiny-mean", 1)
    assert [(r.label, r.title, r.run.run_id) for r in report.runs] == [
        ("A", "tuner", "01A"),
        ("B", "other", "01B"),
        ("C", "tuner [a=x, z=1]", "01C"),
    ]
    assert [r.metrics for r in report.runs] == [compute_metrics(r) for r in runs]
    assert [(c.a_run_id, c.b_run_id) for c in report.comparisons] == [("01A", "01B"), ("01A", "01C")]
    assert report.reference.run.run_id == "01A" and report.run("01C").label == "C"
    assert report.warnings == ()
    labelled = build_comparison(runs, labels=["R1", "R4", "R9"])
    assert [r.label for r in labelled.runs] == ["R1", "R4", "R9"]
    with pytest.raises(ValueError, match=r"^2 labels for 3 runs$"):
        build_comparison(runs, labels=["A", "B"])


def test_labels_run_from_a_to_z_then_number_the_runs() -> None:
    assert labels_for(3) == ["A", "B", "C"]
    assert labels_for(28)[24:] == ["Y", "Z", "R27", "R28"]
    assert labels_for(0) == []


def test_a_history_is_of_one_agent_on_one_task() -> None:
    with pytest.raises(ConfigError, match=r"^no runs for a history$"):
        build_history([])
    runs = [
        scored_run("01A", [1.0]),
        replace(scored_run("01B", [1.0]), task_id="b-task"),
        scored_run("01C", [1.0], agent="zed"),
    ]
    with pytest.raises(ConfigError) as info:
        build_history(runs)
    assert info.value.message == "a history is of one agent on one task"
    assert info.value.hint == "got tasks b-task, tiny-mean and agents tuner, zed"
    for one_task_or_agent in (runs[:2], runs[::2]):
        with pytest.raises(ConfigError) as info:
            build_history(one_task_or_agent)
        assert info.value.message == "a history is of one agent on one task"


def test_a_history_puts_runs_in_order_and_compares_each_with_the_one_before_in_its_series() -> None:
    runs = [
        scored_run("01B", [1.0, 1.0], created_at="2026-01-02T00:00:00"),
        scored_run("01A", [1.0, 0.0], created_at="2026-01-02T00:00:00"),  # same time: by run id
        scored_run("01U", [0.0, 0.0]),  # no time: first
        scored_run("01X", [1.0, 0.0], created_at="2026-01-03T00:00:00", checksum=OTHER_CHECKSUM),
        scored_run("01C", [0.0, 1.0], created_at="2026-01-04T00:00:00"),  # back to the first series
    ]
    history = build_history(runs, detect=0.3)
    assert (history.task_id, history.agent, history.n_runs) == ("tiny-mean", "tuner", 5)
    first, changed = history.series
    assert (first.task_version, first.task_checksum, first.perturbations, first.reason) == (
        1,
        CHECKSUM,
        {},
        None,
    )
    assert [p.run.run_id for p in first.points] == ["01U", "01A", "01B", "01C"]
    assert first.points[0].vs_previous is None
    pairs = [(p.vs_previous.a_run_id, p.vs_previous.b_run_id) for p in first.points[1:] if p.vs_previous]
    assert pairs == [("01U", "01A"), ("01A", "01B"), ("01B", "01C")]
    assert all(n.delta == 0.3 for p in first.points[1:] if p.vs_previous for n in p.vs_previous.power)
    assert [p.metrics for p in first.points] == [compute_metrics(p.run) for p in first.points]
    assert [p.run.run_id for p in changed.points] == ["01X"] and changed.points[0].vs_previous is None
    assert changed.task_checksum == OTHER_CHECKSUM
    assert changed.reason == (
        "task folder changed: checksum sha256:fedcb (was sha256:01234); scores are not comparable across the change"
    )


def test_a_series_apart_says_which_perturbations_set_it_apart() -> None:
    runs = [
        scored_run("01A", [1.0], created_at="2026-01-01", perturbations={"noise": "0.1"}),
        scored_run("01B", [1.0], created_at="2026-01-02", perturbations={"z": "2", "a": "1"}),
        scored_run("01C", [1.0], created_at="2026-01-03"),
    ]
    series = build_history(runs).series
    assert [(s.perturbations, s.reason) for s in series] == [
        ({"noise": "0.1"}, None),
        (
            {"a": "1", "z": "2"},
            "perturbations a=1, z=2: a perturbed run is compared with clean runs by `rgym report`, not here",
        ),
        ({}, "perturbations none: a perturbed run is compared with clean runs by `rgym report`, not here"),
    ]


def test_a_history_of_one_run_is_one_series_of_one_point() -> None:
    history = build_history([scored_run("01A", [1.0, 0.0], agent="solo")])
    assert (history.task_id, history.agent, history.n_runs) == ("tiny-mean", "solo", 1)
    (series,) = history.series
    assert [(p.run.run_id, p.vs_previous) for p in series.points] == [("01A", None)]
