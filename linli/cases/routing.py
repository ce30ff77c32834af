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


def _chains(category: Category | None, area_ids: list[int]) -> tuple[list[int | None], list[int | None]]:
    cats: list[int | None] = [c for c in ([category.pk, category.parent_id] if category else []) if c]
    return [*cats, None], [*[a for a in area_ids if a], None]


def route_many(items: list[tuple[Category | None, list[int]]]) -> list[HandlingUnit | None]:
    """route() for many (category, area chain from the smallest area up) pairs with one query."""
    chains = [_chains(category, area_ids) for category, area_ids in items]
    cat_ids = {c for cats, _ in chains for c in cats if c}
    area_ids = {a for _, areas in chains for a in areas if a}
    if not chains:
        return []
    rules = list(
        RoutingRule.objects.filter(
            Q(category__isnull=True) | Q(category_id__in=cat_ids),
            Q(area__isnull=True) | Q(area_id__in=area_ids),
            unit__active=True,
        ).select_related("unit")
    )
    out: list[HandlingUnit | None] = []
    for cats, areas in chains:
        fitting = [r for r in rules if r.category_id in cats and r.area_id in areas]
        best = min(fitting, key=lambda r: (cats.index(r.category_id), areas.index(r.area_id)), default=None)
        out.append(best.unit if best else None)
    return out


def route(category: Category | None, area: Area | None) -> HandlingUnit | None:
    """The unit proposed for a case; None if no rule matches. Leaf category beats its top level beats
    any category; a rule for a smaller area beats one for a larger area."""
    chain = [a for a in _area_chain(area) if a is not None]
    return route_many([(category, chain)])[0]
