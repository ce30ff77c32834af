"""The home page: counts within the user's scope."""

from __future__ import annotations

from linli.people.models import Household, Organization, Resident
from linli.places.models import Area, Building, House


def dashboard_for(user) -> dict:
    cards = []
    if user.has_linli_perm("places.view"):
        cards += [
            ("grids", Area.objects.for_user(user).filter(level="grid").count()),
            ("buildings", Building.objects.for_user(user).count()),
            ("houses", House.objects.for_user(user).count()),
        ]
    if user.has_linli_perm("people.view"):
        cards += [
            ("households", Household.objects.for_user(user).count()),
            ("residents", Resident.objects.for_user(user).count()),
        ]
    if user.has_linli_perm("orgs.view"):
        cards.append(("organizations", Organization.objects.for_user(user).count()))
    return {"cards": cards}
