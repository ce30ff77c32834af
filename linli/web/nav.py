"""The navigation, by permission. Each entry: (url name, label, permission or None, options).

Options: "roles" limits an entry to users holding one of those roles; "secondary" marks the entries a role
uses less often. Elder mode shows fewer choices per screen, but never takes a page away: the menu
(linli/templates/web/_nav.html) shows the main entries and puts the secondary ones under "More" (更多).
An entry someone uses every day is not secondary: the shifts page is where call-takers hand over at every
change of shift.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

NAV: list[tuple[str, StrPromise, str | None, dict[str, Any]]] = [
    ("home", _("Home"), None, {}),
    ("places:grid-mobile", _("My grid"), "places.view", {"roles": {"grid"}}),
    ("cases:report", _("Report a problem"), "cases.report", {}),
    ("cases:my-cases", _("My reports"), "cases.report", {"roles": {"resident"}}),
    ("cases:tasks", _("My tasks"), "cases.handle", {}),
    ("cases:workbench", _("Dispatch desk"), "cases.dispatch", {}),
    ("cases:intake", _("Hotline call"), "cases.intake", {"secondary": True}),
    ("cases:overview", _("Case overview"), "cases.supervise", {}),
    ("cases:kpi", _("Case KPIs"), "cases.supervise", {"secondary": True}),
    ("cases:analysis", _("Hot spots"), "cases.supervise", {"secondary": True}),
    ("dispatch:console", _("Dispatch console"), "dispatch.console", {}),
    ("dispatch:history", _("Dispatch history"), "dispatch.console", {"secondary": True}),
    ("dispatch:rescue", _("My rescues"), "dispatch.rescue", {}),
    ("shifts:roster", _("Shifts"), "dispatch.console", {}),
    ("shifts:kpi", _("Center KPIs"), "dispatch.lead", {"secondary": True}),
    ("iot:device-list", _("Devices"), "iot.view", {}),
    ("iot:rules", _("Alarm rules"), "iot.manage", {"secondary": True}),
    # the view also needs iot.manage over the whole platform: of the default roles only the admin has it
    ("iot:rejected", _("Rejected messages"), "iot.manage", {"secondary": True, "roles": {"admin"}}),
    ("notifications:inbox", _("Inbox"), None, {}),
    ("places:map", _("Map"), "places.view", {}),
    ("places:area-list", _("Areas"), "places.view", {"secondary": True}),
    ("places:house-list", _("Houses"), "places.view", {}),
    ("places:facility-list", _("Facilities"), "places.view", {"secondary": True}),
    ("people:resident-list", _("Residents"), "people.view", {}),
    ("people:organization-list", _("Organizations"), "orgs.view", {"secondary": True}),
    ("people:binding-list", _("Binding requests"), "bindings.verify", {}),
    ("people:io", _("Import / export"), "people.import", {"secondary": True}),
    ("accounts:user-list", _("Accounts"), "accounts.manage", {}),
    ("accounts:role-list", _("Roles"), "roles.manage", {}),
    ("accounts:audit-list", _("Audit log"), "audit.view", {}),
    ("cases:config", _("Work-order settings"), "cases.configure", {}),
]


INLINE_MAX = 12  # more entries than this do not fit one row of a 1366 px screen in English (19 took two)


class Nav(list):
    """The user's menu entries in order; `main` and `more` split them for a shorter menu: elder mode's always,
    everyone's when the menu is `crowded`."""

    @property
    def crowded(self) -> bool:
        return len(self) > INLINE_MAX

    @cached_property
    def main(self) -> list[dict]:
        return [item for item in self if not item["secondary"]]

    @cached_property
    def more(self) -> list[dict]:
        return [item for item in self if item["secondary"]]

    @cached_property
    def folds(self) -> bool:
        """Whether "More" would hold more than one entry (one entry is simply shown)."""
        return len(self.more) > 1

    @cached_property
    def more_names(self) -> list[str]:
        return [item["name"] for item in self.more]


def nav_for(user) -> Nav:
    items = Nav()
    roles = user.role_codes
    for name, label, perm, options in NAV:
        if perm and not user.has_linli_perm(perm):
            continue
        if options.get("roles") and not (options["roles"] & roles):
            continue
        try:
            items.append(
                {"url": reverse(name), "label": label, "name": name, "secondary": options.get("secondary", False)}
            )
        except NoReverseMatch:
            continue
    extra = []
    if hasattr(user, "resident"):
        extra.append(("people:my-data", _("My data"), False))
    elif "resident" in roles:
        extra.append(("people:binding-request", _("Bind my home"), False))
    extra.append(("accounts:profile", _("My profile"), True))
    for name, label, secondary in extra:
        try:
            items.append({"url": reverse(name), "label": label, "name": name, "secondary": secondary})
        except NoReverseMatch:
            continue
    return items
