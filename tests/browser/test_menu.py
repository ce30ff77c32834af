"""The main menu's "More" drop-down (a crowded menu on a desk): it opens and closes as menus do, by mouse and by
keyboard, and stays on the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser


def test_more_opens_closes_and_stays_on_screen(page):
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in(page, "street")  # a street supervisor's menu is crowded: the rest is under 更多
    more = page.locator("details.nav-more")
    panel = more.locator(".nav-more-list")
    expect(panel).to_be_hidden()
    more.locator("summary").click()
    expect(panel).to_be_visible()
    page.mouse.click(700, 600)  # a click elsewhere closes it
    expect(panel).to_be_hidden()
    more.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    page.keyboard.press("Escape")  # Escape closes it and leaves the focus on 更多
    expect(panel).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    links = panel.locator("a")
    for _ in range(links.count() + 1):  # tab through its entries and out of it: it closes behind
        page.keyboard.press("Tab")
    expect(panel).to_be_hidden()
    for width in (760, 1024, 1366):  # wherever 更多 lands on the row, the panel is on the screen
        page.set_viewport_size({"width": width, "height": 800})
        more.locator("summary").click()
        box = panel.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
        more.locator("summary").click()
        expect(panel).to_be_hidden()


def test_in_elder_mode_more_drops_down_over_the_page_on_a_wide_screen(page):
    # opened inside the bar it pushed the page down by hundreds of pixels; on a desk it floats like the other
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in(page, "street")
    page.click("#elder-toggle")
    expect(page.locator("html")).to_have_class("elder")
    try:
        bar = page.locator(".topbar")
        before = bar.bounding_box()["height"]
        page.locator("details.nav-more > summary").click()
        expect(page.locator(".nav-more-list")).to_be_visible()
        assert bar.bounding_box()["height"] == before
        page.keyboard.press("Escape")
        expect(page.locator(".nav-more-list")).to_be_hidden()
    finally:
        page.click("#elder-toggle")  # elder mode is saved on the account: leave it as found
        expect(page.locator("html")).not_to_have_class("elder")
