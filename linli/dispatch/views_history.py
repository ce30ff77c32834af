"""The dispatch center's history (/dispatch/history/): past incidents, and life-safety alarms that were closed
without one (false alarm, test, cleared by the device, handled elsewhere).

Read-only. Incidents come through `services.console_incidents` (`Incident.objects.for_user(user, "console")`),
alarms through `services.console_alarms` (the console's scope), so a call-taker finds exactly what their console
could have shown. Each tab is two statements, the count and the page (its keys picked first, see `page_of`);
the times to acknowledge, dispatch and scene are worked out from the row's own timestamps.

Filters come from the query string; bad input never fails the page: it is dropped with a message saying why.
There is no search by ID or phone number: those are stored encrypted (docs/dispatch-center.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from linli.accounts.http import AuthedHttpRequest, requires
from linli.cases.kpi import Period
from linli.dispatch import kpi, services
from linli.dispatch.models import OPEN_INCIDENT, Incident, IncidentStatus
from linli.iot.models import LIFE_SAFETY, Alarm, AlarmStatus, AlarmType, CloseReason, Device
from linli.people.models import Resident
from linli.places.models import Area

PER_PAGE = 50
TEXT_MAX = 50
DEFAULT_PERIOD = "7"
TABS = ("incidents", "alarms")
LATE = dt.timedelta(seconds=kpi.REFERENCE_SECONDS)
# a scope this large lists its streets only (a city's thousands of communities are no choice to scroll)
MAX_AREA_CHOICES = 300
STILL_OPEN = "open_any"
FALSE_ALARM = Incident.Callback.FALSE_ALARM

STATUS_CHOICES = [(STILL_OPEN, gettext_lazy("still open (any step)")), *IncidentStatus.choices]
TYPE_CHOICES = [(value, label) for value, label in AlarmType.choices if value in LIFE_SAFETY]

# An incident's outcome, in this order of precedence: what a call-back or the alarm's closing found, then who
# took the person over, then how the incident ended. Each filter matches exactly the rows labelled with it.
_FALSE = Q(callback=FALSE_ALARM) | Q(alarm__close_reason=CloseReason.FALSE_ALARM)
_TEST = Q(alarm__close_reason=CloseReason.TEST) & ~_FALSE
_NOT_FALSE_OR_TEST = ~_FALSE & ~Q(alarm__close_reason=CloseReason.TEST)
INCIDENT_OUTCOMES: dict[str, tuple[object, Q]] = {
    "completed": (
        gettext_lazy("completed"),
        Q(status=IncidentStatus.COMPLETED, handover_to="") & _NOT_FALSE_OR_TEST,
    ),
    "handed_over": (
        gettext_lazy("handed over to 120, 119, 110 or family"),
        ~Q(handover_to="") & _NOT_FALSE_OR_TEST,
    ),
    "false_alarm": (gettext_lazy("false alarm"), _FALSE),
    "test": (gettext_lazy("test"), _TEST),
    "closed": (
        gettext_lazy("closed without rescue"),
        Q(status=IncidentStatus.CLOSED, handover_to="") & _NOT_FALSE_OR_TEST,
    ),
}
ALARM_OUTCOMES: dict[str, tuple[object, Q]] = {
    "false_alarm": (gettext_lazy("false alarm"), Q(status=AlarmStatus.CLOSED, close_reason=CloseReason.FALSE_ALARM)),
    "test": (gettext_lazy("test"), Q(status=AlarmStatus.CLOSED, close_reason=CloseReason.TEST)),
    "cleared": (gettext_lazy("cleared by the device"), Q(status=AlarmStatus.CLEARED)),
    "resolved": (
        gettext_lazy("closed as handled"),
        Q(status=AlarmStatus.CLOSED) & ~Q(close_reason__in=(CloseReason.FALSE_ALARM, CloseReason.TEST)),
    ),
}


@dataclass
class Filters:
    """What the query string asked for, after checking it; `errors` says what was dropped and why."""

    tab: str
    period: Period
    status: str = ""
    type: str = ""
    outcome: str = ""
    area: Area | None = None
    text: str = ""
    late: bool = False
    errors: list[str] = field(default_factory=list)

    def query(self, tab: str | None = None) -> str:
        """The query string of these filters (for the pager and the tabs), without the page."""
        tab = tab or self.tab
        p = self.period
        pairs: list[tuple[str, str]] = [("tab", tab), ("period", p.key)]
        if p.key == "custom":
            pairs += [("start", p.start.isoformat()), ("end", p.end.isoformat())]
        for name in ("type", "text"):
            if getattr(self, name):
                pairs.append((name, getattr(self, name)))
        if self.area is not None:
            pairs.append(("area", str(self.area.pk)))
        if tab == self.tab:  # the status, outcome and late filters mean different things on each tab
            if self.status:
                pairs.append(("status", self.status))
            if self.outcome:
                pairs.append(("outcome", self.outcome))
            if self.late:
                pairs.append(("late", "1"))
        return urlencode(pairs)

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.type or self.outcome or self.area or self.text or self.late)


def scope_areas(user) -> list[Area]:
    """The streets and communities of the user's console scope, in code order (streets only when there are
    more than MAX_AREA_CHOICES)."""
    scope = user.scope_for(services.CONSOLE)
    if scope.empty:
        return []
    areas = Area.objects.filter(level__in=("street", "community"))
    if not scope.all:
        areas = areas.filter(Area.scope_q(scope))
    found = list(areas.order_by("code")[: MAX_AREA_CHOICES + 1])
    if len(found) > MAX_AREA_CHOICES:
        found = list(areas.filter(level="street").order_by("code")[:MAX_AREA_CHOICES])
    return found


def parse_filters(data, areas: list[Area]) -> Filters:
    tab = data.get("tab") or "incidents"
    if tab not in TABS:
        tab = "incidents"
    period, error = kpi.parse_period(
        {"period": data.get("period") or DEFAULT_PERIOD, "start": data.get("start"), "end": data.get("end")}
    )
    f = Filters(tab=tab, period=period)
    if error:
        f.errors.append(error)

    def choice(name: str, allowed, message: str) -> str:
        value = (data.get(name) or "").strip()
        if value and value not in allowed:
            f.errors.append(message)
            return ""
        return value

    outcomes = INCIDENT_OUTCOMES if tab == "incidents" else ALARM_OUTCOMES
    f.type = choice("type", {v for v, _label in TYPE_CHOICES}, _("Unknown alarm type; showing all types."))
    f.outcome = choice("outcome", outcomes, _("Unknown outcome; showing all outcomes."))
    if tab == "incidents":
        f.status = choice("status", {v for v, _label in STATUS_CHOICES}, _("Unknown state; showing all states."))
        f.late = (data.get("late") or "") not in ("", "0")
    raw_area = (data.get("area") or "").strip()
    if raw_area:
        f.area = next((a for a in areas if str(a.pk) == raw_area), None)
        if f.area is None:
            f.errors.append(_("That street or community is not one of yours; showing all of them."))
    f.text = " ".join((data.get("text") or "").split())[:TEXT_MAX]
    return f


class AnyOf(Func):
    """`expression = ANY(array)` (PostgreSQL)."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def page_of(qs: QuerySet, number, related: tuple[str, ...]) -> Page:
    """Page `number` of `qs` (the first if not a number, the last if past it) in two statements: the count,
    and the page's rows. The rows' statement picks the page's keys in a subquery that carries the scope and
    every filter (`SELECT id … ORDER BY … LIMIT 50 OFFSET n`, read from an index) and joins only those rows;
    joining first and cutting after makes the database join every row a page skips.

    On PostgreSQL the keys are matched as `id = ANY(ARRAY(subquery))`: a plain `id IN (subquery)` becomes a
    semi-join that, past join_collapse_limit (8) tables, is applied only after joining every row in the table
    (0.4 s for a district's 100,000 incidents instead of about 30 ms). The outer statement returns only the
    keys the scoped subquery chose.
    """
    paginator = Paginator(qs, PER_PAGE)
    try:
        number = paginator.validate_number(number)
    except PageNotAnInteger:
        number = 1
    except EmptyPage:
        number = paginator.num_pages
    bottom = (number - 1) * PER_PAGE
    keys = qs.values("pk")[bottom : bottom + PER_PAGE]
    match = AnyOf(F("pk"), ArraySubquery(keys)) if connection.vendor == "postgresql" else Q(pk__in=keys)
    rows = qs.model._default_manager.filter(match).select_related(*related).order_by(*qs.query.order_by)
    return Page(list(rows), number, paginator)


def _in_period(qs: QuerySet, f: Filters, time_field: str, type_field: str) -> QuerySet:
    start, end = kpi.bounds(f.period)
    qs = qs.filter(**{f"{time_field}__gte": start, f"{time_field}__lt": end})
    if f.type:
        qs = qs.filter(**{type_field: f.type})
    if f.area is not None:
        qs = qs.filter(**{f"{f.area.level}_id": f.area.pk})
    return qs


def _named(text: str) -> tuple[QuerySet, QuerySet]:
    """Residents whose name and devices whose code contain `text`, as subqueries: the scoped outer query joins
    nothing for them, and returns only its own rows."""
    return (
        Resident.objects.filter(name__icontains=text).values("pk"),
        Device.objects.filter(code__icontains=text).values("pk"),
    )


def incidents(user, f: Filters) -> QuerySet[Incident]:
    """The user's incidents received in the period that match the filters, newest first."""
    qs = _in_period(services.console_incidents(user), f, "received_at", "alarm__type")
    if f.status == STILL_OPEN:
        qs = qs.filter(status__in=OPEN_INCIDENT)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.outcome:
        qs = qs.filter(INCIDENT_OUTCOMES[f.outcome][1])
    if f.late:
        qs = qs.filter(on_scene_at__gt=F("received_at") + LATE)
    if f.text:
        residents, devices = _named(f.text)
        alarms = Alarm.objects.filter(device__in=devices).values("pk")
        qs = qs.filter(Q(resident__in=residents) | Q(alarm__in=alarms))
    return qs.order_by("-received_at", "-pk")


def closed_alarms(user, f: Filters) -> QuerySet[Alarm]:
    """The user's life-safety alarms raised in the period that ended without an incident, newest first."""
    qs = _in_period(services.console_alarms(user), f, "raised_at", "type").filter(
        status__in=(AlarmStatus.CLEARED, AlarmStatus.CLOSED), incident__isnull=True
    )
    if f.outcome:
        qs = qs.filter(ALARM_OUTCOMES[f.outcome][1])
    if f.text:
        residents, devices = _named(f.text)
        qs = qs.filter(Q(resident__in=residents) | Q(device__in=devices))
    return qs.order_by("-raised_at", "-pk")


INCIDENT_RELATED = (
    "alarm",
    "resident",
    "house__building",
    "house__unit",
    "community",
    "grid",
    "call_taker",
    "rescuer__user",
)
ALARM_RELATED = ("device", "resident", "house__building", "house__unit", "community", "grid", "closed_by")


def _minutes(start, end) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds() / 60


def _text(minutes: float | None) -> str:
    return "—" if minutes is None else f"{minutes:.1f}"


def _person(resident, today: dt.date) -> str:
    """What the console shows of a person: the name and age; never an ID or phone number."""
    if resident is None:
        return "—"
    age = resident.age_on(today)
    return resident.name if age is None else f"{resident.name} · {age} {_('years')}"


def _place(obj) -> tuple[str, str]:
    return f"{obj.community.name} · {obj.grid.name}", str(obj.house) if obj.house_id else ""


def incident_outcome(i: Incident) -> str:
    """The label of the row's outcome ('' while the incident is open and nothing decided it yet)."""
    if i.callback == FALSE_ALARM or i.alarm.close_reason == CloseReason.FALSE_ALARM:
        return str(INCIDENT_OUTCOMES["false_alarm"][0])
    if i.alarm.close_reason == CloseReason.TEST:
        return str(INCIDENT_OUTCOMES["test"][0])
    if i.handover_to:
        return _("handed over to %(to)s") % {"to": i.get_handover_to_display()}
    if i.status in (IncidentStatus.COMPLETED, IncidentStatus.CLOSED):
        return i.get_status_display()
    return ""


def incident_row(i: Incident, today: dt.date) -> dict:
    """One incident as the page shows it (labels and minutes worked out here: 50 rows render twice)."""
    scene = _minutes(i.received_at, i.on_scene_at)
    place, house = _place(i)
    return {
        "pk": i.pk,
        "url": reverse("dispatch:incident", args=[i.pk]),
        "at": i.received_at,
        "type": i.alarm.get_type_display(),
        "severity": i.alarm.severity,
        "severity_label": i.alarm.get_severity_display(),
        "person": _person(i.resident, today),
        "place": place,
        "house": house,
        "ack": _text(_minutes(i.received_at, i.acknowledged_at)),
        "dispatch": _text(_minutes(i.received_at, i.dispatched_at)),
        "scene": _text(scene),
        "late": scene is not None and scene * 60 > kpi.REFERENCE_SECONDS,
        "state": i.get_status_display() if i.is_open else "",
        "outcome": incident_outcome(i),
        "call_taker": str(i.call_taker),
        "rescuer": str(i.rescuer) if i.rescuer_id else "",
    }


def alarm_outcome(a: Alarm) -> str:
    if a.status == AlarmStatus.CLEARED:
        return str(ALARM_OUTCOMES["cleared"][0])
    if a.close_reason in (CloseReason.FALSE_ALARM, CloseReason.TEST):
        return a.get_close_reason_display()
    return str(ALARM_OUTCOMES["resolved"][0])


def alarm_row(a: Alarm, today: dt.date) -> dict:
    place, house = _place(a)
    return {
        "pk": a.pk,
        "at": a.raised_at,
        "count": a.count,
        "type": a.get_type_display(),
        "severity": a.severity,
        "severity_label": a.get_severity_display(),
        "person": _person(a.resident, today),
        "place": place,
        "house": house,
        "device": a.device.code,
        "device_id": a.device_id,
        "outcome": alarm_outcome(a),
        "closed_at": a.closed_at or a.cleared_at,
        "closed_by": str(a.closed_by) if a.closed_by_id else "",
        "note": a.close_note,
    }


@requires(services.CONSOLE)
@require_GET
def history(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    areas = scope_areas(user)
    f = parse_filters(request.GET, areas)
    today = timezone.localdate()
    if f.tab == "incidents":
        page = page_of(incidents(user, f), request.GET.get("page"), INCIDENT_RELATED)
        rows = [incident_row(i, today) for i in page.object_list]
        outcomes = INCIDENT_OUTCOMES
    else:
        page = page_of(closed_alarms(user, f), request.GET.get("page"), ALARM_RELATED)
        rows = [alarm_row(a, today) for a in page.object_list]
        outcomes = ALARM_OUTCOMES
    context = {
        "f": f,
        "page": page,
        "rows": rows,
        "query": f.query(),
        "tabs": [
            ("incidents", _("Incidents"), f.query("incidents")),
            ("alarms", _("Alarms closed without an incident"), f.query("alarms")),
        ],
        "period_choices": kpi.PERIOD_CHOICES,
        "status_choices": STATUS_CHOICES,
        "type_choices": TYPE_CHOICES,
        "outcome_choices": [(k, label) for k, (label, _q) in outcomes.items()],
        "areas": areas,
        "reference_minutes": kpi.REFERENCE_SECONDS // 60,
        "can_view_devices": user.has_linli_perm("iot.view"),
    }
    return render(request, "dispatch/history.html", context)
