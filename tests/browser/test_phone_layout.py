"""Pages read on a phone: a resident's history stacks its rows instead of scrolling sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.steps import assert_fits_a_phone, sign_in, url_of

pytestmark = pytest.mark.browser


def test_a_resident_s_history_stacks_on_a_phone(page, shoot):
    sign_in(page, "community")
    page.goto(url_of("people:resident-list"))
    page.locator("table a[href*='/residents/']").first.click()
    history = page.locator("section.history table")
    expect(history).to_be_visible()
    wrap = page.locator("section.history .table-wrap")

    def sideways() -> int:
        return wrap.evaluate("el => el.scrollWidth - el.clientWidth")

    assert page.locator("section.history thead").is_visible()  # a table on a desktop
    page.set_viewport_size({"width": 390, "height": 844})
    assert sideways() <= 0, "the history table scrolls sideways on a phone"
    assert not page.locator("section.history thead").is_visible()
    cell = page.locator("section.history td[data-label]").first
    label = cell.evaluate("el => getComputedStyle(el, '::before').content")
    assert label.strip('"') == "时间"  # each cell names its column
    assert_fits_a_phone(page)
    shoot(page, "resident-history")
