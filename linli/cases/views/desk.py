"""Work-order pages: desk — the dispatcher's workbench (派单工作台) and hotline intake (热线受理).

The workbench lists the cases in the user's dispatch scope that wait for a dispatcher: new (submitted or
accepted), returned by a unit, escalated to the user's level, and suspension requests. Every action
posts to cases:case-act; this module only reads. A page of the queue costs a fixed number of queries
whatever its length (rows, return reasons, proposed units and duplicates are each read once per page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from linli.accounts.http import AuthedHttpRequest
from linli.cases import duplicates, routing, services, words, workflow
from linli.cases.forms import units_for
from linli.cases.models import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    CaseEvent,
    Category,
    Channel,
    HandlingUnit,
    Priority,
    Status,
    WorkOrder,
)
from linli.core import geo
from linli.core.idnumber import normalize_phone
from linli.people.models import Occupancy, Resident
from linli.people.selectors import resident_search_q
from linli.places.models import Area, House

PAGE_SIZE = 25
SEARCH_LIMIT = 10
NEW_STATUSES = (Status.SUBMITTED, Status.ACCEPTED)
WAITING_STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.RETURNED)


def _need(request: AuthedHttpRequest, perm: str) -> None:
    if not request.user.has_linli_perm(perm):
        raise PermissionDenied


def _in_scope(qs: QuerySet, user, perm: str) -> QuerySet:
    """Rows of a located model (areas, houses) inside the user's scope for `perm` (a cases.* permission,
    which the model's own for_user cannot ask for)."""
    scope = user.scope_for(perm)
    if scope.all:
        return qs
    if scope.empty:
        return qs.none()
    return qs.filter(qs.model.scope_q(scope))


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_next(request: HttpRequest, value: str | None, fallback: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return fallback


# ---------------------------------------------------------------------------- the queue


def queue_for(user) -> QuerySet:
    """Cases in the user's dispatch scope that need a dispatcher."""
    scope = user.scope_for("cases.dispatch")
    needs = Q(status__in=WAITING_STATUSES)
    if scope.all:
        needs |= Q(escalated_to__isnull=False, status__in=OPEN_STATUSES)
    elif scope.area_ids():
        needs |= Q(escalated_to_id__in=scope.area_ids(), status__in=OPEN_STATUSES)
    if user.has_linli_perm("cases.supervise"):
        needs |= Q(status=Status.IN_PROGRESS, suspension_requested=True)
    # The open cases, then whether each needs a dispatcher, decided on the covering index of open cases
    # (wo_open_queue). Written as a plain OR, PostgreSQL misjudged a city's queue as 50 rows and fetched
    # 11,000 cases from the table to sort them (250–500 ms); as a CASE it reads the index alone (50 ms).
    return (
        WorkOrder.objects.for_user(user, "dispatch")
        .filter(status__in=OPEN_STATUSES)
        .filter(Case(When(needs, then=Value(True)), default=Value(False), output_field=BooleanField()))
    )


def order_queue(qs: QuerySet, now: dt.datetime) -> QuerySet:
    """Overdue first, then by priority (urgent first), then by resolution due time."""
    return qs.annotate(
        overdue_rank=Case(When(resolve_due__lt=now, then=Value(0)), default=Value(1)),
        priority_rank=Case(*[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()], default=Value(9)),
    ).order_by("overdue_rank", "priority_rank", F("resolve_due").asc(nulls_last=True), "pk")


def summary(qs: QuerySet, now: dt.datetime) -> dict[str, int]:
    """Counts by state over the whole queue, in one query."""
    running = ~Q(status=Status.SUSPENDED)
    return qs.aggregate(
        total=Count("pk"),
        new=Count("pk", filter=Q(status__in=NEW_STATUSES)),
        returned=Count("pk", filter=Q(status=Status.RETURNED)),
        overdue=Count("pk", filter=running & Q(resolve_due__lt=now)),
        due_soon=Count("pk", filter=running & Q(warn_at__lte=now, resolve_due__gte=now)),
    )


class AreaChoiceField(forms.ModelChoiceField):
    """Areas two levels deep under the dispatcher's widest area, the lower level indented."""

    upper = "community"

    def label_from_instance(self, obj: Area) -> str:
        return obj.name if obj.level == self.upper else f"— {obj.name}"


def filter_levels(scope) -> tuple[str, str]:
    """The two area levels the queue filter offers: a city-wide dispatcher picks a district or street, a
    district-wide one a street or community, everyone else a community or grid (a city has 27,000 of those)."""
    if scope.all or scope.city_ids:
        return ("district", "street")
    if scope.district_ids:
        return ("street", "community")
    return ("community", "grid")


class QueueFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", gettext_lazy("All waiting")),
        ("new", gettext_lazy("New")),
        ("returned", gettext_lazy("Returned")),
        ("escalated", gettext_lazy("Escalated")),
        ("suspension", gettext_lazy("Suspension requested")),
        ("due_soon", gettext_lazy("Due soon")),
    ]

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Case number or words"), "type": "search"}),
    )
    status = forms.ChoiceField(label=gettext_lazy("State"), choices=STATUS_CHOICES, required=False)
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=gettext_lazy("All categories"),
    )
    area = AreaChoiceField(
        label=gettext_lazy("Area"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=gettext_lazy("Everywhere"),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=[("", gettext_lazy("All channels")), *Channel.choices], required=False
    )
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(parent__isnull=True, active=True)
        levels = filter_levels(user.scope_for("cases.dispatch"))
        area = cast(AreaChoiceField, self.fields["area"])
        area.upper = levels[0]
        area.queryset = (
            _in_scope(Area.objects.filter(level__in=levels), user, "cases.dispatch")
            .only("pk", "code", "name", "level")
            .order_by("code")
        )

    def apply(self, qs: QuerySet, now: dt.datetime) -> QuerySet:
        if not self.is_valid():
            return qs
        d = self.cleaned_data
        if q := d["q"].strip():
            qs = qs.filter(_search_q(q))
        status = d["status"]
        if status == "new":
            qs = qs.filter(status__in=NEW_STATUSES)
        elif status == "returned":
            qs = qs.filter(status=Status.RETURNED)
        elif status == "escalated":
            qs = qs.filter(escalated_to__isnull=False)
        elif status == "suspension":
            qs = qs.filter(suspension_requested=True)
        elif status == "due_soon":
            qs = qs.filter(warn_at__lte=now, resolve_due__gte=now).exclude(status=Status.SUSPENDED)
        if d["category"]:
            qs = qs.filter(category__parent=d["category"])
        if d["area"]:
            qs = qs.filter(d["area"].descendants_q())
        if d["channel"]:
            qs = qs.filter(channel=d["channel"])
        if d["overdue"]:
            qs = qs.filter(resolve_due__lt=now).exclude(status=Status.SUSPENDED)
        return qs

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())


def _search_q(term: str) -> Q:
    """A case number (or id) finds that case; words must all appear in the title or the description."""
    compact = term.replace(" ", "")
    if compact.isdigit():
        pk = WorkOrder.pk_from_number(compact) if len(compact) >= 9 else int(compact)
        return Q(pk=pk) if pk is not None else Q(pk__in=[])
    return words.words_q(words.terms(term))


def return_reasons(cases: Iterable[WorkOrder]) -> dict[int, str]:
    """The note of the latest return of each returned case (one query)."""
    ids = [c.pk for c in cases if c.status == Status.RETURNED]
    if not ids:
        return {}
    reasons: dict[int, str] = {}
    events = CaseEvent.objects.filter(work_order_id__in=ids, action="return").order_by("work_order_id", "-at", "-pk")
    for work_order_id, note in events.values_list("work_order_id", "note"):
        reasons.setdefault(work_order_id, note)
    return reasons


def propose_units(cases: Iterable[WorkOrder]) -> dict[int, HandlingUnit]:
    """routing.route for every case lacking a proposed unit, with one query for all of them."""
    todo = [case for case in cases if case.proposed_unit_id is None]
    units = routing.route_many([(case.category or case.suggested_category, services.area_chain(case)) for case in todo])
    return {case.pk: unit for case, unit in zip(todo, units, strict=True) if unit is not None}


def enrich(cases: list[WorkOrder], user) -> None:
    """Attach what a row shows besides the case itself: return reason, proposed unit (and whether this
    dispatcher may choose it), the category to dispatch with, possible duplicates."""
    if not cases:
        return
    reasons = return_reasons(cases)
    routed = propose_units(cases)
    proposed = {case.pk: case.proposed_unit if case.proposed_unit_id else routed.get(case.pk) for case in cases}
    # which of the proposed units lie in the dispatcher's scope (a city's scope holds 17,000 units)
    scope_units = set(
        HandlingUnit.objects.for_user(user, "dispatch")
        .filter(active=True, pk__in={unit.pk for unit in proposed.values() if unit is not None})
        .values_list("pk", flat=True)
    )
    dupes = duplicates.candidates_for_many(cases, WorkOrder.objects.for_user(user, "view"))
    for case in cases:
        unit = proposed[case.pk]
        suggested = case.suggested_category if case.suggested_category and case.suggested_category.is_leaf else None
        # display-only attributes for the row templates
        case.__dict__.update(
            return_reason=reasons.get(case.pk, ""),
            unit_to_propose=unit,
            unit_allowed=services.serves(case, unit, scope_units),
            category_to_use=case.category or suggested,
            duplicate_candidates=dupes.get(case.pk, []),
            can_dispatch=case.status in WAITING_STATUSES,
            can_merge=case.status in workflow.ACTIONS["merge"].sources,
        )


def _queue_rows(qs: QuerySet) -> QuerySet:
    return qs.select_related(
        "category",
        "suggested_category",
        "proposed_unit",
        "lead_unit",
        "grid",
        "community",
        "escalated_to",
    )


@login_required
@require_GET
def workbench(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "cases.dispatch")
    user = request.user
    now = timezone.now()
    queue = queue_for(user)
    form = QueueFilterForm(request.GET or None, user=user)
    counts = summary(queue, now)
    rows = form.apply(queue, now)
    # the page's ids first, sorted on the index alone, then those 25 cases with what the rows show
    paginator = Paginator(order_queue(rows, now).values_list("pk", flat=True), PAGE_SIZE)
    if not form.filtered:
        paginator.count = counts["total"]  # the summary already counted the whole queue
    page = paginator.get_page(request.GET.get("page"))
    ids = list(page.object_list)
    found = _queue_rows(WorkOrder.objects.filter(pk__in=ids)).in_bulk()
    page.object_list = [found[pk] for pk in ids if pk in found]
    enrich(page.object_list, user)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "counts": counts,
        "query": params.urlencode(),
        "here": request.get_full_path(),
        "can_intake": user.has_linli_perm("cases.intake"),
        "now": now,
    }
    template = "cases/desk/_queue.html" if _is_htmx(request) else "cases/desk/workbench.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


def _leaf_categories() -> list[tuple[str, list[tuple[int, str]]]]:
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for cat in Category.objects.filter(active=True).select_related("parent").order_by("code"):
        if cat.parent_id is None:
            groups.setdefault(cat.pk, (cat.name, []))
        else:
            groups.setdefault(cat.parent_id, (cat.parent.name, []))[1].append((cat.pk, f"{cat.code} {cat.name}"))
    return [g for g in groups.values() if g[1]]


@login_required
@require_GET
def panel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The expanded row: change category, unit or priority, add assisting units, merge, or decide a
    suspension request. Loaded when the dispatcher opens a row."""
    _need(request, "cases.dispatch")
    user = request.user
    case = get_object_or_404(_queue_rows(WorkOrder.objects.for_user(user, "dispatch")), pk=pk)
    enrich([case], user)
    context = {
        "case": case,
        "units": list(units_for(user, case)),
        "categories": _leaf_categories(),
        "priorities": Priority.choices,
        "next": _safe_next(request, request.GET.get("next"), reverse("cases:workbench")),
        "can_reassign": case.status in workflow.ACTIONS["reassign"].sources,
        "can_decide_suspension": case.suspension_requested and user.has_linli_perm("cases.supervise"),
        "can_reject": case.status in workflow.ACTIONS["reject"].sources and user.has_linli_perm("cases.intake"),
    }
    return render(request, "cases/desk/_panel.html", context)


# ---------------------------------------------------------------------------- hotline intake


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Any number of files; services check that they are photos before anything is written."""

    widget = MultiplePhotoInput(attrs={"accept": "image/*"})

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [f for f in data if f]
        return [data] if data else []


class IntakeForm(forms.Form):
    caller_name = forms.CharField(label=gettext_lazy("Caller"), max_length=50, required=False)
    caller_phone = forms.CharField(label=gettext_lazy("Caller's phone"), max_length=20, required=False)
    call_time = forms.DateTimeField(
        label=gettext_lazy("Call time"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    anonymous = forms.BooleanField(label=gettext_lazy("The caller wants to stay anonymous"), required=False)
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    house = forms.IntegerField(required=False, widget=forms.HiddenInput)
    grid = forms.ModelChoiceField(
        label=gettext_lazy("Or a grid"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=gettext_lazy("— choose a grid —"),
    )
    lat = forms.FloatField(label=gettext_lazy("Latitude"), required=False)
    lng = forms.FloatField(label=gettext_lazy("Longitude"), required=False)
    crs = forms.ChoiceField(
        label=gettext_lazy("Coordinates from"),
        choices=[("gcj02", gettext_lazy("a Chinese map app (GCJ-02)")), ("wgs84", gettext_lazy("GPS (WGS-84)"))],
        initial="gcj02",
        required=False,
    )
    address = forms.CharField(label=gettext_lazy("Address as told"), max_length=200, required=False)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=120, required=False)
    description = forms.CharField(
        label=gettext_lazy("What the caller says"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5})
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=gettext_lazy("Let Linli suggest one"),
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        choices=[("", gettext_lazy("By category")), *Priority.choices],
        required=False,
    )
    photos = PhotosField(label=gettext_lazy("Photos"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.grids = _in_scope(Area.objects.filter(level="grid"), user, "cases.intake").order_by("code")
        self.fields["grid"].queryset = self.grids
        self.fields["category"].queryset = Category.objects.filter(active=True, parent__isnull=False).order_by("code")
        self.house_obj: House | None = None
        self.resident_obj: Resident | None = None
        self.location: services.Location | None = None

    def clean_caller_phone(self) -> str:
        phone = self.cleaned_data["caller_phone"].strip()
        if not phone:
            return ""
        try:
            return normalize_phone(phone)
        except ValidationError:
            raise ValidationError(_("Enter an 11-digit mobile number or a landline with its area code.")) from None

    def clean_resident(self):
        pk = self.cleaned_data["resident"]
        if pk is None:
            return None
        self.resident_obj = Resident.objects.for_user(self.user).filter(pk=pk).first()
        if self.resident_obj is None:
            raise ValidationError(_("No such resident in your area."))
        return pk

    def clean_house(self):
        pk = self.cleaned_data["house"]
        if pk is None:
            return None
        self.house_obj = (
            _in_scope(House.objects.all(), self.user, "cases.intake")
            .select_related("building", "unit")
            .filter(pk=pk)
            .first()
        )
        if self.house_obj is None:
            raise ValidationError(_("No such house in your area."))
        return pk

    def clean(self):
        data = super().clean()
        if not ((data.get("caller_name") or "").strip() or data.get("anonymous") or self.resident_obj is not None):
            if "caller_name" not in self.errors:
                self.add_error("caller_name", _("Write down the caller's name, or mark the call anonymous."))
        if any(name in self.errors for name in ("house", "resident", "grid", "lat", "lng", "crs")):
            return data  # the place field already says what is wrong
        lat, lng = data.get("lat"), data.get("lng")
        address = (data.get("address") or "").strip()
        if self.house_obj is not None:
            self.location = services.locate_house(self.house_obj)
            if address:
                self.location.address = f"{self.location.address} {address}"[:200]
        elif lat is not None or lng is not None:
            try:
                lng_w, lat_w = geo.to_wgs84(*geo.validate_point(lng, lat), data.get("crs") or "wgs84")
                self.location = services.locate_point(lng_w, lat_w, address, within=self.grids)
            except ValidationError as exc:
                messages_ = exc.message_dict.get("location") if hasattr(exc, "error_dict") else exc.messages
                self.add_error("lat", messages_)
        elif data.get("grid") is not None:
            self.location = services.Location(area=data["grid"], address=address)
        elif self.resident_obj is not None and (home := self._home_of(self.resident_obj)) is not None:
            self.location = services.locate_house(home)
        else:
            self.add_error(
                "house", _("Say where it is: find the house, choose a grid, or enter the coordinates of the place.")
            )
        return data

    def _home_of(self, resident: Resident) -> House | None:
        houses = _in_scope(House.objects.all(), self.user, "cases.intake")
        occupancy = (
            Occupancy.objects.filter(resident=resident, house__in=houses)
            .select_related("house__building", "house__unit")
            .order_by("pk")
            .first()
        )
        return occupancy.house if occupancy else None

    def report(self) -> services.Report:
        d = self.cleaned_data
        return services.Report(
            title=d["title"].strip(),
            description=d["description"].strip(),
            channel=Channel.HOTLINE,
            location=self.location,
            category=d["category"],
            priority=d["priority"] or None,
            anonymous=d["anonymous"],
            photos=d["photos"],
            caller_name=d["caller_name"].strip(),
            caller_phone=d["caller_phone"],
            call_time=d["call_time"] or timezone.now(),
            on_behalf_of=self.resident_obj,
        )


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError shown on the form's fields (unknown keys above the form)."""
    aliases = {"location": "house", "on_behalf_of": "resident"}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        name = aliases.get(key, key)
        form.add_error(name if name in form.fields else None, errors)


def _case_page(case: WorkOrder) -> str | None:
    try:
        return reverse("cases:case-detail", args=[case.pk])
    except NoReverseMatch:
        return None


@login_required
def intake(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "cases.intake")
    user = request.user
    initial = {"call_time": timezone.localtime().replace(second=0, microsecond=0)}
    form = IntakeForm(request.POST or None, request.FILES or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.create_case(user, form.report())
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not open cases here."))
        else:
            text = _("Case %(number)s written down and accepted.") % {"number": case.number}
            if case.suggested_category:
                text += " " + _("Suggested category: %(category)s (%(confidence)d%%).") % {
                    "category": case.suggested_category.name,
                    "confidence": round((case.suggestion_confidence or 0) * 100),
                }
            messages.success(request, text)
            return redirect(_case_page(case) or reverse("cases:workbench"))
    picked_resident = form.resident_obj if form.is_bound else None
    picked_house = form.house_obj if form.is_bound else None
    return render(
        request,
        "cases/desk/intake.html",
        {
            "form": form,
            "picked_resident": picked_resident,
            "picked_house": picked_house,
            "can_search_residents": user.has_linli_perm("people.view"),
        },
    )


@login_required
@require_GET
def intake_residents(request: AuthedHttpRequest) -> HttpResponse:
    """Residents in the user's scope by name or full phone number (matched through its blind index)."""
    _need(request, "cases.intake")
    term = (request.GET.get("resident_q") or "").strip()
    found: list = []
    if term and request.user.has_linli_perm("people.view"):
        found = list(
            Resident.objects.for_user(request.user).filter(resident_search_q(term)).order_by("name")[:SEARCH_LIMIT]
        )
    return render(request, "cases/desk/_resident_results.html", {"found": found, "term": term})


def _house_q(term: str) -> Q:
    """A house code (whole or its first 12+ digits), a room number, or words of the building or address."""
    from linli.core.codes import compact_code

    digits = compact_code(term)
    if digits.isdigit():
        return Q(code__startswith=digits) if len(digits) >= 12 else Q(room=digits)
    q = Q()
    for word in term.split()[:3]:
        if word.isdigit():
            q &= Q(room=word)
        else:
            q &= (
                Q(building__name__icontains=word)
                | Q(building__address__icontains=word)
                | Q(estate__name__icontains=word)
            )
    return q


@login_required
@require_GET
def intake_houses(request: AuthedHttpRequest) -> HttpResponse:
    """Houses in the user's intake scope matching a code, a room, or a building or estate name."""
    _need(request, "cases.intake")
    term = (request.GET.get("house_q") or "").strip()
    found: list = []
    if term:
        found = list(
            _in_scope(House.objects.all(), request.user, "cases.intake")
            .filter(_house_q(term))
            .select_related("building", "unit", "estate", "grid")
            .order_by("code")[:SEARCH_LIMIT]
        )
    return render(request, "cases/desk/_house_results.html", {"found": found, "term": term})


urlpatterns = [
    path("desk/", workbench, name="workbench"),
    path("desk/<int:pk>/panel/", panel, name="desk-panel"),
    path("desk/new/", intake, name="intake"),
    path("desk/new/residents/", intake_residents, name="intake-residents"),
    path("desk/new/houses/", intake_houses, name="intake-houses"),
]
