"""Steps the browser journeys share: signing in and out, switching language, checking phone width."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

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
