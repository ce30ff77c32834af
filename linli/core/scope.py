"""Geographic data scope: the one restricted-queryset entry point.

Every list, count, search, export, detail page, API endpoint and map asks
`Model.objects.for_user(user, action)`. A user's scope for a permission is the
union of the places of the assignments whose role grants that permission.
Anything outside it does not exist for that user (404 on detail pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from linli.core import lookups  # noqa: F401 - registers the in_first lookup

LEVEL_FIELDS = ("district", "street", "community", "grid")


@dataclass
class Scope:
    all: bool = False
    district_ids: set[int] = field(default_factory=set)
    street_ids: set[int] = field(default_factory=set)
    community_ids: set[int] = field(default_factory=set)
    grid_ids: set[int] = field(default_factory=set)
    city_ids: set[int] = field(default_factory=set)
    estate_ids: set[int] = field(default_factory=set)
    house_ids: set[int] = field(default_factory=set)
    resident_ids: set[int] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (
            self.all
            or self.city_ids
            or self.district_ids
            or self.street_ids
            or self.community_ids
            or self.grid_ids
            or self.estate_ids
            or self.house_ids
            or self.resident_ids
        )

    def add_area(self, level: str, area_id: int) -> None:
        getattr(self, f"{level}_ids").add(area_id)

    def area_ids(self) -> set[int]:
        return self.city_ids | self.district_ids | self.street_ids | self.community_ids | self.grid_ids

    def located_q(self, prefix: str = "", estates: bool = True, houses: bool = True) -> Q:
        """Q for a record that carries denormalized city/district/street/community/grid (and estate) ids."""
        q = Q(pk__in=[])
        if self.city_ids:
            q |= Q(**{f"{prefix}city_id__in": self.city_ids})
        for level in LEVEL_FIELDS:
            ids = getattr(self, f"{level}_ids")
            if ids:
                q |= Q(**{f"{prefix}{level}_id__in": ids})
        if estates and self.estate_ids:
            q |= Q(**{f"{prefix}estate_id__in": self.estate_ids})
        if houses and self.house_ids:
            q |= Q(**{f"{prefix}house_id__in" if prefix else "house_id__in": self.house_ids})
        return q


class ScopedQuerySet(models.QuerySet):
    def for_user(self, user, action: str = "view") -> models.QuerySet:
        """Rows this user may `action` (view, change, export…): the only way views read data."""
        perm = f"{self.model.scope_permission_prefix}.{action}"
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        scope = user.scope_for(perm)
        if scope.empty:
            return self.none()
        if scope.all:
            return self
        return self.filter(self.model.scope_q(scope))


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    pass
