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

Durations come from one SQL expression (`Seconds`); means and counts are SQL aggregates everywhere. Medians
and p90 are `percentile_cont` on PostgreSQL; SQLite (development and tests only) has no ordered-set aggregate,
so there the durations of the period are read as numbers and interpolated the same way in Python.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
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
from django.db.models.functions import Coalesce, ExtractHour, Greatest, Least, TruncDate, TruncMonth
from django.utils import timezone
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
        return self.as_sql(
            compiler,
            conn,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)",
            arg_joiner=" - ",
            **extra,
        )


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate percentile_cont(f) WITHIN GROUP (ORDER BY expr)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


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
    """The queryset with alias `k`: the row key."""
    if by == "day":
        return qs.annotate(k=TruncDate(time_field, tzinfo=TZ))
    if by == "month":
        return qs.annotate(k=TruncMonth(time_field, tzinfo=TZ))
    if by == "kind":
        case, hour = _kind_of(time_field)
        return qs.alias(h=hour).annotate(k=case)
    if by == "shift":
        return qs.annotate(k=F("shift_id"))
    return qs.annotate(k=Value(0, output_field=IntegerField()))


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


def _incident_stats(user, period: Period, by: str) -> dict[object, Row]:
    qs = _group(incidents(user, period), by, "received_at")
    aggregates: dict[str, Aggregate] = {
        "n": Count("pk"),
        "on_scene": Count("pk", filter=Q(on_scene_at__isnull=False)),
        "within": Count("pk", filter=Q(scene_s__lte=REFERENCE_SECONDS)),
    }
    pg = connection.vendor == "postgresql"
    for d in DURATIONS:
        aggregates[f"{d}_mean"] = Avg(f"{d}_s")
        if pg:
            aggregates[f"{d}_median"] = PercentileCont(f"{d}_s", 0.5)
            aggregates[f"{d}_p90"] = PercentileCont(f"{d}_s", 0.9)
    rows: dict[object, Row] = {}
    for r in qs.values("k").annotate(**aggregates).order_by():
        key = _norm(r["k"])
        row = Row(key, "", incidents=r["n"], on_scene=r["on_scene"], within=r["within"])
        for d in DURATIONS:
            setattr(row, d, Duration(r[f"{d}_mean"], r.get(f"{d}_median"), r.get(f"{d}_p90")))
        rows[key] = row
    if not pg and rows:
        # SQLite only: no percentile_cont; interpolate the durations the same way
        values: dict[object, dict[str, list[float]]] = {}
        for key, *secs in qs.annotate(a=F("ack_s"), b=F("dispatch_s"), c=F("scene_s")).values_list("k", "a", "b", "c"):
            bucket = values.setdefault(_norm(key), {d: [] for d in DURATIONS})
            for d, s in zip(DURATIONS, secs, strict=True):
                if s is not None:
                    bucket[d].append(s)
        for key, bucket in values.items():
            for d in DURATIONS:
                dur = getattr(rows[key], d)
                dur.median, dur.p90 = percentile(bucket[d], 0.5), percentile(bucket[d], 0.9)
    return rows


def _alarm_stats(user, period: Period, by: str) -> dict[object, tuple[int, int]]:
    if by == "shift":
        return {}
    qs = _group(alarms(user, period), by, "raised_at")
    return {
        _norm(r["k"]): (r["n"], r["f"])
        for r in qs.values("k").annotate(n=Count("pk"), f=Count("pk", filter=FALSE_Q)).order_by()
    }


def _shift_rows(user, period: Period, now: dt.datetime) -> list[Row]:
    """One row per shift on the roster in the period, with the alarms raised in its area during it."""
    start, end = bounds(period)
    area_match = (
        Q(grid_id=OuterRef("area_id"))
        | Q(community_id=OuterRef("area_id"))
        | Q(street_id=OuterRef("area_id"))
        | Q(district_id=OuterRef("area_id"))
        | Q(city_id=OuterRef("area_id"))
    )
    during = (
        Alarm.objects.for_user(user, "view")
        .filter(area_match, life_safety=True, raised_at__gte=OuterRef("starts_at"), raised_at__lt=OuterRef("ends_at"))
        .order_by()
        .values("life_safety")
    )
    shifts = (
        Shift.objects.for_user(user, "lead")
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("crew")
        .annotate(
            n=Subquery(during.annotate(c=Count("pk")).values("c")[:1], output_field=IntegerField()),
            f=Subquery(during.filter(FALSE_Q).annotate(c=Count("pk")).values("c")[:1], output_field=IntegerField()),
        )
        .order_by("starts_at", "area_id")
    )
    rows = []
    for s in shifts:
        local = timezone.localtime(s.starts_at, TZ)
        label = f"{local:%Y-%m-%d} {s.get_name_display()} · {s.crew.name}"
        rows.append(Row(s.pk, label, alarms=s.n or 0, false_alarms=s.f or 0, current=s.starts_at <= now < s.ends_at))
    return rows


def _offline(user, period: Period, now: dt.datetime) -> tuple[int, float]:
    start, end = bounds(period)
    until = min(end, now)
    now_count = Device.objects.for_user(user, "view").filter(active=True, online=False).count()
    ended = Coalesce("cleared_at", "closed_at", Value(until, output_field=DateTimeField()))
    secs = (
        Alarm.objects.for_user(user, "view")
        .filter(type=AlarmType.OFFLINE, raised_at__lt=until)
        .filter(Q(cleared_at__isnull=True, closed_at__isnull=True) | Q(cleared_at__gt=start) | Q(closed_at__gt=start))
        .aggregate(
            s=Sum(
                Seconds(
                    Least(ended, Value(until, output_field=DateTimeField())),
                    Greatest("raised_at", Value(start, output_field=DateTimeField())),
                )
            )
        )["s"]
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
    now = now or timezone.now()
    by = by if by in GROUPS else "day"
    if by == "shift":
        inc = _incident_stats(user, period, "shift")
        rows = _shift_rows(user, period, now)
        for row in rows:
            found = inc.pop(row.key, None)
            if found:
                found.alarms, found.false_alarms, found.label, found.current = (
                    row.alarms,
                    row.false_alarms,
                    row.label,
                    row.current,
                )
                rows[rows.index(row)] = found
        for key, found in inc.items():  # incidents of shifts out of the period or none
            found.label = _label("shift", None) if key is None else str(key)
            rows.append(found)
    else:
        rows = _merge(by, _incident_stats(user, period, by), _alarm_stats(user, period, by))
    total = _merge("total", _incident_stats(user, period, "total"), _alarm_stats(user, period, "total"))
    total_row = total[0] if total else Row(0, "")
    total_row.label = _("Total")
    daily = (
        rows if by == "day" else _merge("day", _incident_stats(user, period, "day"), _alarm_stats(user, period, "day"))
    )
    offline_now, offline_hours = _offline(user, period, now)
    return Report(period, by, rows, total_row, offline_now, offline_hours, daily)


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
