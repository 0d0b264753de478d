"""The trace viewer in a real headless Chromium: runs -> run -> episode -> steps by keyboard; hostile
outputs stay text."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.server.traces import HOSTILE_OUTPUT, Filled

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/rgym-viewer-episode.png"


def test_browse_a_run_step_by_step_with_the_keyboard(chromium: Any, served: tuple[str, Filled]) -> None:
    from playwright.sync_api import expect

    base, filled = served
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    sign_in(page, base)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(base + "/")
    page.wait_for_selector("table")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert "tiny-mean v1" in rows.nth(1).inner_text() and "completed" in rows.nth(1).inner_text()

    page.click(f"a[title='{filled.run_id}']")
    page.wait_for_selector("#report-link")
    episodes = page.locator("tbody tr")
    assert episodes.count() == 2
    first, second = episodes.nth(0).inner_text(), episodes.nth(1).inner_text()
    assert "submitted" in first and "0.5" in first
    assert "crashed" in second
    assert page.get_attribute("#report-link", "href") == f"/api/runs/{filled.run_id}/report.html"

    page.click(f"a[title='{filled.submitted}']")
    page.wait_for_selector("#indicator")
    assert page.inner_text("#indicator") == "step 1 of 4"
    assert page.inner_text("#action") == "$ python baseline.py"
    assert page.text_content("#output") == "baseline mse 1.0\n"

    page.keyboard.press("j")
    expect(page.locator("#indicator")).to_have_text("step 2 of 4")
    assert page.inner_text("#action") == "$ seq 6000"
    assert "exit code 124" in page.inner_text("#step") and "timed_out" in page.inner_text("#step")
    assert "row 3000" not in page.inner_text("#output")  # the stored copy was cut...
    page.click("#full-output")
    expect(page.locator("#output")).to_contain_text("row 3000")

    page.keyboard.press("ArrowRight")
    expect(page.locator("#indicator")).to_have_text("step 3 of 4")
    assert page.text_content("#output") == HOSTILE_OUTPUT  # shown as text, not markup
    assert page.locator("#output script, #output img, #output b").count() == 0
    assert page.evaluate("window.pwned") is None
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.keyboard.press("j")
    expect(page.locator("#indicator")).to_have_text("step 4 of 4")
    assert "validate: normalized 0.5" in page.inner_text(".eval")
    page.keyboard.press("j")  # past the last step: stays
    assert page.inner_text("#indicator") == "step 4 of 4"
    page.keyboard.press("k")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#indicator")).to_have_text("step 2 of 4")
    assert page.evaluate("window.pwned") is None
    assert errors == []
    page.close()


def test_an_unknown_episode_shows_the_api_error(chromium: Any, served: tuple[str, Filled]) -> None:
    base, _ = served
    page = chromium.new_page()
    sign_in(page, base)
    page.goto(base + "/#/episode/ZZZZZZ")
    page.wait_for_selector("#error")
    assert "no episode id starts with 'ZZZZZZ'" in page.inner_text("#error")
    page.close()


def test_the_html_report_opens(chromium: Any, served: tuple[str, Filled]) -> None:
    base, filled = served
    page = chromium.new_page()
    sign_in(page, base)
    response = page.goto(f"{base}/api/runs/{filled.run_id}/report.html")
    assert response is not None and response.status == 200
    assert "rgym report" in page.inner_text("h1")
    page.close()


def test_the_login_page_swaps_a_token_for_a_cookie(chromium: Any, served: tuple[str, Filled]) -> None:
    from playwright.sync_api import expect

    from tests.browser.conftest import TOKENS

    base, _ = served
    page = chromium.new_page()
    page.goto(base + "/")  # no cookie yet: the static login page
    assert page.url == base + "/login"
    assert page.locator("form").count() == 1 and page.locator("script").count() == 0
    page.fill("#token", "rgym_not-a-real-token")
    page.click("button[type=submit]")
    expect(page.locator("#message")).to_contain_text("not valid")
    page.fill("#token", TOKENS[base])
    page.click("button[type=submit]")
    page.wait_for_selector("table")
    assert page.url == base + "/"
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "rgym_token"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # no script of the page can read the token
