"""The home page: per-role cards with counts within the user's scope, and quick links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from linli.people.models import Household, Organization, Resident
from linli.places.models import Area, Building, House

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


@dataclass
class Card:
    key: str
    label: str | StrPromise
    count: int
    url: str | None = None
    highlight: bool = False


def _url(name: str, query: str = "") -> str | None:
    """Cards and links point at pages other apps provide; a page that does not exist yet is no link."""
    try:
        return reverse(name) + query
    except NoReverseMatch:
        return None


# (url name, label, permission, roles or None for anyone holding the permission)
QUICK_LINKS = [
    ("places:grid-mobile", _("My grid on the phone"), "places.view", {"grid"}),
    ("places:map", _("Map"), "places.view", None),
    ("places:house-list", _("Find a house"), "places.view", None),
    ("people:resident-list", _("Find a resident"), "people.view", None),
    ("people:binding-list", _("Binding requests to verify"), "bindings.verify", None),
    ("people:io", _("Import / export"), "people.import", None),
    ("places:area-list", _("Areas"), "places.change", None),
    ("accounts:user-list", _("Accounts and roles"), "accounts.manage", None),
    ("accounts:audit-list", _("Audit log"), "audit.view", None),
    ("people:my-data", _("My data"), None, {"resident"}),
]


def cards_for(user) -> list[Card]:
    cards: list[Card] = []
    if user.has_linli_perm("people.view"):
        residents = Resident.objects.for_user(user)
        cards += [
            Card("residents", _("Residents"), Resident.count_for_user(user), _url("people:resident-list")),
            Card(
                "elderly",
                _("Elderly (60+)"),
                residents.filter(birth_date__lte=Resident.elderly_birth_cutoff()).count(),
                _url("people:resident-list", "?elderly=1"),
            ),
            Card(
                "care",
                _("Need regular visits"),
                residents.filter(labels__care=True).distinct().count(),
                None,  # the resident list filters by one label, not "any label that needs visits"
                highlight=True,
            ),
            Card("households", _("Households"), Household.objects.for_user(user).count(), _url("places:house-list")),
        ]
    if user.has_linli_perm("places.view"):
        cards += [
            Card("houses", _("Houses"), House.objects.for_user(user).count(), _url("places:house-list")),
            Card("buildings", _("Buildings"), Building.objects.for_user(user).count(), _url("places:map")),
            Card(
                "grids",
                _("Grids"),
                Area.objects.for_user(user).filter(level=Area.Level.GRID).count(),
                _url("places:area-list", "?level=grid"),
            ),
        ]
    if user.has_linli_perm("orgs.view"):
        cards.append(
            Card(
                "organizations",
                _("Organizations"),
                Organization.objects.for_user(user).count(),
                _url("people:organization-list"),
            )
        )
    return cards


def quick_links_for(user) -> list[dict]:
    roles = user.role_codes
    links = []
    for name, label, perm, only_roles in QUICK_LINKS:
        if perm and not user.has_linli_perm(perm):
            continue
        if only_roles and not (only_roles & roles):
            continue
        url = _url(name)
        if url:
            links.append({"url": url, "label": label, "name": name})
    return links


def dashboard_for(user) -> dict:
    return {"cards": cards_for(user), "quick_links": quick_links_for(user)}
