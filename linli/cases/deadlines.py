"""Response and resolution deadlines from the deadline policies and the working-time calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from linli.cases import workcal
from linli.cases.models import Category, DeadlinePolicy
from linli.cases.taxonomy import DEFAULT_POLICIES

# Used when no policy row matches (the rows were deleted): the shipped defaults.
FALLBACK = DEFAULT_POLICIES


@dataclass(frozen=True)
class Limits:
    response_minutes: int
    resolution_minutes: int
    natural_time: bool
    warn_percent: int = 75


def limits_for(category: Category | None, priority: str) -> Limits:
    """The most specific policy: leaf category, then its top level, then any category."""
    ids = [c for c in ([category.pk, category.parent_id] if category else []) if c]
    rows = {p.category_id: p for p in DeadlinePolicy.objects.filter(priority=priority, category_id__in=ids)}
    for cid in ids:
        if cid in rows:
            p = rows[cid]
            return Limits(p.response_minutes, p.resolution_minutes, p.natural_time, p.warn_percent)
    p = DeadlinePolicy.objects.filter(priority=priority, category__isnull=True).first()
    if p is not None:
        return Limits(p.response_minutes, p.resolution_minutes, p.natural_time, p.warn_percent)
    r, s, natural = FALLBACK[str(priority)]
    return Limits(r, s, natural)


def add(start: dt.datetime, minutes: int, natural: bool) -> dt.datetime:
    if natural:
        return start + dt.timedelta(minutes=minutes)
    return workcal.calendar().add(start, minutes)


def between(a: dt.datetime, b: dt.datetime, natural: bool) -> int:
    if natural:
        return max(0, int((b - a).total_seconds() // 60))
    return workcal.calendar().between(a, b)


def due_dates(start: dt.datetime, limits: Limits) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(response due, resolution due, warning from)."""
    response = add(start, limits.response_minutes, limits.natural_time)
    resolve = add(start, limits.resolution_minutes, limits.natural_time)
    warn = add(start, limits.resolution_minutes * limits.warn_percent // 100, limits.natural_time)
    return response, resolve, warn
