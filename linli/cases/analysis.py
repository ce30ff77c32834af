"""研判: where and what people report, and what is getting worse.

- hot spots: cases reported per grid (and top category) in a period — the map and the "top grids" chart;
- trend: cases per week; mix: cases per top category;
- change: grid × top category, this period against the one before, with the % change;
- 未诉先办 (rising): grid × top category combinations whose reports rose — the last 4 weeks against the
  4 before, at least MIN_CASES cases and +50 % — flagged for a proactive inspection that `create_proactive`
  turns into a work order in one step;
- recurring: the same problem (same category) at the same place — the same house, else within about
  100 m, else the same grid for cases with neither — at least 3 times in 90 days.

Counts come from kpi.count (the roll-up plus today live, within the user's supervise scope). Recurring
problems read WorkOrder itself (it needs houses and points), so it is offered for a street or smaller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max
from django.db.models.functions import Round
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.cases import kpi, services
from linli.cases.models import OPEN_STATUSES, Category, Channel, Status, WorkOrder
from linli.core import codes
from linli.places.models import Area, House

RISING_WEEKS = 4
MIN_CASES = 5
MIN_RISE = 0.5
RECURRING_DAYS = 90
RECURRING_TIMES = 3
# about 100 m: a thousandth of a degree is 111 m north-south and about 86 m east-west at Tianjin
CELL = 1000
MAP_MAX_GRIDS = 600
TREND_WEEKS = 12
ONLY = ("submitted",)  # analysis counts reports only


def grids_allowed(user, area: Area | None) -> bool:
    """Grid-level analysis (map, busiest grids, changes, rising) for a district or smaller: a whole city has
    tens of thousands of grids, so there the page shows the charts and asks for a district."""
    if area is not None:
        return area.level != codes.CITY
    scope = kpi.scope_of(user)
    return not (scope.all or scope.city_ids)


def top_categories() -> dict[str, str]:
    return {c.code: c.name for c in Category.objects.filter(parent=None)}


def grid_names(ids) -> dict[int, Area]:
    return {a.pk: a for a in Area.objects.filter(pk__in=[i for i in ids if i]).only("pk", "name", "code")}


def hot_grids(user, period: kpi.Period, area: Area | None = None, top_code: str = "", *, now=None) -> dict[int, int]:
    """Cases reported per grid in the period: {grid id: count} (cases above grid level left out)."""
    counts = kpi.count(user, period, ("grid_id",), area, top_code=top_code, only=ONLY, now=now)
    return {k[0]: c.submitted for k, c in counts.items() if k[0] and c.submitted}


def top_grids(hot: dict[int, int], limit: int = 10) -> list[dict]:
    best = sorted(hot.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    names = grid_names([k for k, _n in best])
    return [{"id": k, "name": names[k].name if k in names else str(k), "count": n} for k, n in best]


def by_category(user, period: kpi.Period, area: Area | None = None, *, now=None) -> list[dict]:
    counts = kpi.count(user, period, ("top_code",), area, only=ONLY, now=now)
    names = top_categories()
    rows = [
        {"code": k[0], "name": names.get(k[0], _("Not classified")), "count": c.submitted}
        for k, c in counts.items()
        if c.submitted
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["code"]))


def weekly(user, area: Area | None = None, top_code: str = "", weeks: int = TREND_WEEKS, *, now=None) -> list[dict]:
    """Cases per week (Monday to Sunday) for the last `weeks` weeks, this week included."""
    today = timezone.localdate(now)
    monday = today - dt.timedelta(days=today.weekday())
    start = monday - dt.timedelta(weeks=weeks - 1)
    counts = kpi.count(user, kpi.Period(start, today), ("day",), area, top_code=top_code, only=ONLY, now=now)
    buckets = {start + dt.timedelta(weeks=i): 0 for i in range(weeks)}
    for (day,), c in counts.items():
        if isinstance(day, dt.datetime):
            day = day.date()
        if day is None:
            continue
        buckets[day - dt.timedelta(days=day.weekday())] = (
            buckets.get(day - dt.timedelta(days=day.weekday()), 0) + c.submitted
        )
    return [{"week": w.isoformat(), "count": n} for w, n in sorted(buckets.items())]


@dataclass
class Change:
    grid_id: int
    grid: str
    top_code: str
    category: str
    now: int
    before: int
    proactive_case: WorkOrder | None = None

    @property
    def change(self) -> int:
        return self.now - self.before

    @property
    def percent(self) -> float | None:
        return (self.now - self.before) / self.before * 100 if self.before else None


def _pairs(user, current: kpi.Period, area, now, having_current: int = 0) -> dict[tuple, tuple[int, int]]:
    pairs = kpi.submitted_pairs(
        user, current, current.previous(), ("grid_id", "top_code"), area, now=now, having_current=having_current
    )
    return {k: v for k, v in pairs.items() if k[0] and (v[0] or v[1])}


def _changes_of(pairs: dict[tuple, tuple[int, int]], keys) -> list[Change]:
    """Change rows for the chosen keys only (a district has tens of thousands of grid × category pairs)."""
    keys = list(keys)
    names = top_categories()
    grids = grid_names({k[0] for k in keys})
    return [
        Change(
            grid_id=k[0],
            grid=grids[k[0]].name if k[0] in grids else str(k[0]),
            top_code=k[1],
            category=names.get(k[1], _("Not classified")),
            now=pairs[k][0],
            before=pairs[k][1],
        )
        for k in keys
    ]


def changes(user, period: kpi.Period, area: Area | None = None, limit: int = 20, *, now=None) -> list[Change]:
    """Grid × category against the previous period of the same length: the biggest rises, then falls."""
    pairs = _pairs(user, period, area, now)
    # order by size of change, then current count; names only break ties among the rows shown
    order = sorted(pairs, key=lambda k: (-abs(pairs[k][0] - pairs[k][1]), -pairs[k][0]))
    cut = order[: limit * 3]
    rows = _changes_of(pairs, cut)
    rows.sort(key=lambda r: (-abs(r.change), -r.now, r.grid, r.top_code))
    return rows[:limit]


def rising_period(today: dt.date | None = None) -> kpi.Period:
    today = today or timezone.localdate()
    return kpi.Period(today - dt.timedelta(days=RISING_WEEKS * 7 - 1), today, "rising")


def rising(user, area: Area | None = None, *, min_cases: int = MIN_CASES, min_rise: float = MIN_RISE, now=None):
    """未诉先办: grid × top category with at least `min_cases` reports in the last 4 weeks and at least
    `min_rise` more than in the 4 weeks before (or none before). Each finding says whether a proactive case
    for it is already open."""
    period = rising_period(timezone.localdate(now))
    pairs = _pairs(user, period, area, now, having_current=min_cases)
    keys = [
        k
        for k, (cur, old) in pairs.items()
        if k[1] and cur >= min_cases and (old == 0 or (cur - old) / old >= min_rise)
    ]
    found = _changes_of(pairs, keys)
    found.sort(key=lambda r: (-(r.percent if r.percent is not None else 1e9), -r.now, r.grid))
    if found:
        open_proactive = (
            WorkOrder.objects.for_user(user, "supervise")
            .filter(channel=Channel.PROACTIVE, status__in=OPEN_STATUSES, grid_id__in={r.grid_id for r in found})
            .select_related("category")
            .order_by("submitted_at")
        )
        by_key = {(c.grid_id, c.category.top_code if c.category else ""): c for c in open_proactive}
        for r in found:
            r.proactive_case = by_key.get((r.grid_id, r.top_code))
    return found


# ----------------------------------------------------------------------------- recurring problems


def recurring_allowed(user, area: Area | None) -> bool:
    if area is not None:
        return area.level in (codes.STREET, codes.COMMUNITY, codes.GRID)
    scope = kpi.scope_of(user)
    return not (scope.all or scope.city_ids or scope.district_ids)


def recurring(user, area: Area | None = None, *, days: int = RECURRING_DAYS, times: int = RECURRING_TIMES, now=None):
    """The same category at the same place at least `times` times in `days` days, most frequent first."""
    now = now or timezone.now()
    cases = (
        WorkOrder.objects.for_user(user, "supervise")
        .filter(kpi.area_q(area), submitted_at__gte=now - dt.timedelta(days=days), category__isnull=False)
        .exclude(status__in=[Status.MERGED, Status.REJECTED])
        .order_by()
    )
    agg = {"n": Count("pk"), "last": Max("submitted_at"), "latest": Max("pk")}
    found: list[dict] = []
    for row in cases.filter(house__isnull=False).values("category_id", "house_id").annotate(**agg).filter(n__gte=times):
        found.append({**row, "kind": "house"})
    cells = (
        cases.filter(house__isnull=True, lat__isnull=False, lng__isnull=False)
        .annotate(cell_lat=Round(F("lat") * CELL), cell_lng=Round(F("lng") * CELL))
        .values("category_id", "cell_lat", "cell_lng")
        .annotate(**agg)
        .filter(n__gte=times)
    )
    for row in cells:
        found.append({**row, "kind": "point"})
    for row in (
        cases.filter(house__isnull=True, lat__isnull=True, grid__isnull=False)
        .values("category_id", "grid_id")
        .annotate(**agg)
        .filter(n__gte=times)
    ):
        found.append({**row, "kind": "grid"})
    found.sort(key=lambda r: (-r["n"], -r["latest"]))
    found = found[:50]
    cats = {c.pk: c for c in Category.objects.filter(pk__in={r["category_id"] for r in found})}
    houses = {
        h.pk: h
        for h in House.objects.filter(pk__in={r.get("house_id") for r in found} - {None}).select_related("building")
    }
    grids = grid_names({r.get("grid_id") for r in found})
    latest = {
        c.pk: c
        for c in WorkOrder.objects.filter(pk__in=[r["latest"] for r in found]).only("pk", "address", "submitted_at")
    }
    for r in found:
        r["category"] = cats[r["category_id"]].name if r["category_id"] in cats else ""
        case = latest.get(r["latest"])
        r["case"] = case
        if r["kind"] == "house":
            r["place"] = str(houses[r["house_id"]]) if r["house_id"] in houses else ""
        elif r["kind"] == "point":
            r["place"] = (case.address if case and case.address else "") or _(
                "within about 100 m of %(lat).4f, %(lng).4f"
            ) % {
                "lat": r["cell_lat"] / CELL,
                "lng": r["cell_lng"] / CELL,
            }
        else:
            r["place"] = grids[r["grid_id"]].name if r["grid_id"] in grids else ""
    return found


# ----------------------------------------------------------------------------- 未诉先办 → a work order


def _grid_in_scope(user, grid_id) -> Area:
    try:
        grid = Area.objects.get(pk=int(grid_id), level=codes.GRID)
    except (TypeError, ValueError, Area.DoesNotExist):
        raise Http404 from None
    if not kpi.area_in_scope(kpi.scope_of(user), grid):
        raise Http404
    return grid


def _leaf_for(user, grid: Area, top_code: str, since: dt.datetime) -> Category:
    """The second-level category most reported under `top_code` in the grid lately (else the first one)."""
    row = (
        WorkOrder.objects.for_user(user, "supervise")
        .filter(grid=grid, submitted_at__gte=since, category__code__startswith=top_code, category__parent__isnull=False)
        .order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "category_id")
        .first()
    )
    if row:
        return Category.objects.get(pk=row["category_id"])
    leaf = Category.objects.filter(parent__code=top_code, active=True).order_by("code").first()
    if leaf is None:
        raise ValidationError({"category": _("Unknown category.")})
    return leaf


def create_proactive(user, grid_id, top_code: str, *, now=None) -> WorkOrder:
    """Open a proactive-inspection case (未诉先办) for a rising grid × category finding. The grid must be in
    the user's supervise scope (else Http404); a second open proactive case for the same finding is refused."""
    if not user.has_linli_perm(kpi.SUPERVISE):
        raise Http404
    grid = _grid_in_scope(user, grid_id)
    top_code = (top_code or "").strip()
    top = Category.objects.filter(code=top_code, parent=None).first()
    if top is None:
        raise ValidationError({"category": _("Unknown category.")})
    already = (
        WorkOrder.objects.for_user(user, "supervise")
        .filter(channel=Channel.PROACTIVE, status__in=OPEN_STATUSES, grid=grid, category__code__startswith=top_code)
        .first()
    )
    if already is not None:
        raise ValidationError(
            _("A proactive case for %(category)s in %(grid)s is already open: %(number)s.")
            % {"category": top.name, "grid": grid.name, "number": already.number}
        )
    period = rising_period(timezone.localdate(now))
    counts = kpi.count(user, period, (), grid, top_code=top_code, now=now).get((), kpi.Counts())
    before = kpi.count(user, period.previous(), (), grid, top_code=top_code, now=now).get((), kpi.Counts())
    since = rollup_start(period)
    leaf = _leaf_for(user, grid, top_code, since)
    title = _("Proactive inspection: %(category)s in %(grid)s") % {"category": top.name, "grid": grid.name}
    description = _(
        "Reports of %(category)s in %(grid)s rose from %(before)d in the previous %(weeks)d weeks to %(now)d in "
        "the last %(weeks)d weeks. Inspect the place and deal with the cause before more residents have to call."
    ) % {
        "category": top.name,
        "grid": grid.name,
        "before": before.submitted,
        "now": counts.submitted,
        "weeks": RISING_WEEKS,
    }
    report = services.Report(
        title=title[:120],
        description=description,
        channel=Channel.PROACTIVE,
        location=services.Location(area=grid, lat=grid.lat, lng=grid.lng, address=grid.name),
        category=leaf,
    )
    return services.create_case(user, report)


def rollup_start(period: kpi.Period) -> dt.datetime:
    from linli.cases.rollup import day_bounds

    return day_bounds(period.start)[0]
