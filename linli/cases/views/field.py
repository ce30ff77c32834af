"""Work-order pages: field — the resident's and the grid worker's phone pages.

/cases/report/        one page, three steps: what is wrong (text, photos), where (home, a pin on the map,
                      or a grid and address for staff), send. Grid workers may record a problem fixed on
                      the spot (自行处置) with photos before and after.
/cases/mine/          the cases I reported, newest first.
/cases/mine/<pk>/     follow one of them and rate it when it is resolved. Only the reporter sees this page
                      (404 for everyone else, staff included: staff use the case page).

Every write is one call to linli.cases.services; nothing is created when any input is wrong.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.http import AuthedHttpRequest, requires
from linli.cases import attachments, locate, services, workflow
from linli.cases.models import CaseAttachment, Channel, Rating, Status, WorkOrder
from linli.places.models import Area, Building

PAGE_SIZE = 20
# a street has about 70 grids; beyond this many a select is no help and staff pin the place instead
MAX_GRID_CHOICES = 400
# how far around the pin the map draws grid boundaries (degrees, about 3 km)
MAP_WINDOW = 0.03
MAX_MAP_GRIDS = 150


# ----------------------------------------------------------------------------- who reports from where


def _channel(user) -> str:
    """Grid workers report as grid patrol; people whose reporting scope is only their own household are
    residents; everyone else reports as staff."""
    if "grid" in user.role_codes:
        return Channel.GRID
    scope = user.scope_for("cases.report")
    if scope.all or scope.area_ids() or scope.estate_ids:
        return Channel.STAFF
    return Channel.RESIDENT


def _home(user):
    """The bound home of a resident (user → resident → household → house), or None."""
    resident = getattr(user, "resident", None)
    if resident is None or resident.household_id is None:
        return None
    return resident.household.house


def _report_areas(user):
    """The areas a user may report in: None means anywhere Linli serves (residents report wherever they
    are); staff report within the scope of their cases.report assignments."""
    if _channel(user) == Channel.RESIDENT:
        return None
    scope = user.scope_for("cases.report")
    if scope.all:
        return None
    q = Area.scope_q(scope)
    if scope.estate_ids:
        q |= Q(pk__in=Building.objects.filter(estate_id__in=scope.estate_ids).values("grid_id"))
    return Area.objects.filter(q)


def _grid_choices(user) -> list[Area] | None:
    """The grids a staff member may pick from a list (None: too many to list; pin the place instead)."""
    areas = _report_areas(user)
    grids = (areas if areas is not None else Area.objects.all()).filter(level="grid").order_by("code")
    found = list(grids.only("pk", "name", "code")[: MAX_GRID_CHOICES + 1])
    return None if len(found) > MAX_GRID_CHOICES else found


def _map_centre(user, home) -> tuple[float, float]:
    if home is not None and home.building.lat is not None:
        return home.building.lng, home.building.lat
    areas = _report_areas(user)
    qs = (areas if areas is not None else Area.objects.all()).exclude(lat=None).order_by("level", "code")
    first = qs.only("lng", "lat").first()
    if first is not None:
        return first.lng, first.lat
    return 117.2, 39.12


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= 180 else None  # NaN and nonsense are no place


# ----------------------------------------------------------------------------- report


def _location(request: AuthedHttpRequest, data: dict, home, grids: list[Area] | None) -> services.Location:
    """The place from the form, or ValidationError naming the field."""
    where = data["where"]
    address = (data["map_address"] if where == "map" else data["address"])[:200]
    if where == "home":
        if home is None:
            raise ValidationError({"where": _("No home is bound to your account. Pin the place on the map.")})
        return services.locate_house(home)
    if where == "grid":
        if grids is None:
            raise ValidationError({"where": _("Pin the place on the map.")})
        grid = next((g for g in grids if str(g.pk) == data["grid"]), None)
        if grid is None:
            raise ValidationError({"grid": _("Choose the grid where the problem is.")})
        if not address:
            raise ValidationError({"address": _("Write the address, for example the building and the spot.")})
        grid = Area.objects.get(pk=grid.pk)  # with its ancestors, for the case's areas
        return services.Location(area=grid, address=address)
    lng, lat = _float(data["lng"]), _float(data["lat"])
    if lng is None or lat is None:
        raise ValidationError({"location": _("Tap the map where the problem is, or use “Where am I”.")})
    return services.locate_point(lng, lat, address=address, within=_report_areas(request.user))


def _form_data(request: AuthedHttpRequest, channel: str, home) -> dict:
    post = request.POST
    default_where = "home" if home is not None else ("grid" if channel != Channel.RESIDENT else "map")
    return {
        "description": post.get("description", "").strip(),
        "where": post.get("where", default_where),
        "lng": post.get("lng", ""),
        "lat": post.get("lat", ""),
        "address": post.get("address", "").strip(),
        "map_address": post.get("map_address", "").strip(),
        "grid": post.get("grid", ""),
        "anonymous": post.get("anonymous") == "on",
        "self_handled": channel == Channel.GRID and post.get("self_handled") == "on",
        "resolution": post.get("resolution", "").strip(),
    }


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {key: [str(m) for m in msgs] for key, msgs in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


@requires("cases.report")
def report(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    channel = _channel(user)
    home = _home(user)
    grids = _grid_choices(user) if channel != Channel.RESIDENT else None
    if grids is not None and channel == Channel.GRID and len(grids) == 1:
        default_grid = str(grids[0].pk)
    else:
        default_grid = ""
    data = _form_data(request, channel, home)
    if request.method != "POST":
        data["grid"] = default_grid
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        photos = request.FILES.getlist("photos")
        after = request.FILES.getlist("after_photos") if data["self_handled"] else []
        # the place is checked here (scope, pin); everything else by the service, so that the person
        # reads every problem at once
        location, place_errors = None, {}
        try:
            location = _location(request, data, home, grids)
        except ValidationError as exc:
            place_errors = _errors(exc)
        try:
            case = services.create_case(
                user,
                services.Report(
                    title="",
                    description=data["description"],
                    channel=channel,
                    location=location,
                    anonymous=data["anonymous"] and channel == Channel.RESIDENT,
                    photos=photos,
                    self_handled=data["self_handled"],
                    resolution=data["resolution"],
                    after_photos=after,
                ),
            )
        except ValidationError as exc:
            errors = _errors(exc)
            if place_errors:
                errors.pop("location", None)
                errors.update(place_errors)
        else:
            return redirect("cases:report-done", pk=case.pk)
    lng, lat = _map_centre(user, home)
    context = {
        "data": data,
        "errors": errors,
        "channel": channel,
        "is_resident": channel == Channel.RESIDENT,
        "is_grid": channel == Channel.GRID,
        "home": home,
        "grids": grids,
        "max_photos": attachments.MAX_PHOTOS,
        "max_photo_mb": attachments.max_bytes() // (1024 * 1024),
        "max_photo_bytes": attachments.max_bytes(),
        "map_lng": data["lng"] or lng,
        "map_lat": data["lat"] or lat,
        "has_pin": bool(_float(data["lng"]) is not None and _float(data["lat"]) is not None),
    }
    return render(request, "cases/field/report.html", context, status=400 if errors else 200)


@requires("cases.report")
def report_where(request: AuthedHttpRequest) -> JsonResponse:
    """For the map on the report page: the grid under a pin (or why there is none) and the grid
    boundaries around it. Grid boundaries are the public outline of the places Linli serves; the
    candidates are limited to where the user may report."""
    lng, lat = _float(request.GET.get("lng")), _float(request.GET.get("lat"))
    if lng is None or lat is None:
        return JsonResponse({"error": _("Tap the map where the problem is.")}, status=400)
    areas = _report_areas(request.user)
    base = areas if areas is not None else Area.objects.all()
    grid = locate.grid_at(lng, lat, within=areas)
    near = base.filter(
        level="grid",
        lng__range=(lng - MAP_WINDOW, lng + MAP_WINDOW),
        lat__range=(lat - MAP_WINDOW, lat + MAP_WINDOW),
    ).exclude(boundary=None)
    features = [
        {"type": "Feature", "geometry": g.boundary, "properties": {"id": g.pk, "name": g.name}}
        for g in near.only("pk", "name", "boundary")[:MAX_MAP_GRIDS]
    ]
    body: dict = {"type": "FeatureCollection", "features": features}
    if grid is None:
        body["error"] = (
            _("This place is outside the area Linli serves here. Check the pin.")
            if areas is None
            else _("This place is outside the area you may report in. Check the pin.")
        )
    else:
        community = Area.objects.filter(pk=grid.community_id).values_list("name", flat=True).first()
        body["grid"] = {"id": grid.pk, "name": grid.name, "community": community or ""}
        # the engine takes the nearest grid when a pin falls between drawn boundaries: say so
        body["inside"] = not grid.boundary or locate.contains(grid.boundary, lng, lat)
    return JsonResponse(body)


def _mine(user):
    """Cases the user reported: the only cases these pages show."""
    return WorkOrder.objects.for_user(user, "view").filter(reporter=user)


@requires("cases.report")
def report_done(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(_mine(request.user).select_related("lead_unit"), pk=pk)
    return render(request, "cases/field/done.html", {"case": case, "is_resident": _channel(request.user) == "resident"})


# ----------------------------------------------------------------------------- my reports

# the reporter's progress strip: submitted → accepted → being handled → resolved → rated
STEPS = (
    ("submitted", gettext_lazy("Submitted")),
    ("accepted", gettext_lazy("Accepted")),
    ("handling", gettext_lazy("Being handled")),
    ("resolved", gettext_lazy("Resolved")),
    ("rated", gettext_lazy("Rated")),
)
STEP_OF: dict[str, int] = {
    Status.SUBMITTED: 0,
    Status.ACCEPTED: 1,
    Status.DISPATCHED: 1,
    Status.RETURNED: 1,
    Status.IN_PROGRESS: 2,
    Status.SUSPENDED: 2,
    Status.RESOLVED: 3,
    Status.REVIEWED: 4,
    Status.CLOSED: 4,
}
# what the reporter reads for each state, in plain words
PLAIN_STATUS: dict[str, object] = {
    Status.SUBMITTED: gettext_lazy("Waiting to be accepted"),
    Status.ACCEPTED: gettext_lazy("Accepted, finding who will handle it"),
    Status.DISPATCHED: gettext_lazy("Passed to the people who will fix it"),
    Status.RETURNED: gettext_lazy("Finding the right people to handle it"),
    Status.IN_PROGRESS: gettext_lazy("Being handled"),
    Status.SUSPENDED: gettext_lazy("Paused for a while"),
    Status.RESOLVED: gettext_lazy("Resolved"),
    Status.REVIEWED: gettext_lazy("Done, thank you for rating"),
    Status.CLOSED: gettext_lazy("Closed"),
    Status.MERGED: gettext_lazy("Joined with a report already open"),
    Status.REJECTED: gettext_lazy("Not accepted"),
}
# colour class of the state in the lists
TONE: dict[str, str] = {
    Status.RESOLVED: "attention",
    Status.REVIEWED: "done",
    Status.CLOSED: "done",
    Status.MERGED: "done",
    Status.REJECTED: "stopped",
}


def _decorate(case: WorkOrder) -> WorkOrder:
    case.plain_status = PLAIN_STATUS.get(case.status, case.get_status_display())  # type: ignore[attr-defined]
    case.tone = TONE.get(case.status, "open")  # type: ignore[attr-defined]
    case.please_rate = case.status == Status.RESOLVED  # type: ignore[attr-defined]
    return case


@requires("cases.report")
def my_cases(request: AuthedHttpRequest) -> HttpResponse:
    qs = _mine(request.user).order_by("-submitted_at", "-pk").select_related("category")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page.object_list:
        _decorate(case)
    to_rate = qs.filter(status=Status.RESOLVED).count()
    return render(request, "cases/field/mine.html", {"page": page, "to_rate": to_rate})


# timeline actions the reporter reads; internal steps (notes between staff, suspension requests,
# merges of other reports into this one) stay on the staff case page
_SHOWN = {
    "submit",
    "accept",
    "dispatch",
    "reassign",
    "start",
    "progress",
    "return",
    "approve_suspend",
    "resume",
    "escalate",
    "resolve",
    "rate",
    "callback",
    "reopen",
    "close",
    "merge",
    "reject",
    "self_handle",
}


def _who(event, case: WorkOrder, me) -> str:
    """Handlers are shown by their unit, never by name; the reporter is "you"."""
    if event.actor_id == me.pk and event.action in ("submit", "rate"):
        return _("You")
    if event.action in ("dispatch", "reassign"):
        return ""  # "passed to <unit>" already names the unit
    if event.unit is not None:
        return event.unit.name
    if event.action == "self_handle" and case.lead_unit is not None:
        return case.lead_unit.name
    return _("Community service staff") if event.actor_id else _("Linli")


def _say(event, case: WorkOrder, me) -> str:
    data = event.data or {}
    unit = event.unit.name if event.unit is not None else ""
    text = {
        "submit": _("Report received"),
        "accept": _("Accepted"),
        "dispatch": _("Passed to %(unit)s") % {"unit": unit},
        "reassign": _("Passed to %(unit)s") % {"unit": unit},
        "start": _("Started handling it"),
        "progress": _("Progress"),
        "return": _("Being passed to the right unit"),
        "approve_suspend": _("Paused for a while"),
        "resume": _("Handling continues"),
        "escalate": _("Asked the level above for help"),
        "resolve": _("Resolved"),
        "rate": _("Rated: %(rating)s") % {"rating": Rating(data["rating"]).label if data.get("rating") else ""},
        "callback": _("Called you back"),
        "reopen": _("Opened again"),
        "close": _("Closed"),
        "merge": _("Joined with a report already open"),
        "reject": _("Not accepted"),
        "self_handle": _("Fixed on the spot"),
    }.get(event.action, event.action)
    if event.action == "rate" and data.get("reopened"):
        text += " — " + _("the case is opened again")
    return text


def _plain_note(event) -> str:
    # notes a reporter should read: the outcome, progress, why not accepted, and their own comment
    if event.action in ("resolve", "progress", "reject", "self_handle", "rate", "approve_suspend", "reopen"):
        return event.note
    return ""


def _photo_url(att: CaseAttachment) -> str:
    try:
        return reverse("cases:photo", args=[att.pk])
    except NoReverseMatch:  # the case page's photo view serves attachments of visible cases
        return ""


@requires("cases.report")
def my_case(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = get_object_or_404(
        _mine(user).select_related("lead_unit", "category", "merged_into", "community", "grid"), pk=pk
    )
    if request.method == "POST":
        return _rate(request, case)
    _decorate(case)
    photos = list(case.attachments.all())
    by_event: dict[int, list[CaseAttachment]] = {}
    for att in photos:
        att.url = _photo_url(att)  # type: ignore[attr-defined]
        by_event.setdefault(att.event_id or 0, []).append(att)
    timeline = [
        {
            "at": e.at,
            "who": _who(e, case, user),
            "text": _say(e, case, user),
            "note": _plain_note(e),
            "photos": by_event.get(e.pk, []),
            "action": e.action,
        }
        for e in case.events.select_related("unit").order_by("-at", "-pk")
        if e.action in _SHOWN and not (e.action == "callback" and not (e.data or {}).get("rating"))
    ]
    step = STEP_OF.get(case.status)
    steps = [
        {"label": label, "done": step is not None and i <= step, "now": i == step}
        for i, (_c, label) in enumerate(STEPS)
    ]
    context = {
        "case": case,
        "steps": steps,
        "timeline": timeline,
        "photos": photos,
        "solved": case.status in (Status.RESOLVED, Status.REVIEWED, Status.CLOSED),
        "place": " ".join(a.name for a in (case.community, case.grid) if a is not None),
        "can_rate": case.status == Status.RESOLVED and "rate" in {a.code for a in workflow.allowed(case.status)},
        "ratings": Rating.choices,
    }
    return render(request, "cases/field/case.html", context)


def _rate(request: AuthedHttpRequest, case: WorkOrder) -> HttpResponse:
    rating = request.POST.get("rating", "")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        services.act(
            request.user,
            case.pk,
            "rate",
            expected_version=version,
            rating=rating,
            comment=request.POST.get("comment", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for msgs in _errors(exc).values() for m in msgs))
    except (workflow.TransitionError, services.ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("This case cannot be rated now."))
    else:
        if rating == Rating.UNSATISFIED:
            messages.warning(
                request,
                _("Sorry it is not solved. Your case is opened again and goes back to the people handling it."),
            )
        else:
            messages.success(request, _("Thank you for rating."))
    return redirect("cases:my-case", pk=case.pk)


urlpatterns = [
    path("report/", report, name="report"),
    path("report/where/", report_where, name="report-where"),
    path("report/done/<int:pk>/", report_done, name="report-done"),
    path("mine/", my_cases, name="my-cases"),
    path("mine/<int:pk>/", my_case, name="my-case"),
]
