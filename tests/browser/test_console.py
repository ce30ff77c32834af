"""The journeys that matter most, in a real browser: a grid worker and a community worker at work."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from steps import assert_fits_a_phone, sign_in, sign_out, switch_language, url_of

pytestmark = pytest.mark.browser


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
