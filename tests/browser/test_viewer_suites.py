"""The viewer's runs list names each run's suite run, and a suite run's link lists only its runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.store import open_store
from tests.browser.conftest import serving, sign_in
from tests.cli.recorded import record_run

pytestmark = pytest.mark.browser


@pytest.fixture
def served_suite(tmp_path: Path) -> Iterator[tuple[str, str, list[str], str]]:
    url = f"sqlite:///{tmp_path / 'suites.db'}"
    with open_store(url) as store:
        suite_run = store.create_suite_run(
            suite="core", tasks=["tiny-mean", "guess-target"], agent="tuner", config={}, k=2
        )
        members = [
            record_run(store, [1.0, 0.0], agent="tuner", task_id=task, suite_run_id=suite_run)
            for task in ("tiny-mean", "guess-target")
        ]
        alone = record_run(store, [1.0, 1.0], agent="tuner")
    with serving(url) as base:
        yield base, suite_run, members, alone


def test_the_runs_list_links_each_run_to_its_suite_run(
    chromium: Any, served_suite: tuple[str, str, list[str], str]
) -> None:
    base, suite_run, members, alone = served_suite
    errors: list[str] = []
    page = chromium.new_page(viewport={"width": 1500, "height": 900})
    sign_in(page, base)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.wait_for_selector("table")
    assert page.locator("thead th").all_inner_texts()[-1] == "suite run"
    for run in members:
        assert page.inner_text(f"tr[data-run='{run}'] a.suite") == suite_run  # the whole id
    assert page.locator(f"tr[data-run='{alone}'] a.suite").count() == 0
    assert (
        page.locator(f"tr[data-run='{alone}'] td").all_inner_texts()[-1] == "\u2013"
    )  # an en dash: no suite run

    page.click(f"tr[data-run='{members[0]}'] a.suite")
    page.wait_for_selector("h1:has-text('suite run')")
    assert suite_run in page.inner_text("h1")
    shown = sorted(page.eval_on_selector_all("tr[data-run]", "rows => rows.map(r => r.dataset.run)"))
    assert shown == sorted(members)
    page.click("#crumbs a")  # back to every run
    page.wait_for_selector(f"tr[data-run='{alone}']")
    assert errors == []
    page.close()


@pytest.fixture
def two_suite_runs(tmp_path: Path) -> Iterator[tuple[str, str, str, dict[str, str], dict[str, str]]]:
    """Suite runs A (baseline) and B (tuner) of two tasks: B is better on tiny-mean, worse on guess-target."""
    url = f"sqlite:///{tmp_path / 'two-suites.db'}"
    fail, win = [0.0] * 6, [1.0] * 6
    with open_store(url) as store:
        ids, runs = [], []
        for agent, finals in (
            ("baseline", {"tiny-mean": fail, "guess-target": win}),
            ("tuner", {"tiny-mean": win, "guess-target": fail}),
        ):
            suite_run = store.create_suite_run(suite="core", tasks=list(finals), agent=agent, config={}, k=6)
            runs.append(
                {
                    task: record_run(store, scores, agent=agent, task_id=task, suite_run_id=suite_run)
                    for task, scores in finals.items()
                }
            )
            store.finish_suite_run(suite_run, status="completed")
            ids.append(suite_run)
    with serving(url) as base:
        yield base, ids[0], ids[1], runs[0], runs[1]


def test_two_suite_runs_are_picked_and_compared_task_by_task(
    chromium: Any, two_suite_runs: tuple[str, str, str, dict[str, str], dict[str, str]]
) -> None:
    base, a, b, a_runs, b_runs = two_suite_runs
    errors: list[str] = []
    page = chromium.new_page(viewport={"width": 1500, "height": 900})
    sign_in(page, base)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.wait_for_selector("#suites-link")
    page.click("#suites-link")
    page.wait_for_selector("tr[data-suite-run]")
    shown = page.eval_on_selector_all("tr[data-suite-run]", "rows => rows.map(r => r.dataset.suiteRun)")
    assert shown == [b, a]  # newest first, whole ids
    assert page.is_disabled("#compare-suites-selected")
    page.check(f"tr[data-suite-run='{a}'] input.pick")  # ticked first: the one compared against
    assert page.is_disabled("#compare-suites-selected")
    page.check(f"tr[data-suite-run='{b}'] input.pick")
    page.click("#compare-suites-selected")
    page.wait_for_selector("tr[data-task]")
    assert page.url.endswith(f"#/compare-suites/{a},{b}")
    cells = {
        task: page.locator(f"tr[data-task='{task}'] td").all_inner_texts()
        for task in ("tiny-mean", "guess-target")
    }
    # success rate A, success rate B, the difference, the verdict: B against A
    assert cells["tiny-mean"][1:5] == ["0.000", "1.000", "+1.000", "better"]
    assert cells["guess-target"][1:5] == ["1.000", "0.000", "-1.000", "worse"]
    assert page.inner_text("p[data-counts]") == "1 better · 1 worse"
    assert f"suite_run={a}&suite_run={b}" in page.get_attribute("#compare-suites-html", "href")
    # each task's row opens the comparison of its two runs
    page.click("tr[data-task='tiny-mean'] a")
    page.wait_for_selector("h1:has-text('Compare: tiny-mean')")
    assert page.url.endswith(f"#/compare/{a_runs['tiny-mean']},{b_runs['tiny-mean']}")
    assert errors == []
    page.close()
