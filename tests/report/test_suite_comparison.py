"""`rgym compare SUITE_RUN_A SUITE_RUN_B...` independent of its format: which tasks are paired, which are left
out and why, the warnings, and the per-suite-run summary and counts, on hand-made runs whose verdicts are known.

Suite run A (agent ``base``, suite ``core``) fails ``t-better``, succeeds on ``t-worse`` and half the time on
``t-same`` (run twice: the newer run is compared). B (agent ``tuner``, same suite, interrupted) does the
opposite on the first two, as A on ``t-same``, ran ``t-version`` on another task version and ``t-changed`` on a
changed task folder, and recorded no run of ``t-gone``. C (suite ``other``) ran ``t-better`` and ``t-extra``,
which A's suite does not have.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gym_core.errors import ConfigError
from gym_core.report.suite import SuiteRunData
from gym_core.report.suite_comparison import SuiteComparison, SummaryRow, UnpairedTask, build_suite_comparison
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData
from gym_core.store.records import SuiteRunPublic

CHECKSUM = "sha256:0123456789abcdef0123"
OTHER_CHECKSUM = "sha256:fedcba9876543210fedc"
HALF, PASS, FAIL = [1.0, 0.0] * 6, [1.0] * 12, [0.0] * 12


def _attempt(seed: int, final: float) -> Attempt:
    return Attempt(
        episode_id=f"ep-{seed}",
        index=seed,
        seed=seed,
        status="submitted",
        failure_kind=None,
        final_raw=None,
        final_normalized=final,
        succeeded=final >= 0.5,
        evaluations=(EvalPoint(step_index=2, t_s=2.0, kind="submit", raw=None, normalized=final),),
        wall_time_s=10.0,
        wall_budget_s=100.0,
        steps=3,
    )


def task_run(
    run_id: str, task_id: str, finals: list[float], *, version: int = 1, checksum: str = CHECKSUM
) -> RunData:
    """A run of ``task_id`` whose attempt i (seed i) ends with ``finals[i]`` (success at 0.5 or more)."""
    return RunData(
        run_id=run_id,
        task_id=task_id,
        task_version=version,
        task_checksum=checksum,
        agent="x",
        metric_name="abs_error",
        direction="minimize",
        baseline_raw=5.0,
        reference_raw=0.0,
        success_threshold=0.5,
        k=len(finals),
        perturbations={},
        attempts=tuple(_attempt(i, f) for i, f in enumerate(finals)),
    )


def suite_run(
    suite_run_id: str,
    runs: list[RunData],
    tasks: list[str],
    *,
    suite: str = "core",
    agent: str = "base",
    status: str = "completed",
) -> SuiteRunData:
    record = SuiteRunPublic(
        id=suite_run_id,
        suite=suite,
        tasks=tasks,
        agent=agent,
        config={},
        k=12,
        status=status,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        finished_at=None,
    )
    return SuiteRunData(suite_run=record, runs=tuple(runs))


CORE = ["t-better", "t-worse", "t-same", "t-version", "t-changed", "t-gone"]


def three_suite_runs() -> list[SuiteRunData]:
    a = suite_run(
        "SRA",
        [
            task_run("a1", "t-better", FAIL),
            task_run("a2", "t-worse", PASS),
            task_run("a3-old", "t-same", FAIL),
            task_run("a3", "t-same", HALF),
            task_run("a4", "t-version", HALF),
            task_run("a5", "t-changed", HALF),
            task_run("a6", "t-gone", HALF),
        ],
        CORE,
    )
    b = suite_run(
        "SRB",
        [
            task_run("b1", "t-better", PASS),
            task_run("b2", "t-worse", FAIL),
            task_run("b3", "t-same", HALF),
            task_run("b4", "t-version", HALF, version=2),
            task_run("b5", "t-changed", HALF, checksum=OTHER_CHECKSUM),
        ],
        CORE,
        agent="tuner",
        status="interrupted",
    )
    c = suite_run(
        "SRC",
        [task_run("c1", "t-better", HALF), task_run("c2", "t-extra", HALF)],
        ["t-better", "t-extra"],
        suite="other",
        agent="cc",
    )
    return [a, b, c]


def build(**kwargs: bool | float) -> SuiteComparison:
    return build_suite_comparison(three_suite_runs(), **kwargs)  # type: ignore[arg-type]


VERSION_REASON = "run b4 used t-version v2, run a4 v1: scores of two task versions are not comparable"
CHANGED_PROBLEM = (
    "run b5 used t-changed v1 with checksum sha256:fedcb, run a5 with sha256:01234: the task folder changed "
    "between them"
)


def test_tasks_are_paired_by_id_and_the_others_listed_with_their_reason() -> None:
    """Every task any suite run has is in the order (A's first), compared where runs pair, else unpaired."""
    report = build()
    assert [s.label for s in report.suite_runs] == ["A", "B", "C"]
    assert report.reference.suite_run.id == "SRA"
    assert report.suite_run("C").suite_run.id == "SRC"
    assert report.suite_runs[0].title == "base on suite core"
    assert report.order == (*CORE, "t-extra")
    assert report.detect == 0.1
    assert [t.task_id for t in report.tasks] == ["t-better", "t-worse", "t-same"]
    assert [r.run.run_id for r in report.tasks[0].report.runs] == ["a1", "b1", "c1"]
    assert [r.run.run_id for r in report.tasks[2].report.runs] == ["a3", "b3"]
    assert report.reference.runs["t-same"].run_id == "a3"
    assert [(u.task_id, u.label, u.reason, u.run_ids) for u in report.unpaired] == [
        ("t-worse", "C", "C ran suite other, which has no task t-worse", ("a2",)),
        ("t-same", "C", "C ran suite other, which has no task t-same", ("a3",)),
        ("t-version", "B", VERSION_REASON, ("a4", "b4")),
        ("t-version", "C", "C ran suite other, which has no task t-version", ("a4",)),
        (
            "t-changed",
            "B",
            CHANGED_PROBLEM + " (--allow-changed-task compares it anyway, with a warning)",
            ("a5", "b5"),
        ),
        ("t-changed", "C", "C ran suite other, which has no task t-changed", ("a5",)),
        ("t-gone", "B", "suite run B is interrupted and recorded no run of t-gone", ("a6",)),
        ("t-gone", "C", "C ran suite other, which has no task t-gone", ("a6",)),
        (
            "t-extra",
            "C",
            "A ran suite core, which has no task t-extra (every suite run is compared with A)",
            ("c2",),
        ),
    ]
    assert report.warnings == (
        "suite run A has more than one run of t-same: the newest, a3, is compared (not a3-old)",
        "C ran suite other and A suite core: only the tasks both ran are compared",
    )


def test_summary_rows_and_counts_of_each_suite_run_against_a() -> None:
    report = build()
    summary = report.summary("B")
    assert [(r.task_id, r.verdict, r.comparison.a_run_id, r.comparison.b_run_id) for r in summary] == [
        ("t-better", "better", "a1", "b1"),
        ("t-worse", "worse", "a2", "b2"),
        ("t-same", "no detectable difference", "a3", "b3"),
    ]
    assert all(r.report is report.tasks[i].report for i, r in enumerate(summary))
    assert [(r.task_id, r.comparison.b_run_id) for r in report.summary("C")] == [("t-better", "c1")]
    assert [u.task_id for u in report.unpaired_of("B")] == ["t-version", "t-changed", "t-gone"]
    rows = report.rows("B")
    assert [(type(r).__name__, r.task_id) for r in rows] == [
        ("SummaryRow", "t-better"),
        ("SummaryRow", "t-worse"),
        ("SummaryRow", "t-same"),
        ("UnpairedTask", "t-version"),
        ("UnpairedTask", "t-changed"),
        ("UnpairedTask", "t-gone"),
    ]
    assert [r.task_id for r in report.rows("C")] == [*CORE[:6], "t-extra"]
    assert isinstance(report.rows("C")[0], SummaryRow) and isinstance(report.rows("C")[1], UnpairedTask)
    assert report.counts("B") == {
        "better": 1,
        "worse": 1,
        "no detectable difference": 1,
        "not estimable": 0,
        "not compared": 3,
    }
    assert report.counts("C") == {
        "better": 1,
        "worse": 0,
        "no detectable difference": 0,
        "not estimable": 0,
        "not compared": 6,
    }
    assert [(r.task_id, r.comparison.b_run_id) for r in report.worse] == [("t-worse", "b2")]


def test_allow_changed_task_compares_a_changed_folder_but_never_another_version() -> None:
    report = build(allow_changed_task=True, detect=0.25)
    assert report.detect == 0.25
    assert [t.report.detect for t in report.tasks] == [0.25] * 4
    assert [t.task_id for t in report.tasks] == ["t-better", "t-worse", "t-same", "t-changed"]
    assert [(u.task_id, u.reason) for u in report.unpaired_of("B")] == [
        ("t-version", VERSION_REASON),
        ("t-gone", "suite run B is interrupted and recorded no run of t-gone"),
    ]
    assert report.counts("B")["not compared"] == 2
    assert report.warnings[2:] == (f"t-changed: compared although the task changed: {CHANGED_PROBLEM}",)


def test_a_completed_suite_run_without_a_run_of_a_task_says_so() -> None:
    a = suite_run("SRA", [task_run("a1", "t-better", FAIL), task_run("a2", "t-worse", PASS)], CORE[:2])
    b = suite_run("SRB", [task_run("b1", "t-better", PASS)], CORE[:2])
    report = build_suite_comparison([a, b])
    assert [(u.task_id, u.reason, u.run_ids) for u in report.unpaired] == [
        ("t-worse", "suite run B recorded no run of t-worse", ("a2",))
    ]
    assert report.warnings == ()


def test_suite_runs_that_cannot_be_compared_are_refused_with_a_hint() -> None:
    a, b, c = three_suite_runs()
    with pytest.raises(ConfigError) as one:
        build_suite_comparison([a])
    assert one.value.args[0] == "rgym compare needs at least two suite runs"
    assert one.value.hint == "give SUITE_RUN_A SUITE_RUN_B...; `rgym runs --suites` lists them"
    with pytest.raises(ConfigError) as twice:
        build_suite_comparison([a, b, a])
    assert twice.value.args[0] == "suite run SRA is given twice"
    assert twice.value.hint == "pass each SUITE_RUN id once"
    x = suite_run("SRX", [task_run(f"x{i}", f"u{i}", HALF) for i in range(4)], [f"u{i}" for i in range(4)])
    for detect in (0.0, 1.5, -0.1):
        # checked before any task: even suite runs with no task in common get this error
        with pytest.raises(ConfigError) as bad:
            build_suite_comparison([c, x], detect=detect)
        assert bad.value.args[0] == f"--detect {detect:g} must be in (0, 1]"
        assert bad.value.hint == "e.g. --detect 0.1"
    assert build_suite_comparison([a, b], detect=1.0).detect == 1.0
    with pytest.raises(ConfigError) as none:
        build_suite_comparison([c, x])
    assert none.value.args[0] == "no task of these suite runs can be compared with suite run A's"
    assert none.value.hint == (
        "t-better: B ran suite core, which has no task t-better; t-extra: B ran suite core, which has no task "
        "t-extra; u0: A ran suite other, which has no task u0 (every suite run is compared with A); ..."
    )
    y = suite_run("SRY", [task_run("y0", "u0", HALF)], ["u0"])
    with pytest.raises(ConfigError) as few:
        build_suite_comparison([y, suite_run("SRZ", [task_run("z0", "u0", HALF, version=2)], ["u0"])])
    assert (
        few.value.hint == "u0: run z0 used u0 v2, run y0 v1: scores of two task versions are not comparable"
    )
    for count, more in ((3, ""), (4, "; ...")):  # the hint names three reasons, and says when there are more
        tasks = [f"u{i}" for i in range(count)]
        y = suite_run("SRY", [task_run(f"y{i}", t, HALF) for i, t in enumerate(tasks)], tasks)
        z = suite_run("SRZ", [], tasks)
        with pytest.raises(ConfigError) as some:
            build_suite_comparison([y, z])
        assert (
            some.value.hint
            == "; ".join(f"u{i}: suite run B recorded no run of u{i}" for i in range(3)) + more
        )


def test_counts_add_up_the_tasks_of_each_verdict() -> None:
    a = suite_run("SRA", [task_run("a1", "t1", FAIL), task_run("a2", "t2", FAIL)], ["t1", "t2"])
    b = suite_run("SRB", [task_run("b1", "t1", PASS), task_run("b2", "t2", PASS)], ["t1", "t2"])
    report = build_suite_comparison([a, b])
    assert report.counts("B") == {
        "better": 2,
        "worse": 0,
        "no detectable difference": 0,
        "not estimable": 0,
        "not compared": 0,
    }
    assert report.worse == []
    assert build_suite_comparison([b, a]).counts("B")["worse"] == 2
    c = suite_run("SRC", [task_run("c2", "t2", PASS)], ["t1", "t2"])
    three = build_suite_comparison([a, suite_run("SRB", [task_run("b1", "t1", PASS)], ["t1", "t2"]), c])
    assert [[(r.label, r.run.run_id) for r in t.report.runs] for t in three.tasks] == [
        [("A", "a1"), ("B", "b1")],
        [("A", "a2"), ("C", "c2")],
    ]
    other = suite_run("SRO", [task_run("o1", "t1", PASS)], ["t1"], suite="other")
    assert build_suite_comparison([a, other]).warnings == (
        "B ran suite other and A suite core: only the tasks both ran are compared",
    )
