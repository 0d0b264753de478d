"""What evaluators need from the viewer, in a real headless Chromium: status colours that follow the
attempts, metric columns, whole tracebacks, each output once, raw invalid actions, marked error steps,
and the compare and history pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.server.viewer_cases import GRADER_EXTRA, VERDICT, Cases

pytestmark = pytest.mark.browser

RED = "rgb(207, 34, 46)"
GREEN = "rgb(26, 127, 55)"


def _page(chromium: Any, errors: list[str], base: str) -> Any:
    page = chromium.new_page(viewport={"width": 1300, "height": 900})
    sign_in(page, base)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page


def _colour(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).color"))


def test_runs_list_colours_status_by_the_attempts_and_shows_the_metrics(
    chromium: Any, served_cases: tuple[str, Cases]
) -> None:
    base, cases = served_cases
    errors: list[str] = []
    page = _page(chromium, errors, base)
    page.goto(base + "/")
    page.wait_for_selector("table")
    headers = page.locator("thead th").all_inner_texts()
    assert headers[4:11] == ["status", "n/K", "c", "pass@K", "pass^K", "flicker", "mean"]
    crashed = f"tr[data-run='{cases.all_crashed}']"
    assert page.inner_text(f"{crashed} .status") == "completed (all 3 crashed)"
    assert _colour(page, f"{crashed} .status") == RED  # "completed", but every attempt crashed
    tuned = f"tr[data-run='{cases.tuned}']"
    assert _colour(page, f"{tuned} .status") == GREEN
    cells = page.locator(f"{tuned} td").all_inner_texts()
    assert cells[5:11] == ["6/6", "6", "1.000", "1.000", "0.000", "1.000"]
    page.click(f"a[title='{cases.all_crashed}']")
    page.wait_for_selector("#run-metrics")
    assert _colour(page, "main .status") == RED
    assert "n/K 3/3 · c 0" in page.inner_text("#run-metrics")
    assert errors == []
    page.close()


def test_a_crashed_attempt_shows_its_whole_traceback(chromium: Any, served_cases: tuple[str, Cases]) -> None:
    base, cases = served_cases
    errors: list[str] = []
    page = _page(chromium, errors, base)
    page.goto(base + f"/#/run/{cases.all_crashed}")
    page.wait_for_selector("tbody tr")
    page.locator("tbody tr a").first.click()
    page.wait_for_selector("#episode-error")
    text = page.inner_text("#episode-error")
    assert text.splitlines() == [
        "crashed: Traceback (most recent call last):",
        '  File "agent.py", line 3, in act',
        "    1 / 0",
        "ZeroDivisionError: division by zero",
    ]
    assert errors == []
    page.close()


def test_steps_show_raw_invalid_actions_one_output_each_and_marked_errors(
    chromium: Any, served_cases: tuple[str, Cases]
) -> None:
    base, cases = served_cases
    errors: list[str] = []
    page = _page(chromium, errors, base)
    page.goto(base + f"/#/episode/{cases.episode}/0")
    page.wait_for_selector("#strip")
    assert page.inner_text("#action") == 'invalid action: {"tool":"bash"}'
    assert _colour(page, "#action") == RED
    strip = page.locator("#strip a")
    classes = [strip.nth(i).get_attribute("class") or "" for i in range(strip.count())]
    marks = [("error" in c.split()) for c in classes], [("nonzero" in c.split()) for c in classes]
    assert marks == ([True, True, True, False, False, False], [False, False, False, True, False, False])
    assert "[timed out]" in (strip.nth(2).get_attribute("title") or "")
    assert "[exit code 1]" in (strip.nth(3).get_attribute("title") or "")

    page.goto(base + f"/#/episode/{cases.episode}/1")
    page.wait_for_function("document.querySelector('#indicator').textContent === 'step 2 of 6'")
    assert page.inner_text("#action") == "invalid action: not json {"

    page.goto(base + f"/#/episode/{cases.episode}/4")
    page.wait_for_function("document.querySelector('#indicator').textContent === 'step 5 of 6'")
    card = page.text_content("#step") or ""
    assert card.count(VERDICT) == 1  # what the agent saw, once
    assert card.count(GRADER_EXTRA) == 1  # what only evaluators see, once
    assert "validate: normalized 0.8 · raw 1 (valid)" in page.inner_text(".eval")
    assert errors == []
    page.close()


def test_compare_selected_runs_and_open_a_history(chromium: Any, served_cases: tuple[str, Cases]) -> None:
    base, cases = served_cases
    errors: list[str] = []
    page = _page(chromium, errors, base)
    page.goto(base + "/")
    page.wait_for_selector("table")
    assert page.is_disabled("#compare-selected")
    page.check(f"input.pick[value='{cases.base}']")
    page.check(f"input.pick[value='{cases.tuned}']")
    page.click("#compare-selected")
    page.wait_for_selector(".headline")
    headline = page.inner_text(".headline")
    assert headline.startswith("B (tuner:4) vs A (baseline): better: success rate 0.000 -> 1.000")
    assert "better" in (page.get_attribute(".headline", "class") or "")
    row = page.locator("tr[data-metric='success_rate'] td").all_inner_texts()
    assert row == ["success rate (pass@1)", "0.000", "1.000", "+1.000", "[+1.000, +1.000]", "0.031", "better"]
    assert (
        page.get_attribute("#compare-html", "href") == f"/api/compare.html?run={cases.base}&run={cases.tuned}"
    )

    page.goto(base + f"/#/compare/{cases.base}")
    page.wait_for_selector("#error")
    assert "rgym compare needs at least two runs" in page.inner_text("#error")
    assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    errors.clear()  # that 400 was the point

    page.goto(base + f"/#/run/{cases.tuned}")
    page.wait_for_selector("#history-link")
    page.click("#history-link")
    page.wait_for_selector("h2")
    assert page.inner_text("h1") == "History: tuner:4 on tiny-mean"
    assert cases.tuned in page.inner_text("main table")
    assert errors == []
    page.close()
