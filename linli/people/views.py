"""Views for residents, households, organizations, binding requests and a resident's own data.

Every read goes through `Model.objects.for_user`; every write is one call to a service action.
"""

from __future__ import annotations

import json

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.accounts import services as accounts
from linli.accounts.http import AuthedHttpRequest
from linli.accounts.models import BindingRequest, User
from linli.core import audit
from linli.core.models import AuditRecord
from linli.people import forms, views_care
from linli.people import services as people
from linli.people import services_care as care
from linli.people.models import CareProfile, EmergencyContact, Household, Occupancy, Organization, Resident
from linli.people.selectors import resident_search_q
from linli.places.models import House

PAGE_SIZE = 25


def _need(request: AuthedHttpRequest, perm: str) -> None:
    if not request.user.has_linli_perm(perm):
        raise PermissionDenied


def _page(request: HttpRequest, qs, count: int | None = None):
    paginator = Paginator(qs, PAGE_SIZE)
    if count is not None:
        paginator.count = count  # a known total saves counting the whole scope again
    return paginator.get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# identifiers a reveal record names ("field"): they are sealed, so not model fields with a verbose name
REVEALED_LABELS = {
    "phone": gettext_lazy("Phone"),
    "id_number": gettext_lazy("ID number"),
    "key_holder_phone": gettext_lazy("key holder's phone"),
}


def _field_label(model, name: str) -> str:
    if name in REVEALED_LABELS:
        return str(REVEALED_LABELS[name])
    if model is None:
        return name
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - an old or unknown field name stays as it was recorded
        return name


def _history_row(rec: AuditRecord, actors: dict) -> dict:
    before, after = rec.before or {}, rec.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        before, after = {"": before}, {"": after}
    row: dict = {"rec": rec, "actor": actors.get(rec.user_id) or rec.username, "label": rec.get_action_display()}
    row["changes"], row["fields"] = [], []
    if rec.action == AuditRecord.Action.REVEAL:
        field = after.get("field", "")
        if field == care.REVEALED:
            row["label"] = _("viewed care profile")
        elif field:
            row["fields"] = [_field_label(_model_of(rec.object_type) or Resident, field)]
        return row
    if rec.object_type == "people.careprofile":
        # what changed, by name only: the values of a care profile are sealed digests or health facts
        row["label"] = _("changed care profile")
        keys = [k for k in sorted(set(before) | set(after)) if k not in ("id", "resident", "created_at", "updated_at")]
        row["fields"] = [_field_label(CareProfile, k) for k in keys]
        return row
    keys = [k for k in sorted(set(before) | set(after)) if k not in ("id", "created_at", "updated_at")]
    model = _model_of(rec.object_type)
    row["changes"] = [(_field_label(model, k) if k else k, before.get(k), after.get(k), k in before) for k in keys]
    return row


def _model_of(object_type: str):
    """The model an audit record's object_type ("people.resident") names, or None."""
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def history_rows(records, display_names: bool = False) -> list[dict]:
    """Audit records of one object as rows of (field, before, after) for the History panel, reveals named by
    what was seen; with display_names, actors by their display name (one more query) instead of login."""
    records = list(records)
    ids = {r.user_id for r in records if r.user_id} if display_names else set()
    actors = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)} if ids else {}
    return [_history_row(rec, actors) for rec in records]


def resident_history(user, resident: Resident, limit: int = 50) -> list[dict]:
    """The resident's History panel. Records about the care profile (views of it, its changes, its key
    holder's phone) only for users who may see the profile (people.reveal): to anyone else even the existence
    of a profile stays hidden."""
    q = Q(object_type="people.resident", object_id=str(resident.pk))
    may_see_care = user.has_linli_perm("people.reveal")
    if may_see_care:
        profile_id = CareProfile.objects.filter(resident=resident).values_list("pk", flat=True).first()
        if profile_id is not None:
            q |= Q(object_type="people.careprofile", object_id=str(profile_id))
    records = AuditRecord.objects.filter(q)
    if not may_see_care:
        records = records.exclude(action=AuditRecord.Action.REVEAL, after__field=care.REVEALED)
    return history_rows(records.order_by("-seq")[:limit], display_names=True)


# Residents


def _search_residents(qs, q: str):
    return qs.filter(resident_search_q(q))


def _in_scope_occupancies(user):
    return Occupancy.objects.for_user(user).select_related("house__building", "house__unit", "grid")


@login_required
def resident_list(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "people.view")
    user = request.user
    form = forms.ResidentFilterForm(request.GET or None, user=user)
    qs = Resident.objects.for_user(user)
    filtered = form.is_valid() and any(form.cleaned_data.values())
    count = None if filtered else Resident.count_for_user(user)
    if form.is_valid():
        f = form.cleaned_data
        if f["q"]:
            qs = _search_residents(qs, f["q"])
        for level in ("community", "grid"):
            if f[level]:
                qs = qs.filter(
                    Exists(Occupancy.objects.filter(resident=OuterRef("pk"), **{f"{level}_id": f[level].pk}))
                )
        if f["label"]:
            qs = qs.filter(labels=f["label"])
        if f["elderly"]:
            qs = qs.filter(birth_date__lte=Resident.elderly_birth_cutoff())
        if f["status"]:
            qs = qs.filter(status=f["status"])
    qs = qs.prefetch_related("labels", Prefetch("occupancies", queryset=_in_scope_occupancies(user)))
    page = _page(request, qs.order_by("name", "id"), count)
    template = "people/_resident_rows.html" if request.headers.get("HX-Request") else "people/resident_list.html"
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "can_change": user.has_linli_perm("people.change"),
            "can_export": user.has_linli_perm("people.export"),
        },
    )


def _resident(request: AuthedHttpRequest, pk: int, action: str = "view") -> Resident:
    return get_object_or_404(Resident.objects.for_user(request.user, action), pk=pk)


@login_required
def resident_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "people.view")
    user = request.user
    resident = _resident(request, pk)
    members = []
    household = None
    if resident.household_id:
        household = Household.objects.for_user(user).filter(pk=resident.household_id).first()
        members = list(
            Resident.objects.for_user(user).filter(household_id=resident.household_id).exclude(pk=resident.pk)
        )
    can_change = Resident.objects.for_user(user, "change").filter(pk=resident.pk).exists()
    return render(
        request,
        "people/resident_detail.html",
        {
            "resident": resident,
            "labels": resident.labels.all(),
            "household": household,
            "members": members,
            "occupancies": _in_scope_occupancies(user).filter(resident=resident),
            "contacts": EmergencyContact.objects.for_user(user).filter(resident=resident),
            "history": resident_history(user, resident),
            "can_change": can_change,
            "can_reveal": user.has_linli_perm("people.reveal"),
            "care": care.profile_of(resident),
            "can_edit_care": can_change and user.has_linli_perm("people.reveal"),
            "care_edit_url": views_care.care_edit_url(resident),
            "contact_form": forms.EmergencyContactForm(),
            "occupancy_form": forms.OccupancyForm(user=user),
        },
    )


@login_required
def resident_create(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "people.change")
    initial = {}
    if request.method == "GET" and request.GET.get("house"):
        house = (
            House.objects.for_user(request.user).filter(pk=request.GET["house"]).first()
            if request.GET["house"].isdigit()
            else None
        )
        if house is not None:
            initial["house_code"] = house.display_code
    form = forms.ResidentCreateForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            resident = people.save_resident(
                request.user,
                house=form.house,
                relation=form.cleaned_data["relation"],
                labels=list(form.cleaned_data["labels"]),
                **form.service_data(),
            )
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Resident %(name)s registered.") % {"name": resident.name})
            return redirect("people:resident-detail", pk=resident.pk)
    return render(request, "people/resident_form.html", {"form": form, "creating": True})


@login_required
def resident_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "people.change")
    if request.GET.get("section") == "care":
        return views_care.care_profile_edit(request, pk)
    resident = _resident(request, pk, "change")
    initial = {
        "name": resident.name,
        "ethnicity": resident.ethnicity,
        "relation_to_head": resident.relation_to_head,
        "status": resident.status,
        "notes": resident.notes,
        "labels": list(resident.labels.all()),
    }
    form = forms.ResidentForm(request.POST or None, initial=initial, resident=resident)
    if request.method == "POST" and form.is_valid():
        try:
            people.save_resident(
                request.user, resident, labels=list(form.cleaned_data["labels"]), **form.service_data()
            )
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("people:resident-detail", pk=resident.pk)
    return render(request, "people/resident_form.html", {"form": form, "resident": resident, "creating": False})


@login_required
@require_POST
def resident_reveal(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Show one full identifier after the user states why; the service audits it."""
    _need(request, "people.reveal")
    resident = _resident(request, pk)
    form = forms.RevealForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose the ID number or the phone."), status=400)
    field = form.cleaned_data["field"]
    if field == "care_profile":
        return views_care.care_profile_reveal(request, resident, form.cleaned_data["purpose"])
    context = {"resident": resident, "field": field, "form": form}
    try:
        context["value"] = people.reveal(request.user, resident, field, form.cleaned_data["purpose"])
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
    template = "people/_reveal.html" if request.headers.get("HX-Request") else "people/reveal_page.html"
    return render(request, template, context)


@login_required
@require_POST
def contact_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "people.change")
    resident = _resident(request, pk, "change")
    form = forms.EmergencyContactForm(request.POST)
    if form.is_valid():
        try:
            people.save_emergency_contact(request.user, resident, **form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Emergency contact added."))
            return redirect("people:resident-detail", pk=resident.pk)
    return render(
        request,
        "people/resident_subform.html",
        {"resident": resident, "form": form, "title": _("Add an emergency contact"), "action": "people:contact-add"},
    )


@login_required
@require_POST
def occupancy_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "people.change")
    resident = _resident(request, pk, "change")
    form = forms.OccupancyForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            people.add_occupancy(
                request.user, resident, form.house, form.cleaned_data["relation"], form.cleaned_data["since"]
            )
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Residence added."))
            return redirect("people:resident-detail", pk=resident.pk)
    return render(
        request,
        "people/resident_subform.html",
        {"resident": resident, "form": form, "title": _("Add a residence"), "action": "people:occupancy-add"},
    )


@login_required
@require_POST
def occupancy_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "people.change")
    occupancy = get_object_or_404(Occupancy.objects.for_user(request.user, "change"), pk=pk)
    resident_id = occupancy.resident_id
    people.remove_occupancy(request.user, occupancy)
    messages.success(request, _("Residence removed."))
    if Resident.objects.for_user(request.user).filter(pk=resident_id).exists():
        return redirect("people:resident-detail", pk=resident_id)
    return redirect("people:resident-list")


@login_required
def household_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "people.view")
    household = get_object_or_404(
        Household.objects.for_user(request.user).distinct().select_related("house__building", "house__unit", "head"),
        pk=pk,
    )
    members = Resident.objects.for_user(request.user).filter(household=household).prefetch_related("labels")
    head_visible = household.head_id and any(m.pk == household.head_id for m in members)
    return render(
        request,
        "people/household_detail.html",
        {"household": household, "members": members, "head_visible": head_visible},
    )


# Organizations


@login_required
def organization_list(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "orgs.view")
    form = forms.OrganizationFilterForm(request.GET or None)
    qs = Organization.objects.for_user(request.user).select_related("grid")
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            qs = qs.filter(Q(name__icontains=q) | Q(uscc=q.upper()))
        if form.cleaned_data["kind"]:
            qs = qs.filter(kind=form.cleaned_data["kind"])
    return render(
        request,
        "people/organization_list.html",
        {
            "form": form,
            "page": _page(request, qs.order_by("name", "id")),
            "query": _query_without_page(request),
            "can_change": request.user.has_linli_perm("orgs.change"),
        },
    )


@login_required
def organization_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "orgs.view")
    org = get_object_or_404(Organization.objects.for_user(request.user).select_related("grid"), pk=pk)
    can_change = Organization.objects.for_user(request.user, "change").filter(pk=org.pk).exists()
    history = AuditRecord.objects.filter(object_type="people.organization", object_id=str(org.pk)).order_by("-seq")
    return render(
        request,
        "people/organization_detail.html",
        {"org": org, "can_change": can_change, "history": history_rows(history[:50], display_names=True)},
    )


def _organization_form(request: AuthedHttpRequest, org: Organization | None) -> HttpResponse:
    initial = {}
    if org is not None:
        initial = {k: getattr(org, k) for k in ("kind", "name", "uscc", "contact_name", "address")}
        initial["grid"] = org.grid_id
    form = forms.OrganizationForm(request.POST or None, initial=initial, user=request.user, org=org)
    if request.method == "POST" and form.is_valid():
        try:
            org = people.save_organization(request.user, org, **form.service_data())
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Organization saved."))
            return redirect("people:organization-detail", pk=org.pk)
    return render(request, "people/organization_form.html", {"form": form, "org": org})


@login_required
def organization_create(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "orgs.change")
    return _organization_form(request, None)


@login_required
def organization_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "orgs.change")
    org = get_object_or_404(Organization.objects.for_user(request.user, "change"), pk=pk)
    return _organization_form(request, org)


# Binding requests


@login_required
def binding_request(request: AuthedHttpRequest) -> HttpResponse:
    """A resident-role account without a linked resident asks to be linked to a house."""
    user = request.user
    if "resident" not in user.role_codes:
        raise PermissionDenied
    if Resident.objects.filter(user=user).exists():
        messages.info(request, _("Your account is already linked to a resident."))
        return redirect("people:my-data")
    form = forms.BindingRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.submit_binding_request(user, **form.cleaned_data)
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            messages.success(request, _("Request sent. Community staff will check it and link your account."))
            return redirect("people:binding-request")
    mine = BindingRequest.objects.filter(user=user).select_related("house__building", "house__unit")
    pending = any(r.status == BindingRequest.Status.PENDING for r in mine)
    return render(request, "people/binding_request.html", {"form": form, "requests": mine, "pending": pending})


@login_required
def binding_list(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "bindings.verify")
    status = request.GET.get("status", BindingRequest.Status.PENDING)
    qs = accounts.binding_requests_for(request.user).select_related(
        "user", "house__building", "house__unit", "decided_by"
    )
    if status in BindingRequest.Status.values:
        qs = qs.filter(status=status)
    return render(
        request,
        "people/binding_list.html",
        {
            "page": _page(request, qs.order_by("-created_at", "-id")),
            "status": status,
            "statuses": BindingRequest.Status.choices,
            "query": _query_without_page(request),
            "form": forms.BindingDecisionForm(),
        },
    )


def _binding(request: AuthedHttpRequest, pk: int) -> BindingRequest:
    _need(request, "bindings.verify")
    return get_object_or_404(accounts.binding_requests_for(request.user), pk=pk)


@login_required
def binding_decide(request: AuthedHttpRequest, pk: int, decision: str) -> HttpResponse:
    req = _binding(request, pk)
    form = forms.BindingDecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            if decision == "approve":
                accounts.approve_binding(request.user, req, **form.cleaned_data)
                messages.success(request, _("Approved: the account is now linked to the resident."))
            else:
                accounts.reject_binding(request.user, req, note=form.cleaned_data["note"])
                messages.success(request, _("Request rejected."))
        except ValidationError as exc:
            forms.apply_errors(form, exc)
        else:
            return redirect("people:binding-list")
    return render(request, "people/binding_decide.html", {"req": req, "form": form, "decision": decision})


# A resident's own data (PIPL art. 45)


def _me(request: AuthedHttpRequest) -> Resident | None:
    return Resident.objects.filter(user=request.user).first()


@login_required
def my_data(request: AuthedHttpRequest) -> HttpResponse:
    me = _me(request)
    if me is None:
        if "resident" in request.user.role_codes:
            return redirect("people:binding-request")
        raise PermissionDenied
    return render(request, "people/my_data.html", {"me": me, "data": care.data_package(me)})


@login_required
def my_data_download(request: AuthedHttpRequest) -> HttpResponse:
    me = _me(request)
    if me is None:
        raise PermissionDenied
    package = care.data_package(me)
    audit.record(AuditRecord.Action.SELF_EXPORT, me, purpose=_("own data downloaded by the resident"))
    body = json.dumps(package, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="linli-my-data.json"'
    return response
