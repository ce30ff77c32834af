"""The dispatch center's KPIs by shift, day and month, counted in SQL.

Everything is within the user's scope: incidents through `Incident.objects.for_user(user, "lead")`, alarms and
devices through `…for_user(user, "view")` (iot.view). A row counts what was *received* in it (Asia/Shanghai days
and months; an incident belongs to the shift that claimed it).

- alarms received: life-safety alarms raised (they all go to the center);
- time to acknowledge: incident received → acknowledged (claimed by a call-taker);
- time to dispatch: received → a rescuer dispatched; time to scene: received → rescuer on scene;
  each as mean, median and 90th percentile (linear interpolation, as PostgreSQL's percentile_cont);
- within 18 min: incidents on scene within REFERENCE_SECONDS of being received / incidents with a rescuer on
  scene (the seeds' reference: Shijingshan's center promises a rescuer at the door within 18 minutes);
- false-alarm rate: alarms closed as false alarm or test, or whose call-back found a false alarm / alarms;
- devices offline now (active devices not online) and device offline-hours in the period (from the offline
  alarms: raised → cleared or closed, clipped to the period).

How it is counted, in few statements whatever the number of rows (docs/dispatch-center.md, KPIs):

- incidents: durations come from one SQL expression (`Seconds`). On PostgreSQL one statement gives the rows,
  the days (for the charts) and the total with GROUPING SETS: counts, means, and medians and p90 as
  `percentile_cont`. SQLite (development and tests only) has no ordered-set aggregate: there the period's
  incidents are read once and counted, averaged and interpolated the same way in Python.
- alarms: one grouped statement counts them by Beijing hour (and by the area of the roster's shifts when rows
  are shifts); days, months, shift types, the total and each roster shift's alarms are sums of those hours.
  A shift that does not start and end on a whole hour (never made by the roster) is counted by itself.
- devices offline: two statements.

The period's edges: incidents and alarms count in the row (and period) they were received in, whatever
happened after; a shift that runs past the period counts only its alarms inside it; an offline alarm counts only
its hours inside the period, and nothing (never a negative span) if it ended before it.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, Greatest, Least, TruncDate, TruncHour, TruncMonth
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.cases.kpi import PERIOD_CHOICES, Period, parse_period  # noqa: F401 - re-exported for the views
from linli.dispatch.models import Incident, Shift
from linli.iot.models import Alarm, AlarmType, CloseReason, Device

TZ = ZoneInfo("Asia/Shanghai")
REFERENCE_SECONDS = 18 * 60
LEAD = "dispatch.lead"
GROUPS = ("day", "month", "shift", "kind")
GROUP_LABELS = {
    "day": gettext_lazy("By day"),
    "month": gettext_lazy("By month"),
    "shift": gettext_lazy("By shift"),
    "kind": gettext_lazy("By shift type"),
}
FALSE = (CloseReason.FALSE_ALARM, CloseReason.TEST)
DURATIONS = ("ack", "dispatch", "scene")


class Seconds(Func):
    """Seconds from the second expression to the first, as a float (NULL if either is NULL)."""

    output_field = FloatField()
    template = "((julianday(%(expressions)s)) * 86400.0)"
    arg_joiner = ") - julianday("

    def as_postgresql(self, compiler, conn, **extra):
        # date_part is double precision already; EXTRACT is numeric since PostgreSQL 14, several times slower
        return self.as_sql(compiler, conn, template="date_part('epoch', %(expressions)s)", arg_joiner=" - ", **extra)


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (what percentile_cont computes)."""
    if not values:
        return None
    values = sorted(values)
    pos = (len(values) - 1) * fraction
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


# ----------------------------------------------------------------------------- rows


@dataclass
class Duration:
    mean: float | None = None
    median: float | None = None
    p90: float | None = None

    def minutes(self) -> dict[str, float | None]:
        return {k: (None if v is None else round(v / 60, 2)) for k, v in self.__dict__.items()}

    @staticmethod
    def _text(seconds: float | None) -> str:
        return "—" if seconds is None else f"{seconds / 60:.1f}"

    @property
    def mean_text(self) -> str:
        return self._text(self.mean)

    @property
    def median_text(self) -> str:
        return self._text(self.median)

    @property
    def p90_text(self) -> str:
        return self._text(self.p90)

    @property
    def p90_late(self) -> bool:
        return self.p90 is not None and self.p90 > REFERENCE_SECONDS


@dataclass
class Row:
    key: object
    label: str
    alarms: int = 0
    false_alarms: int = 0
    incidents: int = 0
    on_scene: int = 0
    within: int = 0
    ack: Duration = field(default_factory=Duration)
    dispatch: Duration = field(default_factory=Duration)
    scene: Duration = field(default_factory=Duration)
    current: bool = False

    @property
    def within_share(self) -> float | None:
        return self.within / self.on_scene if self.on_scene else None

    @property
    def false_rate(self) -> float | None:
        return self.false_alarms / self.alarms if self.alarms else None

    @property
    def within_text(self) -> str:
        share = self.within_share
        return "—" if share is None else f"{100 * share:.1f}%"

    @property
    def false_text(self) -> str:
        rate = self.false_rate
        return "—" if rate is None else f"{100 * rate:.1f}%"


@dataclass
class Report:
    period: Period
    by: str
    rows: list[Row]
    total: Row
    offline_now: int
    offline_hours: float
    daily: list[Row]


def bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(period.start, dt.time(0), tzinfo=TZ)
    return start, dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)


def _kind_of(hour_field: str):
    hour = ExtractHour(hour_field, tzinfo=TZ)
    return Case(
        When(Q(**{"h__lt": 8}), then=Value(Shift.Name.NIGHT)),
        When(Q(**{"h__lt": 16}), then=Value(Shift.Name.DAY)),
        default=Value(Shift.Name.EVENING),
        output_field=CharField(),
    ), hour


def _group(qs, by: str, time_field: str):
    """The queryset with `k`, the row key of `by` (day, month, kind or shift)."""
    if by == "day":
        return qs.annotate(k=TruncDate(time_field, tzinfo=TZ))
    if by == "month":
        return qs.annotate(k=TruncMonth(time_field, tzinfo=TZ))
    if by == "kind":
        case, hour = _kind_of(time_field)
        return qs.alias(h=hour).annotate(k=case)
    return qs.annotate(k=F("shift_id"))


def _norm(key):
    if isinstance(key, dt.datetime):
        return timezone.localtime(key, TZ).date() if timezone.is_aware(key) else key.date()
    return key


def incidents(user, period: Period):
    start, end = bounds(period)
    return (
        Incident.objects.for_user(user, "lead")
        .filter(received_at__gte=start, received_at__lt=end)
        .alias(
            ack_s=Seconds("acknowledged_at", "received_at"),
            dispatch_s=Seconds("dispatched_at", "received_at"),
            scene_s=Seconds("on_scene_at", "received_at"),
        )
    )


def alarms(user, period: Period):
    start, end = bounds(period)
    return Alarm.objects.for_user(user, "view").filter(life_safety=True, raised_at__gte=start, raised_at__lt=end)


FALSE_Q = Q(close_reason__in=FALSE) | Q(incident__callback=Incident.Callback.FALSE_ALARM)

# ----------------------------------------------------------------------------- incidents

Stats = tuple[dict[object, Row], dict[object, Row], Row]


def _incident_stats(user, period: Period, by: str) -> Stats:
    """Incidents by `by`, by day, and in total (a row of zeros if there are none)."""
    qs = (
        _group(incidents(user, period), by, "received_at")
        .annotate(d=TruncDate("received_at", tzinfo=TZ), a=F("ack_s"), b=F("dispatch_s"), s=F("scene_s"))
        .values("k", "d", "a", "b", "s")
        .order_by()
    )
    if connection.vendor == "postgresql":
        return _incident_stats_sql(qs, by)
    return _incident_stats_python(qs)


def _incident_stats_sql(qs, by: str) -> Stats:
    """PostgreSQL: one statement over the scoped incidents (the queryset as a subquery) with GROUPING SETS.

    GROUPING(k, d) tells the levels apart: 1 a row of `by`, 2 a day, 3 the total. By month the days are
    grouped as (month, day) (0), so that one sort serves the three levels."""
    try:
        inner, params = qs.query.sql_with_params()
    except EmptyResultSet:  # nothing in scope
        return {}, {}, Row(0, "")
    if by == "day":  # k is the day too: select d twice, so that k is not computed
        keys, sets = 'x."d", x."d"', '(x."d"), ()'
    elif by == "month":
        keys, sets = 'x."k", x."d"', '(x."k", x."d"), (x."k"), ()'
    else:  # days first: sorting by the shift first reads the table along the shift index, slower
        keys, sets = 'x."k", x."d"', '(x."d"), (x."k"), ()'
    durations = ", ".join(
        f'AVG(x."{c}"), PERCENTILE_CONT(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x."{c}")' for c in "abs"
    )
    sql = (
        f'SELECT {keys}, GROUPING({keys}), COUNT(*), COUNT(x."s"), COUNT(*) FILTER (WHERE x."s" <= %s), '
        f"{durations} FROM ({inner}) x GROUP BY GROUPING SETS ({sets})"
    )
    rows: dict[object, Row] = {}
    days: dict[object, Row] = {}
    total = Row(0, "")
    with connection.cursor() as cursor:
        cursor.execute(sql, (REFERENCE_SECONDS, *params))
        for k, d, level, n, on_scene, within, *cells in cursor.fetchall():
            row = Row(0, "", incidents=n, on_scene=on_scene, within=within)
            for i, name in enumerate(DURATIONS):
                mean, cuts = cells[2 * i], cells[2 * i + 1]
                setattr(row, name, Duration(mean, *(cuts or (None, None))))
            if level == 3:
                total = row
            elif level == 1:
                row.key = _norm(k)
                rows[row.key] = row
            else:
                row.key = _norm(d)
                days[row.key] = row
    return (days if by == "day" else rows), days, total


def _row_of(key, values: list[list[float]], n: int) -> Row:
    ack, disp, scene = values
    row = Row(key, "", incidents=n, on_scene=len(scene), within=sum(1 for v in scene if v <= REFERENCE_SECONDS))
    for name, secs in zip(DURATIONS, values, strict=True):
        mean = sum(secs) / len(secs) if secs else None
        setattr(row, name, Duration(mean, percentile(secs, 0.5), percentile(secs, 0.9)))
    return row


def _incident_stats_python(qs) -> Stats:
    """SQLite: the period's durations read once, counted, averaged and interpolated as PostgreSQL does."""
    groups: dict[tuple[str, object], tuple[list[list[float]], list[int]]] = {}
    for k, d, *secs in qs.values_list("k", "d", "a", "b", "s"):
        for group in (("by", _norm(k)), ("day", _norm(d)), ("total", 0)):
            values, n = groups.setdefault(group, ([[], [], []], [0]))
            n[0] += 1
            for bucket, v in zip(values, secs, strict=True):
                if v is not None:
                    bucket.append(v)
    rows: dict[object, Row] = {}
    days: dict[object, Row] = {}
    total = Row(0, "")
    for (level, key), (values, n) in groups.items():
        row = _row_of(key, values, n[0])
        if level == "total":
            total = row
        else:
            (rows if level == "by" else days)[key] = row
    return rows, days, total


# ----------------------------------------------------------------------------- alarms


@dataclass
class AlarmHours:
    """Life-safety alarms and false alarms by Beijing hour (and by the areas at `levels`, for the roster)."""

    levels: tuple[str, ...]
    hours: list[tuple[dt.datetime, tuple, int, int]]  # (Beijing hour, naive; area ids by level; alarms; false)

    def by(self, by: str) -> dict[object, tuple[int, int]]:
        """Alarms and false alarms by day, month, shift type, or in total (key 0)."""
        out: dict[object, tuple[int, int]] = {}
        for hour, _areas, n, f in self.hours:
            key = _hour_key(by, hour)
            had = out.get(key, (0, 0))
            out[key] = (had[0] + n, had[1] + f)
        return out


def _hour_key(by: str, hour: dt.datetime) -> object:
    if by == "day":
        return hour.date()
    if by == "month":
        return hour.date().replace(day=1)
    if by == "kind":  # as _kind_of
        return Shift.Name.NIGHT if hour.hour < 8 else Shift.Name.DAY if hour.hour < 16 else Shift.Name.EVENING
    return 0


def _wall(value) -> dt.datetime:
    """A Beijing hour as read without the ORM's converters: naive on PostgreSQL, text on SQLite."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    if timezone.is_aware(value):
        return timezone.localtime(value, TZ).replace(tzinfo=None)
    return value


def _alarm_hours(user, period: Period, levels: tuple[str, ...] = ()) -> AlarmHours:
    fields = [f"{level}_id" for level in levels]
    qs = (
        alarms(user, period)
        .annotate(h=TruncHour("raised_at", tzinfo=TZ))
        .values_list("h", *fields)
        .annotate(n=Count("pk"), f=Count("pk", filter=FALSE_Q))
        .order_by()
    )
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return AlarmHours(levels, [])
    # read directly: thousands of rows, and the ORM's datetime conversion would cost more than the statement
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return AlarmHours(levels, [(_wall(r[0]), r[1:-2], r[-2], r[-1]) for r in rows])


@dataclass
class RosterShift:
    pk: int
    area_id: int
    level: str
    name: str
    crew: str
    starts_at: dt.datetime
    ends_at: dt.datetime

    def hours(self) -> list[dt.datetime] | None:
        """The Beijing hours it covers (naive), or None if it does not start and end on a whole hour."""
        start = timezone.localtime(self.starts_at, TZ).replace(tzinfo=None)
        end = timezone.localtime(self.ends_at, TZ).replace(tzinfo=None)
        if start.minute or start.second or start.microsecond or end.minute or end.second or end.microsecond:
            return None
        return [start + dt.timedelta(hours=i) for i in range(int((end - start) / dt.timedelta(hours=1)))]


def _shifts(user, period: Period) -> list[RosterShift]:
    """The shifts on the roster in the period that the user may lead, in order; and those that start outside it
    but claimed an incident received in it (received just before midnight, claimed just after), so that such an
    incident's row is labelled as its shift. Alarms count only inside the period, whatever the shift."""
    start, end = bounds(period)
    claimed = incidents(user, period).filter(shift__isnull=False).values("shift_id")
    qs = (
        Shift.objects.for_user(user, "lead")
        .filter(Q(starts_at__gte=start, starts_at__lt=end) | Q(pk__in=claimed))
        .order_by("starts_at", "area_id")
        .values_list("pk", "area_id", "area__level", "name", "crew__name", "starts_at", "ends_at")
    )
    return [RosterShift(*values) for values in qs]


def _shift_alarms(user, period: Period, shifts: list[RosterShift], hours: AlarmHours) -> dict[int, tuple[int, int]]:
    """Each shift's alarms raised in its area while it ran and within the period (a shift running past the
    period's end counts only its hours inside, as the total does): sums of its hours when every shift starts and
    ends on a whole hour (the roster's always do), else counted in SQL shift by shift."""
    covered = [s.hours() for s in shifts]
    if any(h is None for h in covered):
        return _shift_alarms_sql(user, period, [s.pk for s in shifts])
    at: dict[tuple[str, object, dt.datetime], tuple[int, int]] = {}
    for hour, areas, n, f in hours.hours:
        for level, area_id in zip(hours.levels, areas, strict=True):
            had = at.get((level, area_id, hour), (0, 0))
            at[(level, area_id, hour)] = (had[0] + n, had[1] + f)
    out = {}
    for s, its_hours in zip(shifts, covered, strict=True):
        n = f = 0
        for hour in its_hours or ():
            got = at.get((s.level, s.area_id, hour))
            if got:
                n, f = n + got[0], f + got[1]
        out[s.pk] = (n, f)
    return out


def _shift_alarms_sql(user, period: Period, shift_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Any shifts: each shift's alarms in the period counted by correlated subqueries (one pair per shift)."""
    area_match = (
        Q(grid_id=OuterRef("area_id"))
        | Q(community_id=OuterRef("area_id"))
        | Q(street_id=OuterRef("area_id"))
        | Q(district_id=OuterRef("area_id"))
        | Q(city_id=OuterRef("area_id"))
    )
    during = (
        alarms(user, period)
        .filter(area_match, raised_at__gte=OuterRef("starts_at"), raised_at__lt=OuterRef("ends_at"))
        .order_by()
        .values("life_safety")
    )
    counted = Shift.objects.filter(pk__in=shift_ids).annotate(
        n=Subquery(during.annotate(c=Count("pk")).values("c")[:1], output_field=IntegerField()),
        f=Subquery(during.filter(FALSE_Q).annotate(c=Count("pk")).values("c")[:1], output_field=IntegerField()),
    )
    return {pk: (n or 0, f or 0) for pk, n, f in counted.values_list("pk", "n", "f")}


def _shift_label(name: str, crew: str, starts_at: dt.datetime) -> str:
    label = Shift.Name(name).label if name in Shift.Name.values else name
    return f"{timezone.localtime(starts_at, TZ):%Y-%m-%d} {label} · {crew}"


def _shift_rows(user, period: Period, now: dt.datetime, shifts: list[RosterShift], hours: AlarmHours) -> list[Row]:
    """One row per shift on the roster in the period, with the alarms raised in its area during it."""
    counts = _shift_alarms(user, period, shifts, hours)
    rows = []
    for s in shifts:
        label = _shift_label(s.name, s.crew, s.starts_at)
        n, f = counts.get(s.pk, (0, 0))
        rows.append(Row(s.pk, label, alarms=n, false_alarms=f, current=s.starts_at <= now < s.ends_at))
    return rows


def _offline(user, period: Period, now: dt.datetime) -> tuple[int, float]:
    """Devices offline now, and the offline alarms' hours inside the period (up to now). Each alarm counts from
    when it was raised to when it was cleared (else closed, else now), clipped to the period: an alarm cleared
    before the period but closed inside it adds nothing, never a negative span."""
    start, end = bounds(period)
    until = min(end, now)
    now_count = Device.objects.for_user(user, "view").filter(active=True, online=False).count()
    ended = Coalesce("cleared_at", "closed_at", Value(until, output_field=DateTimeField()))
    off_from = Greatest("raised_at", Value(start, output_field=DateTimeField()))
    off_until = Least(ended, Value(until, output_field=DateTimeField()))
    secs = (
        Alarm.objects.for_user(user, "view")
        .filter(GreaterThan(off_until, off_from), type=AlarmType.OFFLINE, raised_at__lt=until)
        .aggregate(s=Sum(Seconds(off_until, off_from)))["s"]
    )
    return now_count, round(max(secs or 0.0, 0.0) / 3600, 1)


def _label(by: str, key) -> str:
    if key is None:
        return _("No shift")
    if by == "day":
        return f"{key:%Y-%m-%d}"
    if by == "month":
        return f"{key:%Y-%m}"
    if by == "kind":
        return str(Shift.Name(key).label)
    return str(key)


def _merge(by: str, inc: dict, al: dict) -> list[Row]:
    rows = []
    for key in sorted(set(inc) | set(al), key=lambda k: (k is None, str(k) if by != "kind" else _KIND_ORDER.get(k))):
        row = inc.get(key) or Row(key, "")
        row.alarms, row.false_alarms = al.get(key, (0, 0))
        row.label = _label(by, key)
        rows.append(row)
    return rows


_KIND_ORDER = {Shift.Name.NIGHT: 0, Shift.Name.DAY: 1, Shift.Name.EVENING: 2}


def report(user, period: Period, by: str = "day", now: dt.datetime | None = None) -> Report:
    """The KPIs of the period by `by` (day, month, shift or kind), with the days for the charts and the total.
    Five statements (plus the user's scope), whatever the number of incidents or shifts."""
    return reports(user, period, [by], now)[0]


def reports(user, period: Period, groupings: Iterable[str], now: dt.datetime | None = None) -> list[Report]:
    """`report` for several groupings of one period (the export): the alarms and devices are read once."""
    now = now or timezone.now()
    groupings = [by if by in GROUPS else "day" for by in groupings]
    shifts = _shifts(user, period) if "shift" in groupings else []
    hours = _alarm_hours(user, period, tuple(sorted({s.level for s in shifts})))
    offline_now, offline_hours = _offline(user, period, now)
    total_hours, day_hours = hours.by("total").get(0, (0, 0)), hours.by("day")
    out = []
    for by in groupings:
        inc, inc_days, total = _incident_stats(user, period, by)
        if by == "shift":
            rows = _shift_rows(user, period, now, shifts, hours)
            for i, row in enumerate(rows):
                found = inc.pop(row.key, None)
                if found:
                    found.alarms, found.false_alarms, found.label, found.current = (
                        row.alarms,
                        row.false_alarms,
                        row.label,
                        row.current,
                    )
                    rows[i] = found
            for key, found in inc.items():  # incidents of no shift (or of one out of the user's scope)
                found.label = _label("shift", None) if key is None else str(key)
                rows.append(found)
        else:
            rows = _merge(by, inc, hours.by(by))
        total.alarms, total.false_alarms = total_hours
        total.key, total.label = 0, _("Total")
        daily = rows if by == "day" else _merge("day", inc_days, day_hours)
        out.append(Report(period, by, rows, total, offline_now, offline_hours, daily))
    return out


# ----------------------------------------------------------------------------- charts and export


def chart_data(rep: Report) -> dict:
    def m(v):
        return None if v is None else round(v / 60, 1)

    return {
        "days": [r.label for r in rep.daily],
        "alarms": [r.alarms for r in rep.daily],
        "incidents": [r.incidents for r in rep.daily],
        "ack_mean": [m(r.ack.mean) for r in rep.daily],
        "scene_mean": [m(r.scene.mean) for r in rep.daily],
        "scene_p90": [m(r.scene.p90) for r in rep.daily],
        "within": [None if r.within_share is None else round(100 * r.within_share, 1) for r in rep.daily],
        "reference": REFERENCE_SECONDS / 60,
    }


_ROW_HTML = (
    '<tr{}><th scope="row" class="name">{}{}</th>\n'
    '  <td class="num">{}</td><td class="num">{}</td>\n'
    '  <td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>\n'
    '  <td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>\n'
    '  <td class="num">{}</td><td class="num">{}</td><td class="num{}">{}</td>\n'
    '  <td class="num">{}<span class="of">{} / {}</span></td>\n'
    '  <td class="num">{}<span class="of">{} / {}</span></td></tr>\n'
)


def rows_html(rows: Iterable[Row]) -> SafeString:
    """The table's rows as the page shows them (label, alarms, incidents, the three durations, within 18 min,
    false alarms). Built here rather than by a template per row: a year by shift is a thousand rows, which the
    template engine takes 100–200 ms to render; this takes a tenth of that."""
    current, late = mark_safe(' class="current"'), mark_safe(" ref-miss")
    now = " · " + _("now")
    return format_html_join(
        "",
        _ROW_HTML,
        (
            (
                current if row.current else "",
                row.label,
                now if row.current else "",
                row.alarms,
                row.incidents,
                row.ack.mean_text,
                row.ack.median_text,
                row.ack.p90_text,
                row.dispatch.mean_text,
                row.dispatch.median_text,
                row.dispatch.p90_text,
                row.scene.mean_text,
                row.scene.median_text,
                late if row.scene.p90_late else "",
                row.scene.p90_text,
                row.within_text,
                row.within,
                row.on_scene,
                row.false_text,
                row.false_alarms,
                row.alarms,
            )
            for row in rows
        ),
    )


def columns() -> list[str]:
    cols = [_("Alarms received"), _("Incidents")]
    for name in (_("Time to acknowledge"), _("Time to dispatch"), _("Time to scene")):
        cols += [
            _("%(what)s, mean (min)") % {"what": name},
            _("%(what)s, median (min)") % {"what": name},
            _("%(what)s, p90 (min)") % {"what": name},
        ]
    return cols + [
        _("On scene"),
        _("Within 18 min"),
        _("Share within 18 min"),
        _("False alarms"),
        _("False-alarm rate"),
    ]


def _cells(row: Row) -> list:
    out: list = [row.alarms, row.incidents]
    for d in DURATIONS:
        mins = getattr(row, d).minutes()
        out += [mins["mean"], mins["median"], mins["p90"]]
    return out + [row.on_scene, row.within, row.within_share, row.false_alarms, row.false_rate]


def write_xlsx(reports: list[Report]) -> tuple[bytes, int]:
    """One sheet per grouping (day, month, shift…); rates as percentages. Returns (bytes, rows)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    count = 0
    bold = Font(bold=True)
    for rep in reports:
        sheet = wb.create_sheet(str(GROUP_LABELS[rep.by])[:31])
        sheet.append(
            [
                _("Period"),
                rep.period.label(),
                _("Devices offline now"),
                rep.offline_now,
                _("Device offline-hours"),
                rep.offline_hours,
            ]
        )
        sheet.append([""] + columns())
        for cell in sheet[2]:
            cell.font = bold
        for row in rep.rows:
            sheet.append([row.label] + _cells(row))
            count += 1
        sheet.append([rep.total.label] + _cells(rep.total))
        n = len(columns())
        for col in (n - 2, n):  # the two rates (1-based after the label column: +1)
            for (cell,) in sheet.iter_rows(min_row=3, min_col=col + 1, max_col=col + 1):
                cell.number_format = "0.0%"
        sheet.column_dimensions["A"].width = 28
        sheet.freeze_panes = "B3"
    with tempfile.TemporaryFile() as out:
        wb.save(out)
        out.seek(0)
        return out.read(), count
