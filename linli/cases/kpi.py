"""考评: the work-order KPIs (12345-style 三率 and three more), per area and per handling unit, for a period.

Which cases: those REPORTED in the period (submitted_at, local days, both ends included). Each figure
describes what has become of those cases so far, so last month's figures settle as its cases finish.
A case is *accepted* (受理) unless it still waits for intake, was not accepted (不予受理) or was merged
into another case.

- Response rate (响应率): cases responded within the response limit / cases due to respond.
  Responded = handling started (started_at). Due to respond = accepted cases that have responded or whose
  response deadline has passed. Within the limit = started_at ≤ response_due.
- Resolution rate (办结率): cases resolved / cases accepted. Resolved = resolved, reviewed (回访) or closed;
  a reopened case counts again only once it is resolved again.
- Satisfaction rate (满意率): (satisfied + basically satisfied) / rated. Rated by the reporter or at call-back.
- On-time rate (按时办结率): cases resolved no later than resolve_due / cases resolved (resolve_due is moved
  on by approved suspensions, so suspended time does not make a case late).
- Mean handling time (平均办理时长): the mean over resolved cases of resolved_at − submitted_at, minus the
  time the case was suspended, in natural (clock) hours — nights, weekends and holidays included. The
  suspended time taken off is the case's recorded pause (working minutes for cases timed in working hours).
- Reopen rate (重办率): cases reopened at least once / cases resolved.

Counts are shown beside every rate; a rate with no cases to divide by is shown as "—", never as 0 %.

Data: whole past days come from the daily roll-up (rollup.py, CaseDayStat); today is counted live from
WorkOrder with the same SQL (shared between requests for at most a minute), so today's figures are current.
Both are restricted to the user's `cases.supervise` scope (rollup.scope_filter); scopes the roll-up cannot
express (estates, houses) are counted live for the whole period.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass, field, fields

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from linli.cases import rollup
from linli.cases.models import CaseDayStat, HandlingUnit, WorkOrder
from linli.core import codes
from linli.core.scope import Scope
from linli.places.models import Area

SUPERVISE = "cases.supervise"
CHILD_LEVEL = {"city": "district", "district": "street", "street": "community", "community": "grid", "grid": "grid"}
LEVEL_ORDER = ("city", "district", "street", "community", "grid")
MAX_DAYS = 731
# today's live counts are shared for a minute between requests for the same scope (not in tests, which
# change cases between two requests and expect to see it)
LIVE_CACHE_SECONDS = 0 if settings.MODE == "test" else 60

# key, label, numerator, denominator (None: a mean, not a rate)
METRICS = (
    ("response_rate", gettext_lazy("Response rate"), "responded_on_time", "due_response"),
    ("resolution_rate", gettext_lazy("Resolution rate"), "resolved", "accepted"),
    ("satisfaction_rate", gettext_lazy("Satisfaction rate"), "satisfied_total", "rated"),
    ("on_time_rate", gettext_lazy("On-time rate"), "resolved_on_time", "resolved"),
    ("mean_hours", gettext_lazy("Mean handling time (h)"), "handling_seconds", "resolved"),
    ("reopen_rate", gettext_lazy("Reopen rate"), "reopened", "resolved"),
)
METRIC_KEYS = tuple(m[0] for m in METRICS)
SORT_KEYS = ("submitted", *METRIC_KEYS)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class Counts:
    """Summed roll-up counts of some cases, with the KPIs computed from them."""

    submitted: int = 0
    accepted: int = 0
    due_response: int = 0
    responded: int = 0
    responded_on_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    handling_seconds: int = 0
    rated: int = 0
    satisfied: int = 0
    basic: int = 0
    reopened: int = 0
    open: int = 0
    overdue_open: int = 0

    def add(self, row: dict) -> Counts:
        for name in rollup.COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + int(row.get(name) or 0))
        return self

    def __iadd__(self, other: Counts) -> Counts:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def satisfied_total(self) -> int:
        return self.satisfied + self.basic

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.responded_on_time, self.due_response)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolved, self.accepted)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied_total, self.rated)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.resolved_on_time, self.resolved)

    @property
    def mean_hours(self) -> float | None:
        return self.handling_seconds / 3600 / self.resolved if self.resolved else None

    @property
    def reopen_rate(self) -> float | None:
        return _ratio(self.reopened, self.resolved)

    def metrics(self) -> list[dict]:
        """Each KPI with its value and the counts behind it, in METRICS order (for tables)."""
        out = []
        for key, label, num, den in METRICS:
            out.append(
                {
                    "key": key,
                    "label": label,
                    "value": getattr(self, key),
                    "num": getattr(self, num),
                    "den": getattr(self, den),
                    "mean": key == "mean_hours",
                    "text": fmt(key, getattr(self, key)),
                }
            )
        return out

    def metrics_by_key(self) -> dict[str, dict]:
        return {m["key"]: m for m in self.metrics()}


def fmt(key: str, value: float | None) -> str:
    """A KPI as people read it: "92.5%", "36.2" hours, or "—" when there is nothing to divide by."""
    if value is None:
        return "—"
    if key == "mean_hours":
        return f"{value:.1f}"
    return f"{value * 100:.1f}%"


# ----------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    key: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period just before, of the same length (for a calendar month: the month before)."""
        if self.key == "month":
            last = self.start - dt.timedelta(days=1)
            return Period(last.replace(day=1), last, "last-month")
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1), "previous")

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"

    def query(self) -> str:
        if self.key in ("month", "7", "30", "90"):
            return f"period={self.key}"
        return f"period=custom&start={self.start:%Y-%m-%d}&end={self.end:%Y-%m-%d}"


PERIOD_CHOICES = (
    ("month", gettext_lazy("This month")),
    ("7", gettext_lazy("Last 7 days")),
    ("30", gettext_lazy("Last 30 days")),
    ("90", gettext_lazy("Last 90 days")),
    ("custom", gettext_lazy("Dates")),
)


def this_month(today: dt.date | None = None) -> Period:
    today = today or timezone.localdate()
    return Period(today.replace(day=1), today, "month")


def parse_period(data, today: dt.date | None = None) -> tuple[Period, str]:
    """The period asked for in a query string, and an error message ('' if none); bad input falls back
    to this month with a message saying why."""
    today = today or timezone.localdate()
    key = (data.get("period") or "month").strip()
    if key in ("7", "30", "90"):
        return Period(today - dt.timedelta(days=int(key) - 1), today, key), ""
    if key != "custom":
        return this_month(today), ("" if key == "month" else _("Unknown period; showing this month."))
    try:
        start = dt.date.fromisoformat((data.get("start") or "").strip())
        end = dt.date.fromisoformat((data.get("end") or "").strip() or today.isoformat())
    except ValueError:
        return this_month(today), _("Enter dates as YYYY-MM-DD; showing this month.")
    end = min(end, today)
    if start > end:
        return this_month(today), _("The start date is after the end date; showing this month.")
    if (end - start).days >= MAX_DAYS:
        return this_month(today), _("Choose at most two years; showing this month.")
    return Period(start, end, "custom"), ""


# ----------------------------------------------------------------------------- scope and areas


def scope_of(user) -> Scope:
    return user.scope_for(SUPERVISE)


def area_in_scope(scope: Scope, area: Area) -> bool:
    if scope.all:
        return True
    ids = {area.pk, area.city_id, area.district_id, area.street_id, area.community_id} - {None}
    return bool(ids & scope.area_ids())


def home_area(user) -> Area | None:
    """The area a supervisor's tables start from: the one area of their scope, or the city for platform
    scopes; None when the scope names several areas (the tables then list those areas)."""
    scope = scope_of(user)
    if scope.all:
        return Area.objects.filter(level=codes.CITY).order_by("code").first()
    ids = scope.area_ids()
    if len(ids) == 1 and not (scope.estate_ids or scope.house_ids):
        return Area.objects.filter(pk__in=ids).first()
    return None


def area_q(area: Area | None) -> Q:
    return area.descendants_q() if area is not None else Q()


# ----------------------------------------------------------------------------- counting


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return rollup.day_bounds(start)[0], rollup.day_bounds(end)[1]


def count(
    user,
    period: Period,
    dims: tuple[str, ...] = (),
    area: Area | None = None,
    *,
    top_code: str = "",
    only: tuple[str, ...] = rollup.COUNT_FIELDS,
    now: dt.datetime | None = None,
) -> dict[tuple, Counts]:
    """Counts of the cases reported in `period` within the user's supervise scope (and `area`), grouped by
    `dims` (roll-up fields: area ids, top_code, lead_unit_id, day). Keys are tuples of the dims' values."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    scope = scope_of(user)
    out: dict[tuple, Counts] = {}
    if scope.empty or period.start > today:
        return out

    def fold(rows):
        for r in rows:
            key = tuple(r.get(d) for d in dims)
            out.setdefault(key, Counts()).add(r)

    rollup_q = rollup.scope_filter(scope)
    live_from = period.start if rollup_q is None else max(period.start, today)
    if rollup_q is not None and period.start < today:
        last = min(period.end, today - dt.timedelta(days=1))
        grain = rollup.grain_for(scope, dims, area.level if area else None, top_code)
        rows = CaseDayStat.objects.filter(rollup_q, area_q(area), grain=grain, day__gte=period.start, day__lte=last)
        if top_code:
            rows = rows.filter(top_code=top_code)
        sums = {name: Sum(name) for name in only}  # `only`: fewer sums for callers needing just a count
        if dims:
            fold(rows.order_by().values(*dims).annotate(**sums))
        else:
            fold([rows.aggregate(**sums)])
    if period.end >= today or rollup_q is None:
        last_live = min(period.end, today)
        key = _live_key(scope, dims, area, top_code, live_from, last_live)
        live = cache.get(key) if key else None
        if live is None:
            start, end = _bounds(live_from, last_live)
            cases = WorkOrder.objects.for_user(user, "supervise").filter(
                area_q(area), submitted_at__gte=start, submitted_at__lt=end
            )
            if top_code:
                cases = cases.filter(category__code__startswith=top_code)
            if "day" in dims:
                cases = cases.annotate(day=TruncDate("submitted_at"))
            live = rollup.aggregate(cases, dims, now)
            if key:
                cache.set(key, live, LIVE_CACHE_SECONDS)
        fold(live)
    # a grouped query over no rows says nothing; an aggregate over none returns one row of zeros
    if not dims and not out:
        out[()] = Counts()
    return out


def submitted_pairs(
    user,
    current: Period,
    previous: Period,
    dims: tuple[str, ...],
    area: Area | None = None,
    *,
    now: dt.datetime | None = None,
    having_current: int = 0,
) -> dict[tuple, tuple[int, int]]:
    """Cases reported in `current` and in `previous` (which ends before `current` starts), grouped by `dims`:
    {key: (current, previous)} in one grouped query over the roll-up, with conditional sums, plus today live.
    `having_current` drops, inside the database, keys with fewer reports in `current` than that (counting
    today's reports, which may add to any key, as if they all fell on it) — for lists that only want the
    keys that could pass such a threshold, at city scale."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    scope = scope_of(user)
    rollup_q = rollup.scope_filter(scope)
    if scope.empty or rollup_q is None or previous.start > today:
        # estate- or house-scoped users: two ordinary counts
        cur = count(user, current, dims, area, only=("submitted",), now=now)
        old = count(user, previous, dims, area, only=("submitted",), now=now)
        keys = set(cur) | set(old)
        return {
            k: (cur[k].submitted if k in cur else 0, old[k].submitted if k in old else 0)
            for k in keys
            if (cur[k].submitted if k in cur else 0) >= having_current
        }
    live: dict[tuple, int] = {}
    if current.end >= today:
        live = {
            k: c.submitted
            for k, c in count(user, Period(today, today), dims, area, only=("submitted",), now=now).items()
        }
    slack = max(live.values(), default=0)
    last = min(current.end, today - dt.timedelta(days=1))
    grain = rollup.grain_for(scope, dims, area.level if area else None)
    in_current = Q(day__gte=current.start)
    rows = (
        CaseDayStat.objects.filter(rollup_q, area_q(area), grain=grain, day__gte=previous.start, day__lte=last)
        .order_by()
        .values(*dims)
        .annotate(
            cur=Coalesce(Sum("submitted", filter=in_current), 0),
            old=Coalesce(Sum("submitted", filter=~in_current), 0),
        )
    )
    if having_current - slack > 0:
        rows = rows.filter(cur__gte=having_current - slack)
    out: dict[tuple, tuple[int, int]] = {}
    for r in rows:
        key = tuple(r[d] for d in dims)
        out[key] = (r["cur"] + live.get(key, 0), r["old"])
    for key, n in live.items():
        if key not in out:
            out[key] = (n, 0)
    return {k: v for k, v in out.items() if v[0] >= having_current}


def _live_key(scope: Scope, dims, area: Area | None, top_code: str, start: dt.date, end: dt.date) -> str:
    """Cache key of a live count: the scope's places, the grouping and filters (or '' when not cached)."""
    if not LIVE_CACHE_SECONDS or scope.estate_ids or scope.house_ids or scope.resident_ids:
        return ""
    places = (
        "all"
        if scope.all
        else ";".join(
            ",".join(map(str, sorted(ids)))
            for ids in (scope.city_ids, scope.district_ids, scope.street_ids, scope.community_ids, scope.grid_ids)
        )
    )
    raw = f"{places}|{','.join(dims)}|{area.pk if area else ''}|{top_code}|{start}|{end}"
    return "linli:kpi-live:" + hashlib.sha256(raw.encode()).hexdigest()


def totals(user, period: Period, area: Area | None = None, *, now: dt.datetime | None = None) -> Counts:
    return count(user, period, (), area, now=now).get((), Counts())


# ----------------------------------------------------------------------------- ranked tables


@dataclass
class Row:
    key: int | None
    name: str
    counts: Counts
    code: str = ""
    level: str = ""
    rank: int = 0
    drill: bool = False


@dataclass
class Table:
    by: str  # "area" | "unit"
    level: str  # the level of the rows (area tables)
    rows: list[Row] = field(default_factory=list)
    total: Counts = field(default_factory=Counts)


def _rank(rows: list[Row], sort: str) -> list[Row]:
    sort = sort if sort in SORT_KEYS else "resolution_rate"
    lower_is_better = sort in ("mean_hours", "reopen_rate")

    def key(row: Row):
        value = getattr(row.counts, sort)
        if value is None:
            return (1, 0.0, -row.counts.submitted, row.name)
        return (0, value if lower_is_better else -value, -row.counts.submitted, row.name)

    rows.sort(key=key)
    for i, row in enumerate(rows, 1):
        row.rank = i if getattr(row.counts, sort) is not None else 0
    return rows


def area_table(user, period: Period, area: Area | None, sort: str = "", *, now=None) -> Table:
    """One row per area one level below `area` (or per area of the user's scope when `area` is None)."""
    if area is None:
        scope = scope_of(user)
        mine = list(Area.objects.filter(pk__in=scope.area_ids()).order_by("code"))
        level = min((a.level for a in mine), key=LEVEL_ORDER.index, default=codes.STREET)
        children = [a for a in mine if a.level == level]
    else:
        level = CHILD_LEVEL[area.level]
        children = list(
            Area.objects.filter(Q(parent=area, level=level) | Q(pk=area.pk, level=codes.GRID)).order_by("code")
        )
    dim = f"{level}_id"
    counts = count(user, period, (dim,), area, now=now)
    table = Table(by="area", level=level)
    for a in children:
        c = counts.pop((a.pk,), Counts())
        table.rows.append(Row(a.pk, a.name, c, code=a.code, level=a.level, drill=a.level != codes.GRID))
    for (key,), c in counts.items():  # cases without an area at this level (reported to the level above)
        if c.submitted:
            table.rows.append(Row(key, _("(not in a %(level)s)") % {"level": _level_name(level)}, c))
    for row in table.rows:
        table.total += row.counts
    _rank(table.rows, sort)
    return table


def unit_table(user, period: Period, area: Area | None, sort: str = "", *, now=None) -> Table:
    """One row per lead unit of the cases; cases not yet dispatched form their own row."""
    counts = count(user, period, ("lead_unit_id",), area, now=now)
    names = dict(HandlingUnit.objects.filter(pk__in=[k[0] for k in counts if k[0]]).values_list("pk", "name"))
    table = Table(by="unit", level="")
    for (key,), c in counts.items():
        name = names.get(key, "") if key else _("(not dispatched)")
        table.rows.append(Row(key, name, c))
        table.total += c
    _rank(table.rows, sort)
    return table


def _level_name(level: str) -> str:
    return str(codes.LEVEL_LABELS().get(level, level))


# ----------------------------------------------------------------------------- .xlsx export

# headers in both languages, chosen by the user's language (as the registry's spreadsheets do)
XLSX_WORDS = {
    "area": ("地区", "Area"),
    "unit": ("处置单位", "Handling unit"),
    "code": ("代码", "Code"),
    "rank": ("排名", "Rank"),
    "submitted": ("反映量", "Reported"),
    "accepted": ("受理量", "Accepted"),
    "due_response": ("应响应", "Due to respond"),
    "responded_on_time": ("按时响应", "Responded on time"),
    "response_rate": ("响应率", "Response rate"),
    "resolved": ("办结量", "Resolved"),
    "resolution_rate": ("办结率", "Resolution rate"),
    "rated": ("评价量", "Rated"),
    "satisfied_total": ("满意+基本满意", "Satisfied + basically satisfied"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"),
    "resolved_on_time": ("按时办结", "Resolved on time"),
    "on_time_rate": ("按时办结率", "On-time rate"),
    "mean_hours": ("平均办理时长(小时)", "Mean handling time (hours)"),
    "reopened": ("重办量", "Reopened"),
    "reopen_rate": ("重办率", "Reopen rate"),
    "open": ("未办结", "Open"),
    "overdue_open": ("超期未办结", "Overdue, open"),
    "total": ("合计", "Total"),
    "by_area": ("按地区", "By area"),
    "by_unit": ("按单位", "By unit"),
    "period": ("统计期间(按反映日期)", "Period (by date reported)"),
}
XLSX_COLUMNS = (
    "submitted",
    "accepted",
    "due_response",
    "responded_on_time",
    "response_rate",
    "resolved",
    "resolution_rate",
    "rated",
    "satisfied_total",
    "satisfaction_rate",
    "resolved_on_time",
    "on_time_rate",
    "mean_hours",
    "reopened",
    "reopen_rate",
    "open",
    "overdue_open",
)


def _word(key: str) -> str:
    zh, en = XLSX_WORDS[key]
    return zh if (get_language() or "").startswith("zh") else en


def _cells(c: Counts) -> list:
    out = []
    for key in XLSX_COLUMNS:
        value = getattr(c, key)
        if key.endswith("_rate") and value is not None:
            value = round(value, 4)
        elif key == "mean_hours" and value is not None:
            value = round(value, 1)
        out.append(value)
    return out


def write_xlsx(tables: list[Table], period: Period, area: Area | None) -> tuple[bytes, int]:
    """The KPI tables as a workbook (one sheet per table, rates as percentages); returns (bytes, rows)."""
    wb = Workbook()
    wb.remove(wb.active)
    rows = 0
    bold = Font(bold=True)
    for table in tables:
        sheet = wb.create_sheet(_word("by_unit" if table.by == "unit" else "by_area"))
        sheet.append([_word("period"), f"{period.start:%Y-%m-%d} – {period.end:%Y-%m-%d}", area.name if area else ""])
        header = [_word("rank"), _word("unit" if table.by == "unit" else "area")]
        if table.by == "area":
            header.append(_word("code"))
        header += [_word(k) for k in XLSX_COLUMNS]
        sheet.append(header)
        for cell in sheet[2]:
            cell.font = bold
        for row in table.rows:
            lead = [row.rank or None, row.name] + ([row.code] if table.by == "area" else [])
            sheet.append(lead + _cells(row.counts))
            rows += 1
        sheet.append([None, _word("total")] + ([""] if table.by == "area" else []) + _cells(table.total))
        first = 3 if table.by == "unit" else 4
        for i, key in enumerate(XLSX_COLUMNS):
            if key.endswith("_rate"):
                for (cell,) in sheet.iter_rows(min_row=3, min_col=first + i, max_col=first + i):
                    cell.number_format = "0.0%"
        sheet.column_dimensions["B"].width = 24
        sheet.freeze_panes = "C3"
    with tempfile.TemporaryFile() as out:
        wb.save(out)
        out.seek(0)
        return out.read(), rows
