"""Work-order pages: the case page, actions on a case, its photos, and "My tasks".

Reads go through `WorkOrder.objects.for_user(user, "view")` (out of scope is 404); every action posts to
`case_act`, which calls services.act with the version the person was looking at. Whether a person may take
an action is decided by the workflow (state) and services (permission, unit, scope): `can()` asks both.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, CharField, F, Prefetch, Q, Value, When
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.accounts.http import AuthedHttpRequest
from linli.cases import services, workflow
from linli.cases.forms import ActionForm, leaf_categories, units_for
from linli.cases.models import (
    FINISHED_STATUSES,
    CaseAttachment,
    CoHandler,
    HandlingUnit,
    Status,
    WorkOrder,
    unit_ids_of,
)

TASKS_PAGE_SIZE = 25
OWN_REPORTS_LIMIT = 20
FINISHED_DAYS = 30
TASK_STATUSES = (Status.DISPATCHED, Status.IN_PROGRESS)
OWN_WAITING_STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.RETURNED)


# ---------------------------------------------------------------- who may do what


def _state_allows(case: WorkOrder, action: str) -> bool:
    """State the services check inside the action (not in the workflow table): hide what would be refused."""
    if action == "request_suspend":
        return not case.suspension_requested
    if action in ("approve_suspend", "deny_suspend"):
        return case.suspension_requested
    return True


def can(user, case: WorkOrder, action: str) -> bool:
    """May `user` take `action` on `case` now? The workflow decides the state, services the person."""
    spec = workflow.ACTIONS.get(action)
    if spec is None or case.status not in spec.sources or not _state_allows(case, action):
        return False
    try:
        services.authorize(user, case, spec)
    except PermissionDenied:
        return False
    return True


def available_actions(user, case: WorkOrder) -> list[workflow.Action]:
    return [spec for spec in workflow.allowed(case.status) if can(user, case, spec.code)]


# ---------------------------------------------------------------- the case page


def _visible(user):
    return WorkOrder.objects.for_user(user, "view")


def _load_case(user, pk: int) -> WorkOrder:
    qs = _visible(user).select_related(
        "category__parent",
        "suggested_category__parent",
        "lead_unit",
        "proposed_unit",
        "grid",
        "community",
        "street",
        "reporter",
        "reporter_resident",
        "handler",
        "escalated_to",
        "merged_into",
        "house",
        "estate",
    )
    return get_object_or_404(qs, pk=pk)


def _action_forms(request: AuthedHttpRequest, case: WorkOrder, bound: ActionForm | None = None) -> list[dict]:
    actions = available_actions(request.user, case)
    units = categories = None
    if any(a.code in ("dispatch", "reassign") for a in actions):
        units = units_for(request.user, case)
        categories = leaf_categories()
    forms = []
    for spec in actions:
        if bound is not None and bound.action == spec.code:
            form = bound
        else:
            form = ActionForm(spec.code, case, request.user, units=units, categories=categories)
        forms.append({"spec": spec, "form": form, "open": form is bound})
    return forms


def _reporter_view(user, case: WorkOrder) -> dict:
    """Anonymous cases hide who reported them from everyone but the reporter."""
    hidden = case.anonymous and case.reporter_id != user.pk
    return {
        "reporter_hidden": hidden,
        "reporter_name": "" if hidden else (str(case.reporter) if case.reporter else ""),
        "caller_name": "" if hidden else case.caller_name,
        "caller_phone": "" if hidden else case.caller_phone_masked,  # type: ignore[attr-defined]
        "on_behalf_of": None if hidden else case.reporter_resident,
    }


def _map_point(case: WorkOrder) -> dict | None:
    if case.lat is None or case.lng is None:
        return None
    grid = case.grid
    return {"lat": case.lat, "lng": case.lng, "boundary": grid.boundary if grid is not None else None}


def _name_units(events: list) -> None:
    """Events store unit codes; show the units' names (in memory only, one query for the page)."""
    codes = {c for e in events for c in (e.data or {}).get("assists", [])}
    codes |= {e.data["from_unit"] for e in events if (e.data or {}).get("from_unit")}
    if not codes:
        return
    names = dict(HandlingUnit.objects.filter(code__in=codes).values_list("code", "name"))
    for e in events:
        data = e.data or {}
        if data.get("assists"):
            data["assists"] = [names.get(c, c) for c in data["assists"]]
        if data.get("from_unit"):
            data["from_unit"] = names.get(data["from_unit"], data["from_unit"])


def _render_case(request: AuthedHttpRequest, case: WorkOrder, bound: ActionForm | None = None, status: int = 200):
    events = list(
        case.events.select_related("unit").prefetch_related(
            Prefetch("attachments", queryset=CaseAttachment.objects.order_by("pk"))
        )
    )
    _name_units(events)
    reporter = _reporter_view(request.user, case)
    for e in events:
        hide = reporter["reporter_hidden"] and e.actor_id is not None and e.actor_id == case.reporter_id
        e.shown_actor = _("the reporter (anonymous)") if hide else e.actor_name  # type: ignore[attr-defined]
    attachments = list(case.attachments.order_by("pk"))
    photo_groups = []
    for kind, label in CaseAttachment.Kind.choices:
        items = [a for a in attachments if a.kind == kind]
        if items:
            photo_groups.append({"kind": kind, "label": label, "items": items})
    co_handlers = list(case.co_handlers.select_related("unit").order_by("unit__name"))
    duplicates = list(_visible(request.user).filter(merged_into=case).order_by("submitted_at")[:20])
    context = {
        "case": case,
        "events": events,
        "photo_groups": photo_groups,
        "co_handlers": co_handlers,
        "duplicates": duplicates,
        "action_forms": _action_forms(request, case, bound),
        "map_point": _map_point(case),
        "suggestion_differs": case.suggested_category_id and case.suggested_category_id != case.category_id,
        "back_url": _safe_next(request, request.GET.get("next")),
        "can_handle": request.user.has_linli_perm("cases.handle"),
        **reporter,
    }
    return render(request, "cases/case_detail.html", context, status=status)


@login_required
def case_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _render_case(request, _load_case(request.user, pk))


def _safe_next(request, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


@login_required
@require_POST
def case_act(request: AuthedHttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one action (services.act) with the version the person saw. Refusals come back as messages."""
    case = _load_case(request.user, pk)
    spec = workflow.ACTIONS.get(action)
    if spec is None:
        raise Http404
    case_page = reverse("cases:case-detail", args=[case.pk])
    done_url = _safe_next(request, request.POST.get("next")) or case_page
    form = ActionForm(action, case, request.user, request.POST, request.FILES)
    if not form.is_valid():
        if not can(request.user, case, action):
            messages.error(request, _refusal(request.user, case, spec))
            return redirect(case_page)
        return _render_case(request, case, bound=form, status=400)
    try:
        services.act(request.user, case.pk, action, expected_version=form.cleaned_data["version"], **form.kwargs())
    except services.ConflictError as exc:
        messages.error(request, str(exc))
        return redirect(case_page)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _render_case(request, _load_case(request.user, pk), bound=form, status=400)
    except workflow.TransitionError as exc:
        messages.error(request, str(exc))
        return redirect(case_page)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this on this case."))
        return redirect(case_page)
    messages.success(request, _("Done: %(action)s.") % {"action": spec.label})
    return redirect(done_url)


def _refusal(user, case: WorkOrder, spec: workflow.Action) -> str:
    """Why the action cannot be taken, in the words of the workflow or services."""
    try:
        workflow.check(case.status, spec.code)
        services.authorize(user, case, spec)
    except (workflow.TransitionError, PermissionDenied) as exc:
        return str(exc) or _("You may not do this on this case.")
    if spec.code in ("approve_suspend", "deny_suspend"):
        return _("Nobody asked to suspend this case.")
    if spec.code == "request_suspend":
        return _("A suspension is already waiting for approval.")
    return _("You may not do this on this case.")


# ---------------------------------------------------------------- photos


@login_required
def photo(request: AuthedHttpRequest, pk: int) -> FileResponse:
    """One photo, only when its case is visible to the user; served as the image type it was checked to be."""
    att = get_object_or_404(CaseAttachment.objects.filter(work_order__in=_visible(request.user)), pk=pk)
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type=att.content_type)
    response["Content-Disposition"] = f'inline; filename="{att.token}.{att.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------- my tasks


def _role_annotation(unit_ids: list[int]):
    return Case(When(lead_unit_id__in=unit_ids, then=Value("lead")), default=Value("assist"), output_field=CharField())


@login_required
def tasks(request: AuthedHttpRequest) -> HttpResponse:
    """The cases my units lead or assist on, by deadline (overdue first); suspended ones apart; my own reports
    still waiting for a dispatcher. With ?show=finished: what my units finished in the last FINISHED_DAYS days,
    latest first, so a case the system resolved (the device recovered) can still be found."""
    user = request.user
    if not user.has_linli_perm("cases.handle"):
        raise PermissionDenied
    unit_ids = unit_ids_of(user) or [0]
    show = "finished" if request.GET.get("show") == "finished" else "open"
    context = {"show": show, "has_units": bool(unit_ids_of(user)), "finished_days": FINISHED_DAYS}
    if show == "finished":
        # an assisting unit whose part is done still counts: it worked on the case
        mine = Q(lead_unit_id__in=unit_ids) | Q(
            pk__in=CoHandler.objects.filter(unit_id__in=unit_ids).values("work_order_id")
        )
        since = timezone.now() - dt.timedelta(days=FINISHED_DAYS)
        finished = (
            _visible(user)
            .filter(mine, status__in=FINISHED_STATUSES)
            .annotate(finished_at=Coalesce("resolved_at", "closed_at"), my_role=_role_annotation(unit_ids))
            .filter(finished_at__gte=since)
            .select_related("category", "grid", "community", "lead_unit")
            .order_by("-finished_at", "-pk")
        )
        context["page"] = Paginator(finished, TASKS_PAGE_SIZE).get_page(request.GET.get("page"))
        context["query"] = "show=finished"
        return render(request, "cases/tasks.html", context)
    mine = Q(lead_unit_id__in=unit_ids) | Q(
        pk__in=CoHandler.objects.filter(unit_id__in=unit_ids, done_at__isnull=True).values("work_order_id")
    )
    base = (
        _visible(user)
        .filter(mine)
        .select_related("category", "grid", "community", "lead_unit")
        .annotate(my_role=_role_annotation(unit_ids))
    )
    active = base.filter(status__in=TASK_STATUSES).order_by(F("resolve_due").asc(nulls_last=True), "submitted_at", "pk")
    context["page"] = Paginator(active, TASKS_PAGE_SIZE).get_page(request.GET.get("page"))
    context["suspended"] = list(base.filter(status=Status.SUSPENDED).order_by("suspended_at", "pk")[:TASKS_PAGE_SIZE])
    context["own"] = list(
        _visible(user)
        .filter(reporter=user, status__in=OWN_WAITING_STATUSES)
        .select_related("category", "grid", "community", "lead_unit")
        .order_by("submitted_at", "pk")[:OWN_REPORTS_LIMIT]
    )
    context["next"] = request.get_full_path()
    return render(request, "cases/tasks.html", context)


urlpatterns = [
    path("tasks/", tasks, name="tasks"),
    path("photos/<int:pk>/", photo, name="photo"),
    path("<int:pk>/", case_detail, name="case-detail"),
    path("<int:pk>/act/<slug:action>/", case_act, name="case-act"),
]
