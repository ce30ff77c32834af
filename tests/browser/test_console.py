"""The journeys that matter most, in a real browser: a grid worker and a community worker at work."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "linli-demo"


def url_of(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        pytest.fail(f"URL {name!r} is not routed: the page this journey needs does not exist yet")


def sign_in(page, username: str) -> None:
    page.goto(url_of("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator(".topbar .who")).to_have_text(username)
    expect(page.locator("#id_password")).to_have_count(0)


def sign_out(page) -> None:
    page.click(f"form[action='{url_of('logout')}'] button")
    expect(page.locator("#id_username")).to_be_visible()


def switch_language(page, code: str) -> None:
    page.click(f".prefs button[name=language][value={code}]")
    expect(page.locator("html")).to_have_attribute("lang", code)


def assert_fits_a_phone(page) -> None:
    """At 390 px wide (a phone) the page scrolls down, never sideways."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(size)
    assert width <= 390, f"{page.url} is {width} px wide on a 390 px phone screen"


def test_grid_worker_signs_in_and_switches_language(page, shoot):
    sign_in(page, "grid")
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+" + re.escape(url_of("home")) + "$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    # the console speaks Chinese by default: no English sign-out button
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
    shoot(page, "grid-home-zh")

    switch_language(page, "en")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Welcome")
    shoot(page, "grid-home-en")

    switch_language(page, "zh-hans")
    # the choice is kept per user: a new page load stays in Chinese
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
    sign_out(page)


def test_grid_worker_sees_the_grid_boundaries_on_the_map(page, shoot):
    sign_in(page, "grid")
    page.goto(url_of("places:map"))
    expect(page.locator("#map")).to_be_visible()
    # Leaflet draws each grid boundary as an interactive SVG path, from our own GeoJSON (no tiles)
    expect(page.locator("#map path.leaflet-interactive").first).to_be_attached()
    assert page.locator("#map path.leaflet-interactive").count() >= 1
    shoot(page, "grid-map")
    assert_fits_a_phone(page)
    sign_out(page)


def test_community_worker_sees_masked_ids_and_uses_elder_mode(page, shoot):
    sign_in(page, "community")
    page.goto(url_of("people:resident-list"))
    body = page.locator("main")
    expect(body).to_contain_text("********")
    # a full 18-character ID number never appears on the list
    assert not any(len(w) == 18 and w[:17].isdigit() for w in body.inner_text().split())
    shoot(page, "community-residents")
    assert_fits_a_phone(page)

    page.click("#elder-toggle")
    expect(page.locator("html")).to_have_class("elder")
    shoot(page, "community-residents-elder")
    page.click("#elder-toggle")
    expect(page.locator("html")).not_to_have_class("elder")
    sign_out(page)
