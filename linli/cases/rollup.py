"""The daily case roll-up (CaseDayStat): what KPIs and analysis read instead of scanning millions of cases.

Every case belongs to the day it was reported (local time, settings.TIME_ZONE). For each day the table holds
the counts of `AGGREGATES` (definitions in kpi.py) at two grains:

    "g"  day × grid × community × street × district × city × top category × lead unit
    "s"  day × street × district × city × top category        (district- and city-wide analysis)
    "u"  day × street × district × city × lead unit           (district- and city-wide unit tables)
    "a"  day × street × district × city                       (district- and city-wide area tables, totals)

`rebuild(day)` deletes and rewrites one day (idempotent) with one grouped SELECT per grain and bulk inserts,
rows sorted by place so that one district's or street's rows of a day sit together on disk.
The counts describe the cases as they stood at the rebuild, so the nightly job (`rebuild_recent`) rewrites
the last few days and every older day holding a case that changed, or whose response or resolution deadline
passed, since the previous run. Today is never read from the table: KPIs compute it live with the same
`aggregate()`, so today's figures are exact and the table only ever serves whole past days.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils import timezone

from linli.cases.models import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    RUNNING_STATUSES,
    CaseDayStat,
    Rating,
    Status,
    WorkOrder,
)
from linli.core.scope import Scope

log = logging.getLogger(__name__)

COUNT_FIELDS = (
    "submitted",
    "accepted",
    "due_response",
    "responded",
    "responded_on_time",
    "resolved",
    "resolved_on_time",
    "handling_seconds",
    "rated",
    "satisfied",
    "basic",
    "reopened",
    "open",
    "overdue_open",
)
AREA_FIELDS = ("grid_id", "community_id", "street_id", "district_id", "city_id")
GRID_DIMS = (*AREA_FIELDS, "top_code", "lead_unit_id")
STREET_DIMS = ("street_id", "district_id", "city_id", "top_code")
UNIT_DIMS = ("street_id", "district_id", "city_id", "lead_unit_id")
AREA_DIMS = ("street_id", "district_id", "city_id")
GRAINS = (
    (CaseDayStat.Grain.GRID, GRID_DIMS),
    (CaseDayStat.Grain.STREET, STREET_DIMS),
    (CaseDayStat.Grain.UNIT, UNIT_DIMS),
    (CaseDayStat.Grain.AREA, AREA_DIMS),
)
BATCH = 2000

# a case counts as accepted (受理) unless it still waits for intake, was not accepted, or was merged
ACCEPTED = ~Q(status__in=[Status.SUBMITTED, Status.REJECTED, Status.MERGED])
FINISHED = Q(status__in=FINISHED_STATUSES)
RUNNING = Q(status__in=RUNNING_STATUSES)
TOP_CODE = Coalesce(Substr("category__code", 1, 2), Value(""))


def aggregates(now: dt.datetime) -> dict:
    """The roll-up counts as SQL aggregates over WorkOrder rows; `now` decides which deadlines have passed."""
    started = Q(started_at__isnull=False)
    return {
        "submitted": Count("pk"),
        "accepted": Count("pk", filter=ACCEPTED),
        "due_response": Count("pk", filter=ACCEPTED & (started | Q(response_due__lte=now))),
        "responded": Count("pk", filter=ACCEPTED & started),
        "responded_on_time": Count(
            "pk",
            filter=ACCEPTED & started & (Q(response_due__isnull=True) | Q(started_at__lte=F("response_due"))),
        ),
        "resolved": Count("pk", filter=FINISHED),
        "resolved_on_time": Count(
            "pk", filter=FINISHED & (Q(resolve_due__isnull=True) | Q(resolved_at__lte=F("resolve_due")))
        ),
        "handling_total": Sum(
            ExpressionWrapper(F("resolved_at") - F("submitted_at"), output_field=DurationField()),
            filter=FINISHED & Q(resolved_at__isnull=False),
        ),
        "paused_total": Sum("paused_minutes", filter=FINISHED & Q(resolved_at__isnull=False)),
        "rated": Count("pk", filter=~Q(rating="")),
        "satisfied": Count("pk", filter=Q(rating=Rating.SATISFIED)),
        "basic": Count("pk", filter=Q(rating=Rating.BASIC)),
        "reopened": Count("pk", filter=ACCEPTED & Q(reopen_count__gt=0)),
        "open": Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        "overdue_open": Count("pk", filter=RUNNING & Q(resolve_due__lte=now)),
    }


def _normalize(row: dict) -> dict:
    """One aggregated row → the roll-up's integer counts (handling time in seconds, suspended time taken off)."""
    handling = row.pop("handling_total", None)
    paused = row.pop("paused_total", None) or 0
    seconds = int(handling.total_seconds()) if isinstance(handling, dt.timedelta) else int((handling or 0) / 1e6)
    row["handling_seconds"] = max(seconds - paused * 60, 0)
    return row


def aggregate(cases: QuerySet, dims: Iterable[str], now: dt.datetime | None = None) -> list[dict]:
    """Group `cases` by `dims` (WorkOrder fields, or "top_code") and count; rows as the roll-up has them."""
    now = now or timezone.now()
    dims = list(dims)
    qs = cases.order_by()
    if "top_code" in dims:
        qs = qs.annotate(top_code=TOP_CODE)
    qs = qs.values(*dims) if dims else qs
    if dims:
        rows = list(qs.annotate(**aggregates(now)))
    else:
        rows = [qs.aggregate(**aggregates(now))]
    return [_normalize(r) for r in rows]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of `day` and of the next day, local time."""
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min), tz)
    return start, end


def cases_of_day(day: dt.date) -> QuerySet:
    start, end = day_bounds(day)
    return WorkOrder.objects.filter(submitted_at__gte=start, submitted_at__lt=end)


@transaction.atomic
def rebuild(day: dt.date, now: dt.datetime | None = None) -> int:
    """Rewrite the roll-up rows of one day from WorkOrder; returns how many rows it wrote."""
    now = now or timezone.now()
    CaseDayStat.objects.filter(day=day).delete()
    cases = cases_of_day(day)
    objs = []
    for grain, dims in GRAINS:
        rows = aggregate(cases, dims, now)
        rows.sort(key=_place_order)
        objs += [CaseDayStat(day=day, grain=grain, **r) for r in rows]
    for i in range(0, len(objs), BATCH):
        CaseDayStat.objects.bulk_create(objs[i : i + BATCH])
    return len(objs)


def _place_order(row: dict) -> tuple:
    return tuple(row.get(f) or 0 for f in ("district_id", "street_id", "community_id", "grid_id"))


def grain_for(scope: Scope, dims: Iterable[str], area_level: str | None, top_code: str = "") -> str:
    """The coarsest grain that answers a query grouped by `dims` (and filtered by `top_code`) within `scope`
    and an area of `area_level` (None: the whole scope)."""
    wanted = set(dims) - {"day"}
    if not street_grain_fits(scope) or area_level not in (None, "city", "district", "street"):
        return CaseDayStat.Grain.GRID
    if not top_code and wanted <= set(AREA_DIMS):
        return CaseDayStat.Grain.AREA
    if not top_code and wanted <= set(UNIT_DIMS):
        return CaseDayStat.Grain.UNIT
    if wanted <= set(STREET_DIMS):
        return CaseDayStat.Grain.STREET
    return CaseDayStat.Grain.GRID


# days per grouped query when rebuilding a range: bounds the rows one query returns at city scale
RANGE_CHUNK_DAYS = 31


@transaction.atomic
def rebuild_range(start: dt.date, end: dt.date, now: dt.datetime | None = None) -> int:
    """Rebuild every day from `start` to `end` inclusive (the same rows as rebuild() day by day), with one
    grouped query per grain for each chunk of days instead of four per day; returns the rows written."""
    now = now or timezone.now()
    rows = 0
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + dt.timedelta(days=RANGE_CHUNK_DAYS - 1))
        rows += _rebuild_chunk(chunk_start, chunk_end, now)
        chunk_start = chunk_end + dt.timedelta(days=1)
    return rows


def _rebuild_chunk(start: dt.date, end: dt.date, now: dt.datetime) -> int:
    CaseDayStat.objects.filter(day__gte=start, day__lte=end).delete()
    first, _ = day_bounds(start)
    _, last = day_bounds(end)
    cases = WorkOrder.objects.filter(submitted_at__gte=first, submitted_at__lt=last).annotate(
        day=TruncDate("submitted_at", tzinfo=timezone.get_default_timezone())
    )
    if connection.vendor == "postgresql":
        return sum(_insert_select(cases, grain, dims, now) for grain, dims in GRAINS)
    objs = []
    for grain, dims in GRAINS:
        found = aggregate(cases, ("day", *dims), now)
        found.sort(key=lambda r: (r["day"], *_place_order(r)))
        objs += [CaseDayStat(grain=grain, **r) for r in found]
    for i in range(0, len(objs), BATCH):
        CaseDayStat.objects.bulk_create(objs[i : i + BATCH])
    return len(objs)


def _insert_select(cases: QuerySet, grain: str, dims: tuple[str, ...], now: dt.datetime) -> int:
    """PostgreSQL: the grouped SELECT of aggregate() written straight into the table (INSERT … SELECT), rows in
    place order, without building a Python object per row — a city's history is ~17 M grid rows."""
    qs = cases.order_by()
    if "top_code" in dims:
        qs = qs.annotate(top_code=TOP_CODE)
    sql, params = qs.values("day", *dims).annotate(**aggregates(now)).query.sql_with_params()
    counts = [f for f in COUNT_FIELDS if f != "handling_seconds"]
    columns = ["day", "grain", *dims, *counts, "handling_seconds"]
    select = [
        "day",
        "%s",
        *dims,
        *counts,
        "GREATEST(FLOOR(COALESCE(EXTRACT(EPOCH FROM handling_total), 0))::bigint - COALESCE(paused_total, 0) * 60, 0)",
    ]
    if "top_code" not in dims:
        columns.append("top_code")
        select.append("''")
    order = ["day", *[f for f in ("district_id", "street_id", "community_id", "grid_id") if f in dims]]
    table = CaseDayStat._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(select)} FROM ({sql}) AS agg "
            f"ORDER BY {', '.join(order)}",
            [grain, *params],
        )
        return cur.rowcount


def stale_days(since: dt.datetime, now: dt.datetime) -> set[dt.date]:
    """Report days of the cases changed since `since`, or whose response or resolution deadline passed since."""
    changed = WorkOrder.objects.filter(
        Q(updated_at__gte=since)
        | Q(response_due__gt=since, response_due__lte=now)
        | Q(resolve_due__gt=since, resolve_due__lte=now)
    )
    with timezone.override(timezone.get_default_timezone()):
        return set(changed.order_by().values_list("submitted_at__date", flat=True).distinct())


def rebuild_recent(days: int = 3, now: dt.datetime | None = None) -> list[dt.date]:
    """The nightly job: rebuild the last `days` whole days and every older day touched since then.
    Returns the days rebuilt (oldest first)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - dt.timedelta(days=days)
    todo = {today - dt.timedelta(days=i) for i in range(1, days + 1)}
    todo |= {d for d in stale_days(since, now) if d and d < today}
    done = sorted(todo)
    for day in done:
        rebuild(day, now)
    log.info("case roll-up rebuilt for %d days", len(done))
    return done


# ----------------------------------------------------------------------------- scope → roll-up filters


def scope_filter(scope: Scope) -> Q | None:
    """The roll-up rows of a Scope (the same cases as WorkOrder.scope_q), or None when the scope names
    estates or houses, which the roll-up does not know: then callers count live from WorkOrder."""
    if scope.all:
        return Q()
    if scope.estate_ids or scope.house_ids or scope.resident_ids:
        return None
    if scope.empty:
        return Q(pk__in=[])
    return scope.located_q(estates=False, houses=False)


def street_grain_fits(scope: Scope) -> bool:
    """Whether street-grain rows can answer for this scope (it names nothing finer than a street)."""
    return not (scope.community_ids or scope.grid_ids or scope.estate_ids or scope.house_ids or scope.resident_ids)
