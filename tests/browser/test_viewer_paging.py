"""The viewer's episode page pages through a long episode: it fetches one page of steps at a time (the API's
``limit``/``after``), never the whole episode, and stepping across a page boundary loads the next page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from gym_core.store import open_store
from tests.browser.conftest import serving, sign_in
from tests.store.factory import new_run, record_steps

pytestmark = pytest.mark.browser

STEPS = 450  # three pages of 200, the last one short
PAGE = 200


@pytest.fixture
def long_episode(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    with open_store(url) as store:
        episode = store.start_episode(new_run(store), index=0, seed=0)
        record_steps(store, episode, STEPS)
    with serving(url) as base:
        yield base, episode


def test_a_long_episode_is_fetched_a_page_at_a_time(chromium: Any, long_episode: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, episode = long_episode
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    sign_in(page, base)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    step_requests: list[dict[str, list[str]]] = []

    def note(request: Any) -> None:
        parsed = urlparse(request.url)
        if parsed.path.endswith("/steps"):
            step_requests.append(parse_qs(parsed.query))

    page.on("request", note)
    page.goto(f"{base}/#/episode/{episode}/0")
    page.wait_for_selector("#indicator")
    assert page.inner_text("#indicator") == f"step 1 of {STEPS}"
    assert page.locator("#strip a").count() == PAGE
    assert page.inner_text("#action") == "$ echo 0"
    assert step_requests == [{"after": ["-1"], "limit": [str(PAGE)]}]

    # Stepping past the page's last step loads the next page, once.
    page.goto(f"{base}/#/episode/{episode}/{PAGE - 1}")
    expect(page.locator("#indicator")).to_have_text(f"step {PAGE} of {STEPS}")
    page.keyboard.press("j")
    expect(page.locator("#indicator")).to_have_text(f"step {PAGE + 1} of {STEPS}")
    assert page.inner_text("#action") == f"$ echo {PAGE}"
    assert page.locator("#strip a").first.inner_text() == str(PAGE + 1)
    assert step_requests[-1] == {"after": [str(PAGE - 1)], "limit": [str(PAGE)]}
    page.keyboard.press("k")  # back to the first page: already loaded
    expect(page.locator("#indicator")).to_have_text(f"step {PAGE} of {STEPS}")
    assert len(step_requests) == 2

    # The "later steps" link reaches the last, short page; no request ever asked for every step.
    page.goto(f"{base}/#/episode/{episode}/{PAGE}")
    expect(page.locator("#indicator")).to_have_text(f"step {PAGE + 1} of {STEPS}")
    page.click("#later")
    expect(page.locator("#indicator")).to_have_text(f"step {2 * PAGE + 1} of {STEPS}")
    assert page.locator("#strip a").count() == STEPS - 2 * PAGE
    assert page.locator("#later").count() == 0
    assert page.inner_text("#page-range") == f"steps {2 * PAGE + 1}\u2013{STEPS} of {STEPS}"
    assert all("limit" in q for q in step_requests)
    assert len(step_requests) == 3
    assert errors == []
