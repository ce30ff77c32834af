"""Dispatch center pages: the shift roster and handovers (dispatch.console reads, dispatch.lead edits) and the
center's KPIs with their .xlsx export (dispatch.lead).

Rosters are read through `Shift.objects.for_user(user, "console")`, handovers through
`Handover.objects.for_user`, the KPIs through linli/dispatch/kpi.py; anything outside the scope is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.http import AuthedHttpRequest, requires
from linli.accounts.models import User
from linli.core import audit
from linli.dispatch import kpi, roster
from linli.dispatch.models import Crew, Handover, Shift, hours_label
from linli.places.models import Area

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HANDOVERS_SHOWN = 20
console = requires("dispatch.console")
lead = requires("dispatch.lead")


def _areas(user) -> list[Area]:
    """The centers' areas the user sees crews of."""
    ids = Crew.objects.for_user(user, "console").values("area_id")
    return list(Area.objects.filter(pk__in=ids).order_by("code"))


def _week_start(raw: str, today: dt.date) -> tuple[dt.date, str]:
    if not raw:
        return today - dt.timedelta(days=today.weekday()), ""
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return today - dt.timedelta(days=today.weekday()), _("Enter the week as YYYY-MM-DD; showing this week.")
    return day - dt.timedelta(days=day.weekday()), ""


def _roster_url(area: Area, week: dt.date | None = None) -> str:
    url = reverse("shifts:roster") + f"?area={area.pk}"
    return url + (f"&week={week:%Y-%m-%d}" if week else "")


@console
@require_GET
def roster_page(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    areas = _areas(user)
    raw = (request.GET.get("area") or "").strip()
    if raw:
        area = next((a for a in areas if str(a.pk) == raw), None)
        if area is None:
            raise Http404
    else:
        area = areas[0] if areas else None
    now = timezone.now()
    today = timezone.localdate(now, roster.TZ)
    week, error = _week_start(request.GET.get("week", ""), today)
    context: dict[str, Any] = {
        "areas": areas,
        "area": area,
        "week": week,
        "week_error": error,
        "slots": roster.SLOTS,
    }
    if area is None:
        return render(request, "dispatch/shifts/roster.html", context)
    first = dt.datetime.combine(week, dt.time(0), tzinfo=roster.TZ)
    shifts = (
        Shift.objects.for_user(user, "console")
        .filter(area=area, starts_at__gte=first, starts_at__lt=first + dt.timedelta(days=7))
        .select_related("crew", "lead", "crew__lead")
    )
    by_start = {timezone.localtime(s.starts_at, roster.TZ): s for s in shifts}
    days: list[dict[str, Any]] = []
    missing = 0
    for d in range(7):
        day = week + dt.timedelta(days=d)
        cells = []
        for slot in range(3):
            start, end = roster.slot_bounds(day, slot)
            s = by_start.get(start)
            missing += s is None
            # the shift's own lead, else its crew's (as who_is_on_duty)
            cells.append(
                {
                    "shift": s,
                    "name": roster.SLOTS[slot][0].label,
                    "hours": hours_label(start, end),
                    "lead": s and (s.lead or s.crew.lead),
                    "current": bool(s and s.starts_at <= now < s.ends_at),
                }
            )
        days.append({"day": day, "today": day == today, "cells": cells})
    is_lead = user.has_linli_perm("dispatch.lead")
    crews = list(Crew.objects.for_user(user, "console").filter(area=area).select_related("lead"))
    can_fill = is_lead and Crew.objects.for_user(user, "lead").filter(area=area).exists()
    people: dict[int, User] = {}
    if is_lead:
        for c in crews:
            if c.lead:
                people[c.lead.pk] = c.lead
            for m in c.members.all():
                people[m.pk] = m
    duty = roster.who_is_on_duty(area, now)
    current = duty.shift
    latest = current or (
        Shift.objects.for_user(user, "console").filter(area=area, starts_at__lte=now).order_by("-starts_at").first()
    )
    handovers = list(
        Handover.objects.for_user(user, "console")
        .filter(shift__area=area)
        .select_related("shift", "shift__crew", "author", "received_by")[:HANDOVERS_SHOWN]
    )
    for h in handovers:
        h.receivable = h.received_at is None and roster.can_receive(user, h)
    context.update(
        {
            "days": days,
            "duty": duty,
            "handover_shift": latest,
            "work": roster.workload(area, user),
            "missing": missing,
            "can_fill": can_fill,
            "handovers": handovers,
            "is_lead": is_lead,
            "crews": crews,
            "people": sorted(people.values(), key=lambda u: (str(u), u.username)),
            "prev_week": week - dt.timedelta(days=7),
            "next_week": week + dt.timedelta(days=7),
        }
    )
    return render(request, "dispatch/shifts/roster.html", context)


@lead
@require_POST
def shift_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shift = get_object_or_404(Shift.objects.for_user(request.user, "lead").select_related("area"), pk=pk)
    crew = Crew.objects.for_user(request.user, "lead").filter(pk=request.POST.get("crew") or 0, area=shift.area).first()
    raw_lead = (request.POST.get("lead") or "").strip()
    new_lead = User.objects.filter(pk=raw_lead).first() if raw_lead.isdigit() else None
    if crew is None or (raw_lead and new_lead is None):
        messages.error(request, _("Choose a crew of this center and one of its people as the lead."))
    else:
        try:
            roster.change_shift(shift, crew=crew, lead=new_lead, user=request.user)
            messages.success(request, _("The shift has been changed."))
        except ValueError as exc:
            messages.error(request, str(exc))
    local = timezone.localtime(shift.starts_at, roster.TZ).date()
    return redirect(_roster_url(shift.area, local))


@lead
@require_POST
def roster_fill(request: AuthedHttpRequest) -> HttpResponse:
    """Put the missing shifts of one week on the roster (three crews in turn); shifts already there are kept."""
    user = request.user
    area_ids = Crew.objects.for_user(user, "lead").values("area_id")
    area = get_object_or_404(Area.objects.filter(pk__in=area_ids), pk=_int(request.POST.get("area")))
    today = timezone.localdate(timezone.now(), roster.TZ)
    week, error = _week_start(request.POST.get("week", ""), today)
    if error:
        messages.error(request, error)
        return redirect(_roster_url(area))
    try:
        made = roster.make_roster(area, week, 7, user=user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext("%(n)d shift put on the roster.", "%(n)d shifts put on the roster.", made.created)
            % {"n": made.created},
        )
    return redirect(_roster_url(area, week))


def _int(raw: str | None) -> int:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0


@console
@require_POST
def handover_write(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shift = get_object_or_404(Shift.objects.for_user(request.user, "console").select_related("area"), pk=pk)
    try:
        roster.write_handover(shift, note=request.POST.get("note", ""), user=request.user, now=timezone.now())
        messages.success(request, _("Handover note saved; the next shift will see it."))
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(_roster_url(shift.area))


@console
@require_POST
def handover_receive(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    handover = get_object_or_404(
        Handover.objects.for_user(request.user, "console").select_related("shift", "shift__area", "shift__crew"), pk=pk
    )
    try:
        roster.receive_handover(handover, user=request.user, now=timezone.now())
        messages.success(request, _("Handover received."))
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(_roster_url(handover.shift.area))


# ----------------------------------------------------------------------------- KPIs


@lead
@require_GET
def kpi_page(request: AuthedHttpRequest) -> HttpResponse:
    period, error = kpi.parse_period(request.GET)
    by = request.GET.get("by") or "day"
    rep = kpi.report(request.user, period, by)
    context = {
        "rep": rep,
        "period": period,
        "period_error": error,
        "period_choices": kpi.PERIOD_CHOICES,
        "by": rep.by,
        "groups": [(k, kpi.GROUP_LABELS[k]) for k in kpi.GROUPS],
        "chart": kpi.chart_data(rep),
        "reference_minutes": kpi.REFERENCE_SECONDS // 60,
        "rows_html": kpi.rows_html(rep.rows),
        "total_html": kpi.rows_html([rep.total]),
    }
    return render(request, "dispatch/kpi/kpi.html", context)


@lead
@require_GET
def kpi_export(request: AuthedHttpRequest) -> HttpResponse:
    period, _error = kpi.parse_period(request.GET)
    now = timezone.now()
    reports = kpi.reports(request.user, period, kpi.GROUPS, now=now)
    data, rows = kpi.write_xlsx(reports)
    audit.record(
        "export",
        object_type="dispatch.kpi",
        user=request.user,
        object_repr=period.label()[:200],
        after={"format": "xlsx", "rows": rows, "start": period.start.isoformat(), "end": period.end.isoformat()},
    )
    response = HttpResponse(data, content_type=XLSX)
    name = f"linli-dispatch-kpi-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response
