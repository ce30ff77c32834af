"""Work orders over the API: list, detail with timeline, report, and act — read through `for_user`.

Photos are not sent or served through the API yet; the case page handles them.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from linli.api.errors import ApiError
from linli.api.pagination import Paging, page_of, paginate
from linli.api.schemas import Input, answers
from linli.cases import services, words, workflow
from linli.cases.models import (
    OPEN_STATUSES,
    CaseAttachment,
    Category,
    Channel,
    Priority,
    Rating,
    WorkOrder,
)
from linli.cases.models import Status as CaseStatus
from linli.core import codes
from linli.core.services import require_perm
from linli.places.models import Area, House

router = Router(tags=["cases"])

STATUS = Field(..., json_schema_extra={"enum": list(CaseStatus.values)})
PRIORITY = Field(..., json_schema_extra={"enum": list(Priority.values)})
ActionCode = enum.Enum("ActionCode", {code: code for code in workflow.ACTIONS}, type=str)  # type: ignore[misc]

# the keyword arguments each action takes (services.act)
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": ("category", "priority", "note"),
    "reject": ("note",),
    "dispatch": ("unit", "assists", "category", "priority", "note"),
    "reassign": ("unit", "note"),
    "start": ("note",),
    "return": ("note",),
    "progress": ("note",),
    "assist_done": ("note",),
    "request_suspend": ("note",),
    "approve_suspend": ("note",),
    "deny_suspend": ("note",),
    "resume": ("note",),
    "escalate": ("note",),
    "resolve": ("note",),
    "rate": ("rating", "comment"),
    "callback": ("rating", "comment", "reached"),
    "reopen": ("note",),
    "close": ("note",),
    "merge": ("into", "note"),
    "comment": ("note",),
}
assert set(ACTION_FIELDS) == set(workflow.ACTIONS)


# --- shapes -------------------------------------------------------------------------------------


class CaseUnitRef(Schema):
    id: int
    name: str


class CaseCategoryRef(Schema):
    code: str
    name: str


class CaseOut(Schema):
    id: int
    number: str = Field(..., description="The case number people quote: submission date and id.")
    title: str
    status: str = STATUS
    status_label: str
    priority: str = PRIORITY
    category: CaseCategoryRef | None
    channel: str = Field(..., json_schema_extra={"enum": list(Channel.values)})
    anonymous: bool
    submitted_at: dt.datetime
    response_due: dt.datetime | None
    resolve_due: dt.datetime | None
    due_state: str = Field(..., json_schema_extra={"enum": ["ok", "warning", "overdue"]})
    lead_unit: CaseUnitRef | None
    grid_id: int | None
    community_id: int | None
    street_id: int
    version: int = Field(..., description="Send it back with an action: someone else acting first gives 409.")

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_due_state(obj) -> str:
        return str(obj.due_state())


class CaseEventOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    at: dt.datetime
    actor_name: str
    note: str
    unit: CaseUnitRef | None

    @staticmethod
    def resolve_action_label(obj) -> str:
        spec = workflow.ACTIONS.get(obj.action)
        return str(spec.label) if spec else obj.action


class CoHandlerOut(Schema):
    unit: CaseUnitRef
    task: str
    done_at: dt.datetime | None


class CaseDetail(CaseOut):
    description: str
    address: str
    lng: float | None
    lat: float | None
    house_id: int | None
    estate_id: int | None
    caller_name: str = Field(..., description="Empty for anonymous reports.")
    caller_phone_masked: str
    suggested_category: CaseCategoryRef | None
    suggestion_confidence: float | None
    proposed_unit: CaseUnitRef | None
    co_handlers: list[CoHandlerOut]
    escalation_level: int
    resolution: str
    rating: str
    rating_comment: str
    reopen_count: int
    photos: int = Field(..., description="Number of photos; view them on the case page.")
    actions: list[str] = Field(..., description="Actions you may take now.")
    timeline: list[CaseEventOut]

    # filled in by _detail()
    @staticmethod
    def resolve_timeline(obj) -> list:
        return obj._api_timeline

    @staticmethod
    def resolve_co_handlers(obj) -> list:
        return obj._api_co_handlers

    @staticmethod
    def resolve_photos(obj) -> int:
        return obj._api_photos

    @staticmethod
    def resolve_actions(obj) -> list[str]:
        return obj._api_actions

    @staticmethod
    def resolve_caller_name(obj) -> str:
        return "" if obj.anonymous else obj.caller_name


class CaseFilters(Schema):
    status: str | None = Field(None, description="One status or several, comma separated.")
    category: str | None = Field(None, description="A category code; a two-digit group code matches its leaves.")
    overdue: bool | None = Field(None, description="Open cases past their resolution deadline (true) or not.")
    q: str | None = Field(
        None,
        description="A case number (any case), or words (up to five, separated by spaces; all must appear) in the "
        "title or description of the cases reported since `since` (default: the last 90 days — a common word over "
        "a city's whole history matches hundreds of thousands of cases, and they are all counted).",
    )
    since: dt.date | None = Field(None, description="Only cases reported on or after this day.")


TEXT_SEARCH_DAYS = 90


class CaseIn(Input):
    description: str = Field(..., min_length=1, max_length=2000)
    title: str = Field("", max_length=120)
    category: str | None = Field(None, description="Category code (second level); empty: suggested from the text.")
    priority: Priority | None = None
    house_code: str | None = Field(None, description="24-digit house code of a house in your area.")
    lat: float | None = Field(None, ge=-90, le=90, description="WGS-84 (GPS), not GCJ-02.")
    lng: float | None = Field(None, ge=-180, le=180, description="WGS-84 (GPS), not GCJ-02.")
    address: str = Field("", max_length=200)
    anonymous: bool = False
    caller_name: str = Field("", max_length=50)
    caller_phone: str = Field("", max_length=20, description="Stored encrypted; shown masked.")


class CaseActionIn(Input):
    version: int = Field(..., ge=1, description="The version you were looking at (optimistic locking).")
    note: str = Field("", max_length=2000)
    unit: int | None = Field(None, description="Handling unit id (dispatch, reassign).")
    assists: list[int] = Field(default_factory=list, description="Assisting unit ids (dispatch).")
    category: str | None = Field(None, description="Category code (accept, dispatch).")
    priority: Priority | None = None
    rating: Rating | None = None
    comment: str = Field("", max_length=500)
    reached: bool = True
    into: str | None = Field(None, description="Case number or id to merge into.")


# --- reading ------------------------------------------------------------------------------------


def cases_for(request: HttpRequest, since: dt.datetime | None = None) -> QuerySet[WorkOrder]:
    return WorkOrder.objects.for_user(request.user, "view", since).select_related("category", "lead_unit")


def _statuses(raw: str) -> list[str]:
    values = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [s for s in values if s not in CaseStatus.values]
    if unknown:
        raise ValidationError(
            {"status": [_("Choose one of: %(choices)s.") % {"choices": ", ".join(CaseStatus.values)}]}
        )
    return values


@router.get("/cases", response=answers(page_of(CaseOut)))
def list_cases(request: HttpRequest, filters: Query[CaseFilters], paging: Query[Paging]):
    """Cases in your scope (your area, your units' cases, the cases you reported), newest first."""
    text = (filters.q or "").strip()
    number = WorkOrder.pk_from_number(text) if text else None
    word_search = bool(text) and number is None
    since = filters.since
    if word_search:
        since = since or timezone.localdate() - dt.timedelta(days=TEXT_SEARCH_DAYS)
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min)) if since is not None else None
    qs = cases_for(request, start if word_search else None)
    if filters.status:
        qs = qs.filter(status__in=_statuses(filters.status))
    if filters.category:
        code = filters.category.strip()
        qs = qs.filter(category__code__startswith=code) if len(code) == 2 else qs.filter(category__code=code)
    if filters.overdue is not None:
        late = Q(status__in=[s for s in OPEN_STATUSES if s != CaseStatus.SUSPENDED], resolve_due__lt=timezone.now())
        qs = qs.filter(late) if filters.overdue else qs.exclude(late)
    if word_search:
        narrow = words.narrow_scope(request.user)
        qs = qs.filter(words.words_q(words.terms(text), bigram_index=not narrow))
    elif number is not None:
        qs = qs.filter(pk=number)
    if start is not None:
        qs = qs.filter(submitted_at__gte=start)
    if not word_search:
        return paginate(qs, paging, ("-submitted_at", "-id"))
    try:
        with words.search_limits():  # the count comes with the page: one reading of the period, not two
            return paginate(qs, paging, ("-submitted_at", "-id"), count_with_page=True)
    except words.SearchTooBroadError:
        raise ApiError(
            422,
            "search_too_broad",
            _(
                "This search took longer than %(s)d seconds. Narrow it: a shorter period (since), a category, "
                "or words of two characters or more."
            )
            % {"s": settings.LINLI_WORD_SEARCH_SECONDS},
            {"q": [_("Too broad to search in time.")]},
        ) from None


def _detail(request: HttpRequest, case_id: int) -> WorkOrder:
    case = get_object_or_404(
        cases_for(request).select_related("suggested_category", "proposed_unit", "reporter"), pk=case_id
    )
    events = list(case.events.select_related("unit").order_by("at", "pk"))
    if case.anonymous:  # the reporter's name stays hidden, as on the case page
        for event in events:
            if event.actor_id and event.actor_id == case.reporter_id:
                event.actor_name = _("anonymous")
    user = request.user
    extra: dict[str, Any] = {
        "timeline": events,
        "co_handlers": list(case.co_handlers.select_related("unit").order_by("pk")),
        "photos": CaseAttachment.objects.filter(work_order=case).count(),
        "actions": [a.code for a in workflow.allowed(case.status) if user.has_linli_perm(a.permission)],  # type: ignore[union-attr]
    }
    for name, value in extra.items():
        setattr(case, f"_api_{name}", value)
    return case


@router.get("/cases/{int:case_id}", response=answers(CaseDetail))
def get_case(request: HttpRequest, case_id: int):
    """One case with its timeline. Phone numbers are masked; an anonymous reporter is not named."""
    return _detail(request, case_id)


# --- writing ------------------------------------------------------------------------------------


def _category(code: str | None, field: str = "category") -> Category | None:
    if not code:
        return None
    category = Category.objects.filter(code=code.strip(), active=True, parent__isnull=False).first()
    if category is None:
        raise ValidationError({field: [_("Choose an active category of the second level.")]})
    return category


def _within(scope, area: Area) -> bool:
    return bool(
        scope.all
        or area.pk in scope.grid_ids
        or area.community_id in scope.community_ids
        or area.street_id in scope.street_ids
        or area.district_id in scope.district_ids
        or area.city_id in scope.city_ids
    )


def _location(request: HttpRequest, payload: CaseIn) -> services.Location:
    if payload.house_code:
        code = codes.compact_code(payload.house_code)
        house = House.objects.for_user(request.user).select_related("building", "grid").filter(code=code).first()
        if house is None:
            raise ValidationError({"house_code": [_("Choose a house within your area.")]})
        return services.locate_house(house)
    if payload.lat is None or payload.lng is None:
        field = "lng" if payload.lat is not None else "lat"
        raise ValidationError({field: [_("Say where it is: send a house code, or both lat and lng (WGS-84).")]})
    location = services.locate_point(payload.lng, payload.lat, address=payload.address)
    scope = request.user.scope_for("cases.report")  # type: ignore[union-attr]
    if scope.area_ids() and not _within(scope, location.area):
        raise ValidationError({"lat": [_("This place is outside your area.")]})
    return location


@router.post("/cases", response=answers(CaseDetail, 201))
def create_case(request: HttpRequest, payload: CaseIn):
    """Report a problem at a house of your area (house_code) or at a point (lat, lng in WGS-84)."""
    require_perm(request.user, "cases.report")
    report = services.Report(
        title=payload.title,
        description=payload.description,
        channel=Channel.API,
        location=_location(request, payload),
        category=_category(payload.category),
        priority=payload.priority.value if payload.priority else None,
        anonymous=payload.anonymous,
        caller_name="" if payload.anonymous else payload.caller_name,
        caller_phone="" if payload.anonymous else payload.caller_phone,
    )
    case = services.create_case(request.user, report)
    return Status(201, _detail(request, case.pk))


def _into(raw: str | None) -> int | None:
    if not raw:
        return None
    raw = raw.strip()
    pk = WorkOrder.pk_from_number(raw) if len(raw) > 8 else (int(raw) if raw.isdigit() else None)
    if pk is None:
        raise ValidationError({"into": [_("Choose the case this one repeats.")]})
    return pk


@router.post("/cases/{int:case_id}/actions/{action}", response=answers(CaseDetail))
def act(request: HttpRequest, case_id: int, action: ActionCode, payload: CaseActionIn):  # type: ignore[valid-type]
    """Run one workflow action. Send the case's `version`: if someone acted in between you get 409 and
    nothing is written. Fields an action does not take are refused."""
    get_object_or_404(cases_for(request), pk=case_id)
    code = cast(str, action.value)  # type: ignore[attr-defined]
    takes = ACTION_FIELDS[code]
    extra = (payload.model_fields_set - {"version"}) - set(takes)
    if extra:
        raise ValidationError({name: [_("This action does not take this field.")] for name in sorted(extra)})
    values: dict[str, Any] = {
        "note": payload.note,
        "unit": payload.unit,
        "assists": payload.assists,
        "category": _category(payload.category),
        "priority": payload.priority.value if payload.priority else None,
        "rating": payload.rating.value if payload.rating else "",
        "comment": payload.comment,
        "reached": payload.reached,
        "into": _into(payload.into),
    }
    kwargs = {name: values[name] for name in takes}
    try:
        services.act(request.user, case_id, code, expected_version=payload.version, **kwargs)
    except services.ConflictError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except workflow.TransitionError as exc:
        raise ApiError(409, "invalid_transition", str(exc)) from None
    return _detail(request, case_id)
