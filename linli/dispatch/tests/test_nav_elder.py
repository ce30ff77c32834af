"""Elder mode's menu simplifies without taking pages away: the main entries, then the rest under "More"; the
shifts page, where call-takers hand over every shift, is a main entry (linli/web/nav.py, web/_nav.html)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import resolve, reverse

from linli.web.nav import nav_for

pytestmark = pytest.mark.django_db


def render(user, path: str, elder: bool) -> str:
    request = RequestFactory().get(path)
    request.user = user
    request.resolver_match = resolve(path)
    return render_to_string("web/_nav.html", {"nav": nav_for(user), "elder_mode": elder, "request": request})


def test_dispatchers_daily_tools_stay_in_the_menu(world):
    nav = nav_for(world.users["dispatcher"])
    main = [i["name"] for i in nav.main]
    more = [i["name"] for i in nav.more]
    assert "dispatch:console" in main and "shifts:roster" in main
    assert "dispatch:history" in more and "accounts:profile" in more
    assert [i["name"] for i in nav] == [i["name"] for i in nav if i in nav.main or i in nav.more]
    # out of scope: a call-taker has no center KPIs, a rescuer no roster or console
    assert "shifts:kpi" not in main + more
    rescuer = [i["name"] for i in nav_for(world.users["rescuer"])]
    assert "dispatch:rescue" in rescuer and "shifts:roster" not in rescuer and "dispatch:console" not in rescuer


def test_elder_menu_puts_the_rest_under_more(world):
    user = world.users["dispatcher"]
    html = render(user, reverse("dispatch:console"), elder=True)
    head, more = html.split('<details class="nav-more"')
    assert f'href="{reverse("shifts:roster")}"' in head and f'href="{reverse("dispatch:console")}"' in head
    assert f'href="{reverse("dispatch:history")}"' in more and f'href="{reverse("accounts:profile")}"' in more
    assert f'href="{reverse("dispatch:history")}"' not in head
    assert 'class="secondary"' not in html  # elder mode's stylesheet hides .secondary: nothing may carry it
    assert more.startswith(">")  # closed on the console
    # on one of its pages, "More" is marked (and says so to a screen reader) but stays closed: opened on a wide
    # screen it would cover the page
    on_history = render(user, reverse("dispatch:history"), elder=True)
    assert '<details class="nav-more" data-current>' in on_history and 'aria-current="page">' in on_history
    assert " open" not in on_history.split("<details")[1][:60]


def test_standard_menu_unchanged(world):
    html = render(world.users["dispatcher"], reverse("dispatch:console"), elder=False)
    assert "nav-more" not in html
    assert f'<a href="{reverse("dispatch:history")}" class="secondary">' in html
    assert f'<a href="{reverse("dispatch:console")}" aria-current="page">' in html
    assert f'<a href="{reverse("shifts:roster")}">' in html


def test_everyones_profile_stays_reachable(world):
    # a "More" of one entry would be a tap for nothing: the profile is then shown as it is, in elder mode too
    user = world.users["nobody"]
    assert [i["name"] for i in nav_for(user).more] == ["accounts:profile"] and not nav_for(user).folds
    html = render(user, reverse("home"), elder=True)
    assert "<details" not in html and f'<a href="{reverse("accounts:profile")}">' in html


def test_every_page_uses_the_elder_menu(world, client_for):
    # base.html includes web/_nav.html: a real page, as the dispatcher in elder mode, keeps 调度记录 under "More"
    user = world.users["dispatcher"]
    type(user).objects.filter(pk=user.pk).update(elder_mode=True)
    html = client_for("dispatcher").get(reverse("dispatch:console")).content.decode()
    nav = html[html.index('id="mainnav"') : html.index("</nav>", html.index('id="mainnav"'))]
    assert '<details class="nav-more"' in nav
    assert f'href="{reverse("dispatch:history")}"' in nav.split('<details class="nav-more"')[1]


def test_a_crowded_standard_menu_keeps_the_rest_in_a_drop_down(world):
    # a street supervisor's 19 entries took two rows of a 1366 px screen in English: the secondary ones go under
    # "More", closed even on one of its pages (a drop-down must not cover the page), which it marks instead
    user = world.users["street"]
    nav = nav_for(user)
    assert nav.crowded and not nav_for(world.users["dispatcher"]).crowded
    html = render(user, reverse("cases:workbench"), elder=False)
    head, more = html.split('<details class="nav-more"')
    assert f'href="{reverse("places:area-list")}"' in more and f'href="{reverse("places:area-list")}"' not in head
    assert f'href="{reverse("cases:workbench")}" aria-current="page"' in head
    assert more.startswith(">")
    on_areas = render(user, reverse("places:area-list"), elder=False)
    assert '<details class="nav-more" data-current>' in on_areas and " open" not in on_areas.split("<details")[1][:40]
