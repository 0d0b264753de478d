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
