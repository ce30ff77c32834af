"""The home dashboard, the navigation and elder mode."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from linli.web.dashboard import cards_for, quick_links_for
from linli.web.nav import nav_for

pytestmark = pytest.mark.django_db


def counts(user) -> dict[str, int]:
    return {card.key: card.count for card in cards_for(user)}


def html_class(response) -> str:
    match = re.search(r'<html[^>]*class="([^"]*)"', response.content.decode())
    assert match is not None
    return match.group(1)


def test_grid_worker_counts_own_grid(world):
    assert counts(world.users["grid"]) == {
        "residents": 2,
        "elderly": 1,
        "care": 1,
        "households": 2,
        "houses": 2,
        "buildings": 1,
        "grids": 1,
        "organizations": 1,
    }


def test_street_counts_never_include_the_other_street(world):
    c = counts(world.users["street"])
    assert (c["residents"], c["elderly"], c["households"], c["houses"], c["grids"]) == (6, 3, 6, 6, 3)
    c = counts(world.users["street_b"])
    assert (c["residents"], c["households"], c["grids"]) == (2, 2, 1)


def test_roles_without_data_get_no_cards(world, client_for):
    assert cards_for(world.users["nobody"]) == []
    assert cards_for(world.users["auditor"]) == []
    assert "residents" not in counts(world.users["admin"])  # places only, no personal data
    r = client_for("nobody").get(reverse("home"))
    assert r.status_code == 200 and r.context["cards"] == []
    body = r.content.decode()
    assert 'class="empty"' in body and 'id="work-links"' not in body  # no role: ask for one


def test_a_role_without_cards_is_shown_its_pages_not_told_it_has_no_role(world, client_for):
    # an auditor holds a role whose work is not counted on cards: the home page lists its pages instead
    body = client_for("auditor").get(reverse("home")).content.decode()
    assert 'id="work-links"' in body and 'class="empty"' not in body
    assert f'href="{reverse("accounts:audit-list")}"' in body.split('id="work-links"')[1]


def test_home_renders_cards_with_labels_and_links(world, client_for):
    r = client_for("grid").get(reverse("home"))
    body = r.content.decode()
    assert 'data-card="houses"' in body and f'href="{reverse("places:house-list")}"' in body
    assert reverse("places:grid-mobile") in body  # the phone view is one tap from home


def test_phone_view_link_is_for_grid_workers(world):
    assert "places:grid-mobile" in [link["name"] for link in quick_links_for(world.users["grid"])]
    assert "places:grid-mobile" not in [link["name"] for link in quick_links_for(world.users["street"])]
    assert "places:grid-mobile" in [item["name"] for item in nav_for(world.users["grid"])]
    assert quick_links_for(world.users["nobody"]) == []


def test_nav_follows_permissions(world):
    names = [item["name"] for item in nav_for(world.users["grid"])]
    assert names[0] == "home" and "places:map" in names and "places:house-list" in names
    assert [item["name"] for item in nav_for(world.users["nobody"])] == [
        "home",
        "notifications:inbox",
        "accounts:profile",
    ]
    assert "accounts:role-list" in [item["name"] for item in nav_for(world.users["secadmin"])]
    assert "people:my-data" in [item["name"] for item in nav_for(world.users["resident"])]
    unbound = world.users["resident"]
    world.resident_in("A1-1").__class__.objects.filter(user=unbound).update(user=None)
    unbound.refresh_from_db()
    assert "people:binding-request" in [item["name"] for item in nav_for(unbound)]


def test_elder_mode_toggle_changes_html_class(world, client_for):
    c = client_for("grid")
    assert "elder" not in html_class(c.get(reverse("home")))
    r = c.post(reverse("toggle-elder-mode"), {"next": reverse("places:house-list")})
    assert r.status_code == 302 and r["Location"] == reverse("places:house-list")
    assert html_class(c.get(reverse("places:house-list"))) == "elder"
    c.post(reverse("toggle-elder-mode"))
    assert "elder" not in html_class(c.get(reverse("home")))


def test_elder_mode_marks_secondary_choices(world, client_for):
    c = client_for("street")
    c.post(reverse("toggle-elder-mode"))
    body = c.get(reverse("places:house-list")).content.decode()
    # secondary filters and columns carry the class that elder mode's stylesheet hides
    assert 'class="filter secondary"' in body and '<th class="secondary">' in body


def test_elder_mode_for_anonymous_visitors(client, db):
    client.post(reverse("toggle-elder-mode"))
    assert html_class(client.get(reverse("login"))) == "elder"


def test_stylesheet_hides_secondary_in_elder_mode():
    from django.contrib.staticfiles import finders

    css = open(finders.find("linli/linli.css"), encoding="utf-8").read()
    assert "html.elder .secondary" in css and "html.elder { font-size: 22px; }" in css
