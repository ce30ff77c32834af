"""Synthetic work-order history over the grids already in the database (`manage.py generate_cases`).

Scales: tiny (tests: every grid present, 100 cases each), district (one district, 120104 by default, at the
city's rate: ≈ 1.3 M cases over 1,640 grids), city (every district that has no generated cases yet; the
seeds' 17.15 M cases over 21,066 grids, ≈ 814 a grid). Run the registry generator first.

What is realistic: cases spread over the grids with a skew (some grids have several times the cases of
others); over 2024-01-01 → today with a weekly rhythm (fewer on weekends and statutory holidays), a summer
peak, office-hours peak and a growing trend; the 57 leaf categories in a realistic mix (property services
and environment most common); ≈ 95 % of the history closed; handling times drawn from log-normal
distributions, so the open cases are those reported in the last days and weeks (some overdue); handling
units per community (居委会), per street (城管, 派出所, 市场监管, 房管) and per property company (its estates),
with routing rules; deadlines from the DeadlinePolicy rows counted in working time on the statutory
calendar (the same arithmetic as `linli.cases.workcal`, done in SQL); warnings, overdue marks and
escalations as the deadline sweep would have set them.

What is left out: timelines (CaseEvent rows) only for the open cases and the cases of the last 60 days
(older history has none: 17 M × ~6 events would not fit the benchmark machine, and no page reads them in
bulk); no photos, no caller phone numbers, no reporter accounts, no co-handling units.

On PostgreSQL the rows are built by PostgreSQL itself (INSERT … SELECT over generate_series, random()),
in one transaction, with the table's secondary indexes dropped during the load and rebuilt after it. On
other databases (SQLite in tests) they are built in Python and bulk-inserted.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from linli.core.generate.progress import Progress

SCALES = ("tiny", "district", "city")
DEFAULT_DISTRICT = "120104"
CITY_CASES = 17_150_000
CITY_GRIDS = 21_066
PER_GRID = CITY_CASES / CITY_GRIDS  # ≈ 814 cases per grid over the history
TINY_PER_GRID = 100
START = dt.date(2024, 1, 1)
EVENT_DAYS = 60  # timelines for the open cases and the cases of the last 60 days
CHUNK = 250_000  # cases per INSERT … SELECT (one progress step)

OPEN = ("submitted", "accepted", "dispatched", "in_progress", "returned", "suspended")
ACTIVE = ("submitted", "accepted", "dispatched", "in_progress", "returned")

# Relative frequency of each leaf category (codes of linli.cases.taxonomy): property services and
# environment most common, emergencies rare.
MIX = {
    "0101": 9.0, "0102": 2.5, "0103": 2.0, "0104": 1.5, "0105": 2.5, "0106": 2.5,
    "0201": 3.0, "0202": 2.5, "0203": 0.8, "0204": 2.0, "0205": 1.2, "0206": 0.4,
    "0301": 3.5, "0302": 6.5, "0303": 5.5, "0304": 2.0, "0305": 2.5, "0306": 3.0,
    "0401": 2.0, "0402": 2.5, "0403": 0.8, "0404": 0.6, "0405": 0.5,
    "0501": 5.0, "0502": 4.0, "0503": 2.5, "0504": 1.5, "0505": 1.5, "0506": 0.8,
    "0601": 2.5, "0602": 0.8, "0603": 0.8, "0604": 1.5,
    "0701": 1.2, "0702": 0.8, "0703": 0.8, "0704": 0.5, "0705": 3.0, "0706": 0.4, "0707": 0.3,
    "0801": 0.8, "0802": 0.5, "0803": 0.5, "0804": 0.3,
    "0901": 0.15, "0902": 0.15, "0903": 0.2, "0904": 0.2,
    "9901": 2.5, "9999": 1.0,
}  # fmt: skip
# Which unit leads a leaf category (share of the cases; the rest go to the community):
# P property company of the estate (community if the estate has none), U 城管, S 派出所, H 房管, M 市场监管.
LEAD = {
    "03": ("P", 1.0), "0101": ("P", 0.6), "0103": ("P", 0.6), "0105": ("P", 0.5), "0106": ("U", 0.5),
    "0202": ("P", 0.5), "0204": ("P", 0.4), "0205": ("P", 0.4), "0401": ("P", 0.6), "0402": ("P", 0.5),
    "0501": ("P", 0.5), "0502": ("U", 0.3), "0503": ("U", 1.0), "0504": ("U", 1.0), "0505": ("S", 0.5),
    "0506": ("S", 0.4), "08": ("S", 1.0), "0405": ("S", 0.5), "0404": ("H", 1.0), "0604": ("H", 0.6),
    "0603": ("M", 0.5),
}  # fmt: skip
KIND_NO = {"C": 0, "P": 1, "U": 2, "S": 3, "H": 4, "M": 5}
STREET_UNITS = (
    ("urban", "城管科", "U"),
    ("police", "派出所", "S"),
    ("market", "市场监管所", "M"),
    ("housing", "房管站", "H"),
)
# street routing rules: category code → street unit kind
STREET_RULES = {"0503": "U", "0504": "U", "08": "S", "0404": "H", "0604": "H"}
CHANNELS = (("hotline", 0.45), ("grid", 0.30), ("resident", 0.15), ("staff", 0.05), ("device", 0.02), ("api", 0.02),
            ("open311", 0.01))  # fmt: skip
PHRASES = [
    "居民来电反映，已持续多日，请尽快处理。",
    "网格员巡查发现，需相关单位到场处置。",
    "多名居民反映，影响正常生活。",
    "问题反复出现，希望彻底解决。",
    "请派人现场查看并回复处理结果。",
    "夜间尤为严重，老人孩子受影响。",
    "已向物业反映未果，请求协调。",
    "位于小区主干道旁，存在安全隐患。",
]
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.3, 0.3, 0.5, 1.5, 3, 6, 8, 8, 7, 5, 6, 7, 7, 6, 5, 4, 3.5, 3, 2.5, 2, 1.5]
WEEKDAY_WEIGHTS = [1.12, 1.08, 1.05, 1.05, 1.0, 0.85, 0.8]


class CasesError(Exception):
    pass


@dataclass
class CasesSummary:
    scale: str
    seed: int
    mode: str = ""
    seconds: float = 0.0
    grids: int = 0
    cases: int = 0
    events: int = 0
    units: int = 0
    rules: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    first_id: int = 0
    districts: list[str] = field(default_factory=list)

    @property
    def open(self) -> int:
        return sum(v for k, v in self.by_status.items() if k in OPEN)

    @property
    def rows_per_second(self) -> float:
        return self.cases / self.phases.get("cases", self.seconds) if self.seconds else 0.0


# ------------------------------------------------------------------ scope, units and routing


def _grids(scale: str, district: str | None):
    from linli.cases.models import WorkOrder
    from linli.places.models import Area

    grids = Area.objects.filter(level="grid").order_by("id")
    if scale == "tiny":
        chosen = []
    elif scale == "district":
        code = district or DEFAULT_DISTRICT
        d = Area.objects.filter(level="district", code__in=[code, code.ljust(12, "0")]).first()
        if d is None:
            raise CasesError(f"District {code} is not in the database: run `manage.py generate` first.")
        if WorkOrder.objects.filter(district=d).exists():
            raise CasesError(f"District {code} already has cases: the generator never adds to existing history.")
        grids, chosen = grids.filter(district=d), [code]
    else:
        busy = set(WorkOrder.objects.values_list("district_id", flat=True).distinct()) if _has_cases() else set()
        districts = Area.objects.filter(level="district").exclude(pk__in=busy).order_by("code")
        chosen = list(districts.values_list("code", flat=True))
        grids = grids.filter(district__in=districts)
    rows = list(grids.values_list("id", "community_id", "street_id", "district_id", "city_id", "lng", "lat", "code"))
    if not rows:
        raise CasesError(
            "No grids to generate cases for: run `manage.py generate` first (or every district has cases)."
        )
    return rows, chosen


def _has_cases() -> bool:
    from linli.cases.models import WorkOrder

    return WorkOrder.objects.exists()


def ensure_units(grid_rows) -> dict:
    """Handling units and routing rules for the communities, streets and estates of these grids (created if
    missing, by code; an existing routing rule for a category and area is kept and its unit used)."""
    from linli.cases.models import Category, HandlingUnit, RoutingRule
    from linli.places.models import Area, Estate

    community_ids = sorted({g[1] for g in grid_rows if g[1]})
    street_ids = sorted({g[2] for g in grid_rows})
    areas = {a.pk: a for a in Area.objects.filter(pk__in=community_ids + street_ids)}
    cats = dict(Category.objects.values_list("code", "pk"))
    existing = dict(HandlingUnit.objects.values_list("code", "pk"))
    new: list[HandlingUnit] = []

    def want(code, name, kind, area_id):
        if code not in existing:
            new.append(HandlingUnit(code=code, name=name[:100], kind=kind, area_id=area_id))

    for cid in community_ids:
        want(f"c-{areas[cid].code}", f"{areas[cid].name}居委会", "community", cid)
    for sid in street_ids:
        for kind, suffix, _k in STREET_UNITS:
            want(f"s-{areas[sid].code}-{kind}", f"{areas[sid].name}{suffix}", kind, sid)
    estates = list(
        Estate.objects.filter(community_id__in=community_ids)
        .order_by("id")
        .values_list("id", "community_id", "property_company_id", "property_company__name")
    )
    org_estates: dict[int, list[int]] = {}
    for eid, cid, org, org_name in estates:
        if org:
            org_estates.setdefault(org, []).append(eid)
            want(f"p-{org}", org_name or f"物业公司{org}", "property", cid)
    for i in range(0, len(new), 2000):
        HandlingUnit.objects.bulk_create(new[i : i + 2000])
    units = dict(HandlingUnit.objects.filter(code__in=[u.code for u in new]).values_list("code", "pk"))
    existing.update(units)
    through = HandlingUnit.estates.through
    links = [
        through(handlingunit_id=existing[f"p-{org}"], estate_id=eid)
        for org, eids in org_estates.items()
        if f"p-{org}" in units
        for eid in eids
    ]
    through.objects.bulk_create(links, batch_size=5000)

    # routing rules: any category in a community → its 居委会; street rules for 城管, 派出所, 房管;
    # 物业服务 in a community → the property company of its first estate.
    rules = {(c, a): u for c, a, u in RoutingRule.objects.values_list("category_id", "area_id", "unit_id")}
    new_rules = []

    def rule(cat_id, area_id, unit_id):
        if (cat_id, area_id) not in rules:
            rules[(cat_id, area_id)] = unit_id
            new_rules.append(RoutingRule(category_id=cat_id, area_id=area_id, unit_id=unit_id))

    first_property: dict[int, int] = {}
    estate_unit: dict[int, int] = {}
    for eid, cid, org, _n in estates:
        if org:
            estate_unit[eid] = existing[f"p-{org}"]
            first_property.setdefault(cid, existing[f"p-{org}"])
    for cid in community_ids:
        rule(None, cid, existing[f"c-{areas[cid].code}"])
        if cid in first_property:
            rule(cats["03"], cid, first_property[cid])
    street_unit = {}
    for sid in street_ids:
        for kind, _suffix, k in STREET_UNITS:
            street_unit[(sid, k)] = existing[f"s-{areas[sid].code}-{kind}"]
        for code, k in STREET_RULES.items():
            rule(cats[code], sid, street_unit[(sid, k)])
    RoutingRule.objects.bulk_create(new_rules, batch_size=5000)
    community_unit = {cid: rules[(None, cid)] for cid in community_ids}
    by_community: dict[int, list[tuple[int, int | None]]] = {}
    for eid, cid, _org, _n in estates:
        by_community.setdefault(cid, []).append((eid, estate_unit.get(eid)))
    return {
        "community": community_unit,
        "street": street_unit,
        "estates": by_community,
        "names": {pk: a.name for pk, a in areas.items()},
        "units_created": len(new),
        "rules_created": len(new_rules),
    }


# ------------------------------------------------------------------ shared distributions


def _leaves():
    from linli.cases.models import Category

    leaves = list(Category.objects.filter(parent__isnull=False, active=True).order_by("code"))
    if not leaves:
        raise CasesError("No work-order categories: run `manage.py migrate` first.")
    return leaves


def _lead_rule(code: str) -> tuple[str, float]:
    return LEAD.get(code) or LEAD.get(code[:2]) or ("C", 0.0)


def _priority_draw(default: str) -> list[tuple[str, float]]:
    """(priority, cumulative probability) for a category's default priority."""
    if default == "urgent":
        return [("urgent", 0.85), ("high", 1.0)]
    if default == "high":
        return [("urgent", 0.05), ("high", 0.85), ("normal", 1.0)]
    return [("urgent", 0.01), ("high", 0.09), ("normal", 0.96), ("low", 1.0)]


def _limits(leaves) -> dict[tuple[int, str], tuple[int, int, bool, int]]:
    from linli.cases import deadlines

    out = {}
    for c in leaves:
        for p in ("urgent", "high", "normal", "low"):
            lim = deadlines.limits_for(c, p)
            out[(c.pk, p)] = (lim.response_minutes, lim.resolution_minutes, lim.natural_time, lim.warn_percent)
    return out


def _day_weights(end: dt.date) -> tuple[list[dt.date], list[float]]:
    from linli.cases import workcal

    cal = workcal.calendar()
    days, weights = [], []
    total = (end - START).days
    d = START
    while d <= end:
        w = WEEKDAY_WEIGHTS[d.weekday()]
        w *= 1 + 0.2 * math.sin(2 * math.pi * (d.timetuple().tm_yday - 105) / 365.25)  # summer peak
        w *= 0.75 + 0.5 * (d - START).days / max(total, 1)  # adoption grows
        if d.weekday() < 5 and not cal.is_working_day(d):
            w *= 0.7  # statutory holiday
        days.append(d)
        weights.append(w)
        d += dt.timedelta(days=1)
    return days, weights


def _slots(values: list, weights: list[float], n: int) -> list:
    """n equally likely slots reproducing the weights (inverse of the cumulative distribution)."""
    total = sum(weights)
    cum, acc = [], 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)
    return [values[min(bisect.bisect_left(cum, (i + 0.5) / n), len(values) - 1)] for i in range(n)]


def _grid_counts(grid_rows, per_grid: float, seed: int) -> list[int]:
    """Cases per grid: log-normal weights (busy grids several times the quiet ones), summing to the target."""
    rng = random.Random(seed)
    w = [rng.lognormvariate(0, 0.7) for _ in grid_rows]
    scale = per_grid * len(grid_rows) / sum(w)
    counts = [int(x * scale) for x in w]
    short = round(per_grid * len(grid_rows)) - sum(counts)
    for i in range(max(short, 0)):
        counts[i % len(counts)] += 1
    return counts


# ------------------------------------------------------------------ entry point


def generate_cases(
    scale: str,
    *,
    seed: int = 1,
    district: str | None = None,
    per_grid: float | None = None,
    now: dt.datetime | None = None,
    stream=None,
) -> CasesSummary:
    if scale not in SCALES:
        raise CasesError(f"Unknown scale {scale!r}: choose tiny, district or city.")
    started = time.monotonic()
    stream = stream if stream is not None else sys.stderr
    now = now or timezone.now()
    summary = CasesSummary(scale, seed)
    grid_rows, summary.districts = _grids(scale, district)
    summary.grids = len(grid_rows)
    if per_grid is None:
        per_grid = TINY_PER_GRID if scale == "tiny" else PER_GRID
    counts = _grid_counts(grid_rows, per_grid, seed)
    from linli.cases.models import WorkOrder

    summary.first_id = (WorkOrder.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    with transaction.atomic():
        t = time.monotonic()
        units = ensure_units(grid_rows)
        summary.units, summary.rules = units["units_created"], units["rules_created"]
        summary.phases["units"] = time.monotonic() - t
        if connection.vendor == "postgresql":
            from linli.core.generate import load

            summary.mode = load.begin_bulk() + ", INSERT … SELECT"
            _pg_generate(grid_rows, counts, units, now, seed, summary, stream)
        else:
            summary.mode = f"{connection.vendor} (Python rows, bulk_create)"
            _py_generate(grid_rows, counts, units, now, seed, summary)
        summary.by_status = dict(
            WorkOrder.objects.filter(pk__gte=summary.first_id)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        summary.cases = sum(summary.by_status.values())
        from linli.core import audit

        audit.record(
            "import",
            None,
            username="manage.py generate_cases",
            object_id=f"generate_cases:{scale}",
            object_repr=f"Generated work-order history, scale {scale}",
            after={"scale": scale, "seed": seed, "districts": summary.districts, "cases": summary.cases,
                   "events": summary.events},
            purpose="synthetic demonstration data",
        )  # fmt: skip
    t = time.monotonic()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # sets the visibility map too, so that counts run as index-only scans (docs/benchmarks.md)
            cur.execute("VACUUM (ANALYZE) cases_workorder")
            cur.execute("VACUUM (ANALYZE) cases_caseevent")
        elif connection.vendor == "postgresql":
            cur.execute("ANALYZE cases_workorder")
            cur.execute("ANALYZE cases_caseevent")
        else:
            cur.execute("ANALYZE")
    summary.phases["analyze"] = time.monotonic() - t
    summary.seconds = time.monotonic() - started
    return summary


# ------------------------------------------------------------------ PostgreSQL: rows built by the database


def _calendar_arrays(end: dt.date):
    from linli.cases import workcal

    cal = workcal.calendar()
    d0 = START - dt.timedelta(days=31)
    d1 = end + dt.timedelta(days=400)
    widx, isw, wday = [], [], []
    n = 0
    d = d0
    while d <= d1:
        working = cal.is_working_day(d)
        widx.append(n)
        isw.append(working)
        if working:
            wday.append(d)
            n += 1
        d += dt.timedelta(days=1)
    return d0, widx, isw, wday, cal.periods


def _wt_sql(periods, day_s: int) -> tuple[str, Callable[[str], str]]:
    """SQL for the working-time position (seconds since D0) of a local timestamp `L`, and a function giving
    the SQL of the moment `P` seconds of working time from D0 (a boundary is the earlier period's end)."""
    parts, before = [], 0
    bounds = []
    for s, e in periods:
        parts.append(f"WHEN sec < {e * 60} THEN {before} + greatest(sec - {s * 60}, 0)")
        bounds.append((s * 60, e * 60, before, before + (e - s) * 60))
        before += (e - s) * 60
    pos = (
        f"((%(widx)s::int[])[di + 1]::bigint * {day_s} + CASE WHEN (%(isw)s::bool[])[di + 1] THEN CASE "
        f"{' '.join(parts)} ELSE {day_s} END "
        "ELSE 0 END)"
    )

    def moment(p: str) -> str:
        n = f"(ceil(({p}) / {day_s}.0)::int - 1)"
        us = f"(({p}) - {n}::bigint * {day_s})"
        whens = " ".join(f"WHEN {us} <= {c} THEN {s} + {us} - {b}" for s, _e, b, c in bounds)
        return f"(((%(wday)s::date[])[{n} + 1] + make_interval(secs => CASE {whens} END)) AT TIME ZONE %(tz)s)"

    return pos, moment


def _pg_generate(grid_rows, counts, units, now, seed, summary: CasesSummary, stream) -> None:
    from linli.cases.models import CaseEvent, WorkOrder

    leaves = _leaves()
    limits = _limits(leaves)
    tz = settings.TIME_ZONE
    local_now = timezone.localtime(now, ZoneInfo(tz))
    days, weights = _day_weights(local_now.date())
    d0, widx, isw, wday, periods = _calendar_arrays(local_now.date())
    day_s = sum(e - s for s, e in periods) * 60
    pos_sql, moment = _wt_sql(periods, day_s)
    leaf_index = list(range(1, len(leaves) + 1))
    prios = ("urgent", "high", "normal", "low")
    lead = [_lead_rule(c.code) for c in leaves]
    # per leaf × priority (1-based: (k - 1) * 4 + p)
    lim = [limits[(c.pk, p)] for c in leaves for p in prios]
    pdraw = []
    for c in leaves:
        cum = dict(_priority_draw(c.default_priority))
        draws: list[float] = []
        for p in prios:
            draws.append(cum.get(p, draws[-1] if draws else 0.0))
        pdraw += draws
    params = {
        "tz": tz,
        "now": now,
        "d0": d0,
        "widx": widx,
        "isw": isw,
        "wday": wday,
        "cslot": _slots(leaf_index, [MIX.get(c.code, 0.3) for c in leaves], 2000),
        "cat_id": [c.pk for c in leaves],
        "cat_name": [c.name_zh for c in leaves],
        "lead_kind": [KIND_NO[k] for k, _s in lead],
        "lead_share": [s for _k, s in lead],
        "pdraw": pdraw,
        "resp": [x[0] for x in lim],
        "reso": [x[1] for x in lim],
        "natural": [x[2] for x in lim],
        "warnp": [x[3] for x in lim],
        "dslot": _slots(days, weights, 20000),
        "hslot": _slots(list(range(24)), HOUR_WEIGHTS, 1000),
        "phrase": PHRASES,
    }
    chan_cum: list[tuple[str, float]] = []
    total = 0.0
    for name, share in CHANNELS:
        total += share
        chan_cum.append((name, total))
    channel_sql = "CASE " + " ".join(f"WHEN u_chan < {c:.4f} THEN '{n}'" for n, c in chan_cum[:-1])
    channel_sql += f" ELSE '{chan_cum[-1][0]}' END"

    t = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("SELECT setseed(%s)", [((seed * 7919) % 10000) / 10000.0])
        cur.execute(
            "CREATE TEMP TABLE linli_gen_grid (ord int, id bigint, community_id bigint, street_id bigint, "
            "district_id bigint, city_id bigint, lng float8, lat float8, n int, cunit bigint, uunit bigint, "
            "sunit bigint, hunit bigint, munit bigint, estates bigint[], punits bigint[], addr text) ON COMMIT DROP"
        )
        names = units["names"]
        rows, running = [], 0
        for (gid, cid, sid, did, city, lng, lat, _code), n in zip(grid_rows, counts, strict=True):
            est = units["estates"].get(cid, [])
            su = units["street"]
            rows.append(
                (
                    running,
                    gid,
                    cid,
                    sid,
                    did,
                    city,
                    lng,
                    lat,
                    n,
                    units["community"].get(cid),
                    su[(sid, "U")],
                    su[(sid, "S")],
                    su[(sid, "H")],
                    su[(sid, "M")],
                    [e for e, _u in est],
                    [u or 0 for _e, u in est],
                    f"{names.get(sid, '')}{names.get(cid, '')}",
                )
            )
            running += n
        raw = cur.cursor if hasattr(cur, "cursor") else cur
        with raw.copy("COPY linli_gen_grid FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cur.execute("CREATE INDEX ON linli_gen_grid (ord)")
        cur.execute("ANALYZE linli_gen_grid")
        # secondary indexes off during a big load, rebuilt afterwards (same definitions)
        dropped = []
        if sum(counts) >= 200_000:
            cur.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = 'cases_workorder'::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
            )
            dropped = cur.fetchall()
            for name, _def in dropped:
                cur.execute(f'DROP INDEX "{name}"')
        summary.phases["prepare"] = time.monotonic() - t

        cols, select = _pg_case_sql(pos_sql, moment, channel_sql)
        sql = f"INSERT INTO cases_workorder ({', '.join(cols)}) {select}"
        total = sum(counts)
        progress = Progress(total, "cases", stream=stream, label=f"cases {summary.scale} ")
        t = time.monotonic()
        # chunks of whole grids, about CHUNK cases each
        starts = [r[0] for r in rows] + [total]
        lo = 0
        while lo < total:
            hi_i = bisect.bisect_left(starts, lo + CHUNK)
            hi = starts[min(hi_i, len(starts) - 1)]
            if hi <= lo:
                hi = total
            cur.execute(sql, {**params, "lo": lo, "hi": hi})
            progress.advance(hi - lo)
            lo = hi
        progress.finish()
        summary.phases["cases"] = time.monotonic() - t
        t = time.monotonic()
        for _name, definition in dropped:
            cur.execute(definition)
        summary.phases["indexes"] = time.monotonic() - t

        t = time.monotonic()
        cur.execute(
            _pg_event_sql(), {"first": summary.first_id, "now": now, "since": now - dt.timedelta(days=EVENT_DAYS)}
        )
        summary.events = cur.rowcount
        summary.phases["events"] = time.monotonic() - t
        stream.write(f"events: {summary.events:,} timeline rows in {summary.phases['events']:.1f} s\n")
        _ = (CaseEvent, WorkOrder)


def _pg_case_sql(pos_sql: str, moment, channel_sql: str) -> tuple[list[str], str]:
    """The columns and the SELECT that builds cases for the grids in linli_gen_grid (ord range added by the
    caller). Each nesting level draws or derives what the next one needs; random() runs once per row."""
    ln = "(exp({m} + {s} * {z}))"  # log-normal minutes

    def lognorm(median_min: float, sigma: float, z: str) -> str:
        return ln.format(m=round(math.log(median_min), 4), s=sigma, z=z)

    a = """
      SELECT g.*, s.i,
        random() AS u_cat, random() AS u_day, random() AS u_hour, random() AS u_min, random() AS u_prio,
        random() AS u_chan, random() AS u_lead, random() AS u_est, random() AS u_est2, random() AS u_term,
        random() AS u_rate, random() AS u_cb, random() AS u_open, random() AS u_self, random() AS u_txt,
        random() AS u_prop, random() AS u_jx, random() AS u_jy,
        sqrt(-2 * ln(1 - random())) AS r1, 2 * pi() * random() AS t1,
        sqrt(-2 * ln(1 - random())) AS r2, 2 * pi() * random() AS t2,
        sqrt(-2 * ln(1 - random())) AS r3, 2 * pi() * random() AS t3
      FROM linli_gen_grid g CROSS JOIN LATERAL generate_series(1, g.n) AS s(i)
      WHERE g.ord >= %(lo)s AND g.ord < %(hi)s
    """
    b = f"""
      SELECT a.*, k, (%(cat_id)s::bigint[])[k] AS category_id, {channel_sql} AS channel,
        CASE WHEN u_prio < (%(pdraw)s::float8[])[(k - 1) * 4 + 1] THEN 1
             WHEN u_prio < (%(pdraw)s::float8[])[(k - 1) * 4 + 2] THEN 2
             WHEN u_prio < (%(pdraw)s::float8[])[(k - 1) * 4 + 3] THEN 3 ELSE 4 END AS p,
        least(((((%(dslot)s::date[])[1 + floor(u_day * 20000)::int]
              + make_interval(hours => (%(hslot)s::int[])[1 + floor(u_hour * 1000)::int], secs => u_min * 3600))
              AT TIME ZONE %(tz)s)), %(now)s::timestamptz - make_interval(secs => 60 + u_min * 7200)) AS sub,
        CASE WHEN cardinality(estates) > 0 AND u_est2 < 0.85
             THEN 1 + floor(u_est * cardinality(estates))::int END AS ei,
        r1 * cos(t1) AS z1, r1 * sin(t1) AS z2, r2 * cos(t2) AS z3, r2 * sin(t2) AS z4, r3 * cos(t3) AS z5
      FROM ({a} OFFSET 0) a, LATERAL (SELECT (%(cslot)s::int[])[1 + floor(a.u_cat * 2000)::int] AS k) kk
    """
    # stage delays in minutes (urgent cases 10× faster; self-handled grid cases done on the spot)
    c = f"""
      SELECT b.*, (%(natural)s::bool[])[(k - 1) * 4 + p] AS nat,
        (%(resp)s::int[])[(k - 1) * 4 + p] AS lim_resp, (%(reso)s::int[])[(k - 1) * 4 + p] AS lim_reso,
        (%(warnp)s::int[])[(k - 1) * 4 + p] AS lim_warn,
        (channel = 'grid' AND u_self < 0.4) AS self_handled,
        CASE WHEN p = 1 THEN 0.1 ELSE 1 END AS f,
        sub AT TIME ZONE %(tz)s AS l,
        CASE WHEN ei IS NOT NULL THEN estates[ei] END AS estate_id,
        CASE (%(lead_kind)s::int[])[k]
          WHEN 1 THEN CASE WHEN u_lead < (%(lead_share)s::float8[])[k] AND ei IS NOT NULL AND punits[ei] > 0
                           THEN punits[ei] ELSE cunit END
          WHEN 2 THEN CASE WHEN u_lead < (%(lead_share)s::float8[])[k] THEN uunit ELSE cunit END
          WHEN 3 THEN CASE WHEN u_lead < (%(lead_share)s::float8[])[k] THEN sunit ELSE cunit END
          WHEN 4 THEN CASE WHEN u_lead < (%(lead_share)s::float8[])[k] THEN hunit ELSE cunit END
          WHEN 5 THEN CASE WHEN u_lead < (%(lead_share)s::float8[])[k] THEN munit ELSE cunit END
          ELSE cunit END AS lead
      FROM ({b} OFFSET 0) b
    """
    d = f"""
      SELECT c.*,
        CASE WHEN self_handled THEN sub + ((5 + u_txt * 40) * interval '1 minute')
             ELSE sub + ((f * {lognorm(15, 1.0, "z1")}) * interval '1 minute') END AS t_acc,
        ((f * {lognorm(30, 1.0, "z2")}) * interval '1 minute') AS d_disp,
        ((f * {lognorm(180, 1.2, "z3")}) * interval '1 minute') AS d_start,
        ((f * {lognorm(3600, 1.1, "z4")}) * interval '1 minute') AS d_res,
        (({lognorm(1440, 0.8, "z5")}) * interval '1 minute') AS d_rate,
        (l::date - %(d0)s::date) AS di, extract(epoch FROM l - l::date) AS sec
      FROM ({c} OFFSET 0) c
    """
    e = f"""
      SELECT d.*,
        CASE WHEN self_handled THEN t_acc ELSE t_acc + d_disp END AS t_disp,
        CASE WHEN self_handled THEN t_acc ELSE t_acc + d_disp + d_start END AS t_start,
        CASE WHEN self_handled THEN t_acc ELSE greatest(sub + d_res, t_acc + d_disp + d_start + interval '20 minutes')
             END AS t_res,
        {pos_sql} AS wpos
      FROM ({d} OFFSET 0) d
    """
    f = f"""
      SELECT e.*, t_res + d_rate AS t_rate, t_res + d_rate + ((30 + u_cb * 480) * interval '1 minute') AS t_close,
        CASE WHEN nat THEN sub + lim_resp * interval '1 minute'
             ELSE {moment("wpos + lim_resp * 60")} END AS response_due,
        CASE WHEN nat THEN sub + lim_reso * interval '1 minute'
             ELSE {moment("wpos + lim_reso * 60")} END AS resolve_due,
        CASE WHEN nat THEN sub + ((lim_reso * lim_warn / 100) * interval '1 minute')
             ELSE {moment("wpos + (lim_reso * lim_warn / 100) * 60")} END AS warn_at
      FROM ({e} OFFSET 0) e
    """
    # status as of now: terminal specials first (不予受理 2 %, merged 1.5 %), then the stage reached
    g = f"""
      SELECT f.*,
        CASE
          WHEN u_term < 0.02 AND t_acc <= %(now)s THEN 'rejected'
          WHEN u_term >= 0.02 AND u_term < 0.035 AND t_acc <= %(now)s THEN 'merged'
          WHEN t_close <= %(now)s THEN 'closed'
          WHEN t_rate <= %(now)s THEN 'reviewed'
          WHEN t_res <= %(now)s THEN 'resolved'
          WHEN t_start <= %(now)s THEN CASE WHEN u_open < 0.02 THEN 'suspended' WHEN u_open < 0.05 THEN 'returned'
                                            ELSE 'in_progress' END
          WHEN t_disp <= %(now)s THEN CASE WHEN u_open < 0.03 THEN 'returned' ELSE 'dispatched' END
          WHEN t_acc <= %(now)s THEN 'accepted'
          ELSE 'submitted' END AS status
      FROM ({f} OFFSET 0) f
    """
    h = f"""
      SELECT g.*,
        status IN ('rejected', 'merged') AS special,
        status IN ('resolved', 'reviewed', 'closed') AS finished,
        status IN ('submitted', 'accepted', 'dispatched', 'in_progress', 'returned') AS active
      FROM ({g} OFFSET 0) g
    """
    cols_exprs = [
        ("created_at", "sub"),
        ("updated_at", "sub"),
        ("title", "(%(cat_name)s::text[])[k]"),
        ("description", "(%(cat_name)s::text[])[k] || '：' || (%(phrase)s::text[])[1 + floor(u_txt * 8)::int]"),
        ("suggestion_confidence", "NULL"),
        ("category_corrected", "u_prop < 0.05"),
        ("priority", "(ARRAY['urgent', 'high', 'normal', 'low'])[p]"),
        ("status", "status"),
        ("channel", "channel"),
        ("anonymous", "channel = 'resident' AND u_prop > 0.9"),
        ("caller_name", "''"),
        ("caller_phone_enc", "''"),
        ("caller_phone_hash", "''"),
        ("call_time", "CASE WHEN channel = 'hotline' THEN sub END"),
        ("external_ref", "''"),
        ("address", "addr"),
        ("lat", "lat + (u_jy - 0.5) * 0.002"),
        ("lng", "lng + (u_jx - 0.5) * 0.002"),
        ("escalation_level", "CASE WHEN esc THEN 1 ELSE 0 END"),
        ("self_handled", "self_handled AND NOT special"),
        ("resolution", "CASE WHEN finished THEN '已处理完毕，已回复反映人。' ELSE '' END"),
        ("submitted_at", "sub"),
        ("accepted_at", "CASE WHEN status <> 'submitted' THEN t_acc END"),
        ("dispatched_at", "CASE WHEN NOT special AND t_disp <= %(now)s THEN t_disp END"),
        ("started_at", "CASE WHEN NOT special AND status <> 'returned' AND t_start <= %(now)s THEN t_start END"),
        ("resolved_at", "CASE WHEN finished THEN t_res END"),
        ("closed_at", "CASE WHEN status = 'closed' THEN t_close WHEN special THEN t_acc END"),
        ("response_due", "response_due"),
        ("resolve_due", "resolve_due"),
        ("warn_at", "warn_at"),
        ("natural_time", "nat"),
        ("suspended_at", "CASE WHEN status = 'suspended' THEN t_start + (%(now)s::timestamptz - t_start) / 2 END"),
        ("suspended_from", "CASE WHEN status = 'suspended' THEN 'in_progress' ELSE '' END"),
        ("suspension_requested", "false"),
        ("paused_minutes", "0"),
        ("warned_at", "CASE WHEN warned THEN warn_at END"),
        ("overdue_at", "CASE WHEN esc THEN resolve_due END"),
        ("responded_late", "NOT special AND t_start <= %(now)s AND t_start > response_due"),
        ("resolved_late", "finished AND t_res > resolve_due"),
        ("rating", "CASE WHEN rated THEN CASE WHEN u_rate < 0.85 THEN 'satisfied' WHEN u_rate < 0.95 THEN 'basic' "
                   "ELSE 'unsatisfied' END ELSE '' END"),
        ("rating_comment", "''"),
        ("rated_at", "CASE WHEN rated THEN t_rate END"),
        ("rated_by_callback", "rated AND u_cb < 0.35"),
        ("reopen_count", "CASE WHEN rated AND u_rate >= 0.975 THEN 1 ELSE 0 END"),
        ("version", "1"),
        ("category_id", "category_id"),
        ("city_id", "city_id"),
        ("community_id", "community_id"),
        ("district_id", "district_id"),
        ("escalated_to_id", "CASE WHEN esc THEN coalesce(community_id, street_id) END"),
        ("estate_id", "estate_id"),
        ("grid_id", "id"),
        ("handler_id", "NULL"),
        ("house_id", "NULL"),
        ("lead_unit_id", "CASE WHEN NOT special AND t_disp <= %(now)s THEN lead END"),
        ("merged_into_id", "NULL"),
        ("open311_client_id", "NULL"),
        ("proposed_unit_id", "CASE WHEN status <> 'submitted' AND NOT special THEN "
                             "CASE WHEN u_prop < 0.08 THEN cunit ELSE lead END END"),
        ("reporter_id", "NULL"),
        ("reporter_resident_id", "NULL"),
        ("street_id", "street_id"),
        ("suggested_category_id", "category_id"),
    ]  # fmt: skip
    # marks the deadline sweep would have set: warned, overdue (and escalated one level) — for open cases as
    # of now, for finished ones as of their resolution
    i = f"""
      SELECT h.*, (active OR finished) AND warn_at <= CASE WHEN active THEN %(now)s::timestamptz ELSE t_res END
               AS warned,
             (active OR finished) AND resolve_due <= CASE WHEN active THEN %(now)s::timestamptz ELSE t_res END AS esc,
             status IN ('reviewed', 'closed') AS rated
      FROM ({h} OFFSET 0) h
    """
    cols = [c for c, _e in cols_exprs]
    select = f"SELECT {', '.join(e for _c, e in cols_exprs)} FROM ({i} OFFSET 0) g"
    return cols, select


def _pg_event_sql() -> str:
    return """
      INSERT INTO cases_caseevent (work_order_id, action, from_status, to_status, actor_id, actor_name, at, note,
                                   unit_id, data)
      SELECT w.id, e.action, e.from_status, e.to_status, NULL, e.actor, e.at, e.note, e.unit_id, '{}'::jsonb
      FROM cases_workorder w CROSS JOIN LATERAL (VALUES
        (1, 'submit', '', 'submitted', w.submitted_at, w.description, NULL::bigint, '市民'),
        (2, 'accept', 'submitted', 'accepted', w.accepted_at, '', NULL, '受理员'),
        (3, 'reject', 'accepted', 'rejected', CASE WHEN w.status = 'rejected' THEN w.closed_at END, '不属于受理范围',
         NULL, '受理员'),
        (4, 'merge', 'accepted', 'merged', CASE WHEN w.status = 'merged' THEN w.closed_at END, '重复工单', NULL,
         '派单员'),
        (5, 'dispatch', 'accepted', 'dispatched', w.dispatched_at, '', w.lead_unit_id, '派单员'),
        (6, 'start', 'dispatched', 'in_progress', w.started_at, '', w.lead_unit_id, '承办人'),
        (7, 'return', 'dispatched', 'returned', CASE WHEN w.status = 'returned' THEN w.dispatched_at
                                                  + interval '1 minute' END, '非本单位职责', w.lead_unit_id, '承办人'),
        (8, 'approve_suspend', 'in_progress', 'suspended', w.suspended_at, '等待配件', w.lead_unit_id, '主管'),
        (9, 'escalate', w.status, w.status, w.overdue_at, '超期自动上报', NULL, '系统'),
        (10, 'resolve', 'in_progress', 'resolved', w.resolved_at, w.resolution, w.lead_unit_id, '承办人'),
        (11, 'rate', 'resolved', 'reviewed', w.rated_at, '', NULL, '市民'),
        (12, 'close', 'reviewed', 'closed', CASE WHEN w.status = 'closed' THEN w.closed_at END, '', NULL, '回访员')
      ) AS e(ord, action, from_status, to_status, at, note, unit_id, actor)
      WHERE w.id >= %(first)s AND e.at IS NOT NULL
        AND (w.status IN ('submitted', 'accepted', 'dispatched', 'in_progress', 'returned', 'suspended')
             OR w.submitted_at >= %(since)s)
      ORDER BY w.id, e.at, e.ord
    """


# ------------------------------------------------------------------ other databases: rows built in Python


def _py_generate(grid_rows, counts, units, now, seed, summary: CasesSummary) -> None:
    from linli.cases import deadlines
    from linli.cases.models import CaseEvent, WorkOrder

    rng = random.Random(seed)
    leaves = _leaves()
    limits = _limits(leaves)
    tz = ZoneInfo(settings.TIME_ZONE)
    local_now = timezone.localtime(now, tz)
    days, weights = _day_weights(local_now.date())
    dslot = _slots(days, weights, 20000)
    hslot = _slots(list(range(24)), HOUR_WEIGHTS, 1000)
    cslot = _slots(leaves, [MIX.get(c.code, 0.3) for c in leaves], 2000)
    names = units["names"]

    def minutes(median, sigma):
        return dt.timedelta(minutes=rng.lognormvariate(math.log(median), sigma))

    cases = []
    for (gid, cid, sid, did, city, lng, lat, _code), n in zip(grid_rows, counts, strict=True):
        estates = units["estates"].get(cid, [])
        cunit = units["community"].get(cid)
        for _ in range(n):
            cat = rng.choice(cslot)
            u = rng.random()
            p = next(pr for pr, cum in _priority_draw(cat.default_priority) if u < cum)
            day = rng.choice(dslot)
            sub = dt.datetime.combine(day, dt.time(rng.choice(hslot)), tzinfo=tz) + dt.timedelta(
                seconds=rng.random() * 3600
            )
            sub = min(sub, now - dt.timedelta(seconds=60 + rng.random() * 7200))
            r, s, nat, w = limits[(cat.pk, p)]
            resp_due, res_due, warn_at = deadlines.due_dates(sub, deadlines.Limits(r, s, nat, w))
            channel = rng.choices([c for c, _s in CHANNELS], [s for _c, s in CHANNELS])[0]
            self_h = channel == "grid" and rng.random() < 0.4
            f = 0.1 if p == "urgent" else 1.0
            if self_h:
                t_acc = t_disp = t_start = t_res = sub + dt.timedelta(minutes=5 + rng.random() * 40)
            else:
                t_acc = sub + f * minutes(15, 1.0)
                t_disp = t_acc + f * minutes(30, 1.0)
                t_start = t_disp + f * minutes(180, 1.2)
                t_res = max(sub + f * minutes(3600, 1.1), t_start + dt.timedelta(minutes=20))
            t_rate = t_res + minutes(1440, 0.8)
            t_close = t_rate + dt.timedelta(minutes=30 + rng.random() * 480)
            est = rng.choice(estates) if estates and rng.random() < 0.85 else None
            kind, share = _lead_rule(cat.code)
            lead = cunit
            if rng.random() < share:
                if kind == "P" and est and est[1]:
                    lead = est[1]
                elif kind in "USHM" and kind != "C":
                    lead = units["street"][(sid, kind)]
            u_term, u_open = rng.random(), rng.random()
            if u_term < 0.02 and t_acc <= now:
                status = "rejected"
            elif u_term < 0.035 and t_acc <= now:
                status = "merged"
            elif t_close <= now:
                status = "closed"
            elif t_rate <= now:
                status = "reviewed"
            elif t_res <= now:
                status = "resolved"
            elif t_start <= now:
                status = "suspended" if u_open < 0.02 else "returned" if u_open < 0.05 else "in_progress"
            elif t_disp <= now:
                status = "returned" if u_open < 0.03 else "dispatched"
            elif t_acc <= now:
                status = "accepted"
            else:
                status = "submitted"
            special = status in ("rejected", "merged")
            finished = status in ("resolved", "reviewed", "closed")
            active = status in ACTIVE
            rated = status in ("reviewed", "closed")
            upto = now if active else t_res
            warned = (active or finished) and warn_at <= upto
            esc = (active or finished) and res_due <= upto
            u_rate = rng.random()
            cases.append(
                WorkOrder(
                    title=cat.name_zh,
                    description=f"{cat.name_zh}：{rng.choice(PHRASES)}",
                    category_id=cat.pk,
                    suggested_category_id=cat.pk,
                    priority=p,
                    status=status,
                    channel=channel,
                    call_time=sub if channel == "hotline" else None,
                    address=f"{names.get(sid, '')}{names.get(cid, '')}",
                    lat=(lat or 39.1) + (rng.random() - 0.5) * 0.002,
                    lng=(lng or 117.2) + (rng.random() - 0.5) * 0.002,
                    grid_id=gid,
                    community_id=cid,
                    street_id=sid,
                    district_id=did,
                    city_id=city,
                    estate_id=est[0] if est else None,
                    lead_unit_id=lead if not special and t_disp <= now else None,
                    proposed_unit_id=lead if status != "submitted" and not special else None,
                    escalation_level=1 if esc else 0,
                    escalated_to_id=(cid or sid) if esc else None,
                    self_handled=self_h and not special,
                    resolution="已处理完毕，已回复反映人。" if finished else "",
                    submitted_at=sub,
                    created_at=sub,
                    accepted_at=t_acc if status != "submitted" else None,
                    dispatched_at=t_disp if not special and t_disp <= now else None,
                    started_at=t_start if not special and status != "returned" and t_start <= now else None,
                    resolved_at=t_res if finished else None,
                    closed_at=t_close if status == "closed" else t_acc if special else None,
                    response_due=resp_due,
                    resolve_due=res_due,
                    warn_at=warn_at,
                    natural_time=nat,
                    suspended_at=t_start + (now - t_start) / 2 if status == "suspended" else None,
                    suspended_from="in_progress" if status == "suspended" else "",
                    warned_at=warn_at if warned else None,
                    overdue_at=res_due if esc else None,
                    responded_late=not special and t_start <= now and t_start > resp_due,
                    resolved_late=finished and t_res > res_due,
                    rating=("satisfied" if u_rate < 0.85 else "basic" if u_rate < 0.95 else "unsatisfied")
                    if rated
                    else "",
                    rated_at=t_rate if rated else None,
                    rated_by_callback=rated and rng.random() < 0.35,
                    reopen_count=1 if rated and u_rate >= 0.975 else 0,
                )
            )
    t = time.monotonic()
    WorkOrder.objects.bulk_create(cases, batch_size=500)
    # bulk_create sets auto_now fields to now: keep the history's own times
    summary.phases["cases"] = time.monotonic() - t
    since = now - dt.timedelta(days=EVENT_DAYS)
    events = []
    for wo in WorkOrder.objects.filter(pk__gte=summary.first_id).order_by("pk"):
        if wo.status not in OPEN and wo.submitted_at < since:
            continue
        steps = [
            ("submit", "", "submitted", wo.submitted_at, None),
            ("accept", "submitted", "accepted", wo.accepted_at, None),
            ("dispatch", "accepted", "dispatched", wo.dispatched_at, wo.lead_unit_id),
            ("start", "dispatched", "in_progress", wo.started_at, wo.lead_unit_id),
            ("reject", "accepted", "rejected", wo.closed_at if wo.status == "rejected" else None, None),
            ("merge", "accepted", "merged", wo.closed_at if wo.status == "merged" else None, None),
            (
                "return",
                "dispatched",
                "returned",
                wo.dispatched_at + dt.timedelta(minutes=1) if wo.status == "returned" else None,
                wo.lead_unit_id,
            ),
            ("approve_suspend", "in_progress", "suspended", wo.suspended_at, wo.lead_unit_id),
            ("escalate", wo.status, wo.status, wo.overdue_at, None),
            ("resolve", "in_progress", "resolved", wo.resolved_at, wo.lead_unit_id),
            ("rate", "resolved", "reviewed", wo.rated_at, None),
            ("close", "reviewed", "closed", wo.closed_at if wo.status == "closed" else None, None),
        ]
        for action, frm, to, at, unit in sorted((s for s in steps if s[3]), key=lambda s: s[3]):
            events.append(
                CaseEvent(
                    work_order_id=wo.pk, action=action, from_status=frm, to_status=to, at=at, unit_id=unit,
                    actor_name="系统",
                )
            )  # fmt: skip
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    summary.events = len(events)
