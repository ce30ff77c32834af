"""The navigation, by permission. Each entry: (url name, label, permission or None, roles or None)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

NAV = [
    ("home", _("Home"), None),
    ("places:map", _("Map"), "places.view"),
    ("places:area-list", _("Areas"), "places.view"),
    ("places:house-list", _("Houses"), "places.view"),
    ("people:resident-list", _("Residents"), "people.view"),
    ("people:organization-list", _("Organizations"), "orgs.view"),
    ("people:binding-list", _("Binding requests"), "bindings.verify"),
    ("people:io", _("Import / export"), "people.import"),
    ("accounts:user-list", _("Accounts"), "accounts.manage"),
    ("accounts:audit-list", _("Audit log"), "audit.view"),
]


def nav_for(user) -> list[dict]:
    items = []
    for name, label, perm in NAV:
        if perm and not user.has_linli_perm(perm):
            continue
        try:
            items.append({"url": reverse(name), "label": label, "name": name})
        except NoReverseMatch:
            continue
    if hasattr(user, "resident") or "resident" in user.role_codes:
        try:
            items.append({"url": reverse("people:my-data"), "label": _("My data"), "name": "people:my-data"})
        except NoReverseMatch:
            pass
    return items
