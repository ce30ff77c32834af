"""Work-order pages: insight — the supervisor's overview, the KPI tables (考评) with their .xlsx export, the
analysis (研判) with the hot-spot map, and the one-step proactive case (未诉先办).

All for `cases.supervise` (others get 403). Everything is counted within the user's supervise scope:
cases through `WorkOrder.objects.for_user(user, "supervise")`, the roll-up through kpi.count; an area
outside the scope is 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.http import requires
from linli.cases import analysis, kpi, services
from linli.cases.models import OPEN_STATUSES, Status, WorkOrder
from linli.core import audit, codes
from linli.places.models import Area

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RUNNING = [s for s in OPEN_STATUSES if s != Status.SUSPENDED]
OVERDUE_LIST = 20
# a city has thousands of handling units: the page shows the first rows of the ranking, the export all
PAGE_ROWS = 300
COORD_DECIMALS = 5


supervisor = requires(kpi.SUPERVISE)


def _area(request: HttpRequest) -> Area | None:
    """The area asked for (?area=<id>), which must lie in the supervise scope; else the user's home area."""
    raw = (request.GET.get("area") or "").strip()
    if not raw:
        return kpi.home_area(request.user)
    try:
        area = Area.objects.get(pk=int(raw))
    except (ValueError, Area.DoesNotExist):
        raise Http404 from None
    if not kpi.area_in_scope(kpi.scope_of(request.user), area):
        raise Http404
    return area


def _crumbs(user, area: Area | None) -> list[Area]:
    """The area's ancestors the user may open, top down, ending with the area itself."""
    if area is None:
        return []
    ids = [getattr(area, f"{lvl}_id") for lvl in ("city", "district", "street", "community")] + [area.pk]
    found = {a.pk: a for a in Area.objects.filter(pk__in=[i for i in ids if i])}
    scope = kpi.scope_of(user)
    return [found[i] for i in ids if i in found and kpi.area_in_scope(scope, found[i])]


def _period_context(request, period: kpi.Period, error: str, area: Area | None) -> dict:
    return {
        "period": period,
        "period_error": error,
        "period_choices": kpi.PERIOD_CHOICES,
        "area": area,
        "crumbs": _crumbs(request.user, area),
        "area_query": f"&area={area.pk}" if area else "",
    }


def _late(delta: dt.timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return _("%(days)d days") % {"days": hours // 24}
    if hours >= 1:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": max(int(delta.total_seconds() // 60), 1)}


def _case_link(case: WorkOrder) -> str:
    return services.case_url(case)


# ----------------------------------------------------------------------------- overview


@supervisor
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    area = kpi.home_area(user)
    cases = WorkOrder.objects.for_user(user, "supervise")
    # RUNNING is exactly the open-and-not-suspended list of the partial index wo_open_due
    live = cases.filter(status__in=RUNNING).aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(resolve_due__lte=now)),
        soon=Count("pk", filter=Q(warn_at__lte=now, resolve_due__gt=now)),
    )
    month = kpi.this_month(timezone.localdate(now))
    this, last = kpi.totals(user, month, now=now), kpi.totals(user, month.previous(), now=now)
    headline = []
    for key, label, _num, _den in kpi.METRICS:
        if key in ("response_rate", "resolution_rate", "satisfaction_rate"):
            headline.append({"label": label, "now": this.metrics_by_key()[key], "before": last.metrics_by_key()[key]})
    overdue = list(
        cases.filter(status__in=RUNNING, resolve_due__lte=now)
        .select_related("category", "lead_unit", "grid", "community")
        .order_by("resolve_due")[:OVERDUE_LIST]
    )
    for c in overdue:
        c.late = _late(now - c.resolve_due)
        c.link = _case_link(c)
    context = {
        "live": live,
        "month": month,
        "this": this,
        "last": last,
        "headline": headline,
        "overdue": overdue,
        "area": area,
        "map_url": reverse("cases:hotspots") + "?period=month" + (f"&area={area.pk}" if area else ""),
    }
    return render(request, "cases/insight/overview.html", context)


# ----------------------------------------------------------------------------- KPI tables


def _kpi_tables(request) -> tuple[dict, list[kpi.Table]]:
    period, error = kpi.parse_period(request.GET)
    area = _area(request)
    by = request.GET.get("by") if request.GET.get("by") in ("area", "unit") else "area"
    sort = request.GET.get("sort") or ""
    sort = sort if sort in kpi.SORT_KEYS else "resolution_rate"
    table = (kpi.unit_table if by == "unit" else kpi.area_table)(request.user, period, area, sort)
    context = _period_context(request, period, error, area)
    context.update({"by": by, "sort": sort, "table": table, "rows": table.rows[:PAGE_ROWS]})
    return context, [table]


@supervisor
@require_GET
def kpi_page(request: HttpRequest) -> HttpResponse:
    context, _tables = _kpi_tables(request)
    context["metrics"] = kpi.METRICS
    context["level_label"] = codes.LEVEL_LABELS().get(context["table"].level, "")
    return render(request, "cases/insight/kpi.html", context)


@supervisor
@require_GET
def kpi_export(request: HttpRequest) -> HttpResponse:
    period, _error = kpi.parse_period(request.GET)
    area = _area(request)
    sort = request.GET.get("sort") or ""
    tables = [kpi.area_table(request.user, period, area, sort), kpi.unit_table(request.user, period, area, sort)]
    data, rows = kpi.write_xlsx(tables, period, area)
    audit.record(
        "export",
        object_type="cases.kpi",
        user=request.user,
        object_repr=(area.name if area else "")[:200],
        after={
            "format": "xlsx",
            "rows": rows,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "area": area.pk if area else None,
        },
    )
    response = HttpResponse(data, content_type=XLSX)
    name = f"linli-kpi-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response


# ----------------------------------------------------------------------------- analysis


@supervisor
@require_GET
def analysis_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    data.setdefault("period", "90")
    period, error = kpi.parse_period(data)
    area = _area(request)
    top = analysis.top_categories()
    category = request.GET.get("category", "")
    category = category if category in top else ""
    grids_allowed = analysis.grids_allowed(user, area)
    hot = analysis.hot_grids(user, period, area, category) if grids_allowed else {}
    context = _period_context(request, period, error, area)
    by_category = analysis.by_category(user, period, area)
    context.update(
        {
            "categories": sorted(top.items()),
            "category": category,
            "by_category": by_category,
            "chart_data": {
                "weekly": analysis.weekly(user, area, category),
                "categories": by_category[:12],
                "grids": analysis.top_grids(hot),
            },
            "grids_allowed": grids_allowed,
            "children": [] if grids_allowed or area is None else Area.objects.filter(parent=area).order_by("code"),
            "changes": analysis.changes(user, period, area) if grids_allowed else [],
            "previous": period.previous(),
            "rising": analysis.rising(user, area) if grids_allowed else [],
            "rising_period": analysis.rising_period(),
            "rising_min": analysis.MIN_CASES,
            "recurring_allowed": analysis.recurring_allowed(user, area),
            "map_url": reverse("cases:hotspots")
            + f"?{period.query()}"
            + (f"&area={area.pk}" if area else "")
            + (f"&category={category}" if category else ""),
        }
    )
    if context["recurring_allowed"]:
        context["recurring"] = analysis.recurring(user, area)
        for r in context["recurring"]:
            r["link"] = _case_link(r["case"]) if r["case"] else ""
    for r in context["rising"]:
        r.link = _case_link(r.proactive_case) if r.proactive_case else ""
    return render(request, "cases/insight/analysis.html", context)


def _round(coords):
    if isinstance(coords, (int, float)):
        return round(coords, COORD_DECIMALS)
    return [_round(c) for c in coords]


@supervisor
@require_GET
def hotspots(request: HttpRequest) -> JsonResponse:
    """GeoJSON of the grids in scope (and area) with their case counts for the period. Large scopes get
    the MAP_MAX_GRIDS busiest grids only."""
    user = request.user
    period, _error = kpi.parse_period(request.GET)
    area = _area(request)
    category = (request.GET.get("category") or "")[:2]
    if not analysis.grids_allowed(user, area):
        return JsonResponse({"type": "FeatureCollection", "features": [], "max": 0, "truncated": True, "links": {}})
    hot = analysis.hot_grids(user, period, area, category)
    scope = kpi.scope_of(user)
    grids = Area.objects.filter(level=codes.GRID).exclude(boundary=None)
    if not scope.all:
        grids = grids.filter(Area.scope_q(scope))
    if area is not None:
        grids = grids.filter(Q(pk=area.pk) if area.level == codes.GRID else area.descendants_q())
    truncated = False
    if len(hot) > analysis.MAP_MAX_GRIDS or grids.count() > analysis.MAP_MAX_GRIDS:
        keep = [k for k, _n in sorted(hot.items(), key=lambda kv: -kv[1])[: analysis.MAP_MAX_GRIDS]]
        grids = grids.filter(pk__in=keep)
        truncated = True
    features = []
    for g in grids.only("pk", "name", "code", "boundary"):
        geometry = {"type": g.boundary["type"], "coordinates": _round(g.boundary["coordinates"])}
        props = {"id": g.pk, "name": g.name, "code": g.code, "count": hot.get(g.pk, 0)}
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "features": features,
            "max": max(hot.values(), default=0),
            "truncated": truncated,
            "links": {"grid": reverse("cases:analysis") + f"?{period.query()}&area=0"},
        }
    )


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("cases:analysis")


@supervisor
@require_POST
def proactive(request: HttpRequest) -> HttpResponse:
    """未诉先办: turn a rising grid × category finding into a proactive-inspection case."""
    try:
        case = analysis.create_proactive(request.user, request.POST.get("grid"), request.POST.get("category", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(_back(request))
    messages.success(request, _("Proactive case %(number)s opened.") % {"number": case.number})
    return redirect(_case_link(case) or _back(request))


urlpatterns = [
    path("overview/", overview, name="overview"),
    path("kpi/", kpi_page, name="kpi"),
    path("kpi/export/", kpi_export, name="kpi-export"),
    path("analysis/", analysis_page, name="analysis"),
    path("analysis/hotspots/", hotspots, name="hotspots"),
    path("analysis/proactive/", proactive, name="proactive"),
]
