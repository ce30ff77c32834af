"""Who should handle a case: the most specific routing rule for its category and place."""

from __future__ import annotations

from django.db.models import Q

from linli.cases.models import Category, HandlingUnit, RoutingRule
from linli.places.models import Area


def _area_chain(area: Area | None) -> list[int | None]:
    if area is None:
        return [None]
    ids = [area.pk, area.community_id, area.street_id, area.district_id, area.city_id]
    return [i for i in ids if i is not None] + [None]


def route(category: Category | None, area: Area | None) -> HandlingUnit | None:
    """The unit proposed for a case; None if no rule matches. Leaf category beats its top level beats
    any category; a rule for a smaller area beats one for a larger area."""
    categories: list[int | None] = [None]
    if category is not None:
        categories = [category.pk] + ([category.parent_id] if category.parent_id else []) + [None]
    areas = _area_chain(area)
    rules = list(
        RoutingRule.objects.filter(
            Q(category__isnull=True) | Q(category_id__in=[c for c in categories if c]),
            Q(area__isnull=True) | Q(area_id__in=[a for a in areas if a]),
            unit__active=True,
        ).select_related("unit")
    )
    if not rules:
        return None
    return min(rules, key=lambda r: (categories.index(r.category_id), areas.index(r.area_id))).unit
