"""People: residents (masked), households and organizations, each read through `for_user`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from linli.api.pagination import Paging, page_of, paginate
from linli.api.schemas import (
    HouseholdDetail,
    OrganizationOut,
    ResidentDetail,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    RevealIn,
    RevealOut,
    answers,
)
from linli.core import crypto
from linli.core.idnumber import normalize_phone
from linli.core.services import require_perm
from linli.people import services
from linli.people.models import Household, Label, Occupancy, Organization, Resident
from linli.places.models import House

router = Router(tags=["people"])


def residents_for(request: HttpRequest, action: str = "view") -> QuerySet[Resident]:
    """Scoped residents with labels and the residences the user may see, fetched in two extra queries."""
    occupancies = Occupancy.objects.for_user(request.user).select_related("house").order_by("house__code", "pk")
    return Resident.objects.for_user(request.user, action).prefetch_related(
        "labels", Prefetch("occupancies", queryset=occupancies, to_attr="visible_occupancies")
    )


class ResidentFilters(Schema):
    q: str | None = None
    id_number: str | None = None
    phone: str | None = None
    label: str | None = None
    elderly: bool | None = None
    grid: int | None = None
    community: int | None = None
    status: Resident.Status | None = None


def _exact_phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return raw.strip()


@router.get("/residents", response=answers(page_of(ResidentOut)))
def list_residents(request: HttpRequest, filters: Query[ResidentFilters], paging: Query[Paging]):
    """Residents in your scope. `id_number` and `phone` match exactly (through a keyed hash), `q` the name."""
    qs = residents_for(request)
    if filters.q:
        qs = qs.filter(name__icontains=filters.q.strip())
    if filters.id_number:
        qs = qs.filter(id_number_hash=crypto.blind_index(filters.id_number))
    if filters.phone:
        qs = qs.filter(phone_hash=crypto.blind_index(_exact_phone(filters.phone)))
    if filters.label:
        qs = qs.filter(labels__code=filters.label)
    if filters.elderly is not None:
        cutoff = Resident.elderly_birth_cutoff()
        qs = qs.filter(birth_date__lte=cutoff) if filters.elderly else qs.exclude(birth_date__lte=cutoff)
    for level in ("grid", "community"):
        area_id = getattr(filters, level)
        if area_id is not None:
            qs = qs.filter(Exists(Occupancy.objects.filter(resident=OuterRef("pk"), **{f"{level}_id": area_id})))
    if filters.status:
        qs = qs.filter(status=filters.status)
    return paginate(qs, paging, ("name", "id"))


@router.get("/residents/{int:resident_id}", response=answers(ResidentDetail))
def get_resident(request: HttpRequest, resident_id: int):
    return get_object_or_404(residents_for(request).prefetch_related("emergency_contacts"), pk=resident_id)


def _labels(request: HttpRequest, codes: list[str] | None) -> list[Label] | None:
    if codes is None:
        return None
    found = {label.code: label for label in Label.objects.for_user(request.user).filter(code__in=codes)}
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise ValidationError({"labels": [_("Unknown label: %(codes)s") % {"codes": ", ".join(unknown)}]})
    return list(found.values())


def _household(request: HttpRequest, household_id: int | None) -> Household | None:
    if household_id is None:
        return None
    household = Household.objects.for_user(request.user).filter(pk=household_id).first()
    if household is None:
        raise ValidationError({"household": [_("Choose a household within your area.")]})
    return household


@router.post("/residents", response=answers(ResidentDetail, 201))
def create_resident(request: HttpRequest, payload: ResidentIn):
    """Register a resident at a house of your area. Birth date and sex come from the ID number."""
    require_perm(request.user, "people.change")
    house = House.objects.for_user(request.user).filter(pk=payload.house).first()
    if house is None:
        raise ValidationError({"house": [_("Choose a house within your area.")]})
    data = payload.model_dump(exclude={"house", "relation", "labels", "household"})
    resident = services.save_resident(
        request.user,
        house=house,
        relation=payload.relation,
        labels=_labels(request, payload.labels),
        household=_household(request, payload.household),
        **data,
    )
    return Status(201, get_resident(request, resident.pk))


@router.patch("/residents/{int:resident_id}", response=answers(ResidentDetail))
def update_resident(request: HttpRequest, resident_id: int, payload: ResidentPatch):
    """Change the fields you send; leave the others as they are."""
    resident = get_object_or_404(Resident.objects.for_user(request.user), pk=resident_id)
    require_perm(request.user, "people.change")
    sent = payload.model_fields_set
    data = payload.model_dump(include=sent - {"labels", "household"})
    for name, value in data.items():
        if value is None:
            raise ValidationError({name: [_("This field cannot be empty.")]})
    extra: dict[str, Any] = {}
    if "household" in sent:
        extra["household"] = _household(request, payload.household)
    services.save_resident(request.user, resident, labels=_labels(request, payload.labels), **extra, **data)
    return get_resident(request, resident.pk)


@router.post("/residents/{int:resident_id}/reveal", response=answers(RevealOut))
def reveal_identifier(request: HttpRequest, resident_id: int, payload: RevealIn, response: HttpResponse):
    """Show one full ID or phone number. Needs the reveal permission and a purpose; always audited."""
    resident = get_object_or_404(Resident.objects.for_user(request.user), pk=resident_id)
    value = services.reveal(request.user, resident, payload.field, payload.purpose)
    response["Cache-Control"] = "no-store"
    return {"field": payload.field, "value": value}


@router.get("/households/{int:household_id}", response=answers(HouseholdDetail))
def get_household(request: HttpRequest, household_id: int):
    """A household and those of its members you may see."""
    members = Resident.objects.for_user(request.user).order_by("name", "pk")
    qs = (
        Household.objects.for_user(request.user)
        .distinct()
        .select_related("house")
        .prefetch_related(Prefetch("members", queryset=members, to_attr="visible_members"))
    )
    return get_object_or_404(qs, pk=household_id)


@router.get("/organizations", response=answers(page_of(OrganizationOut)))
def list_organizations(
    request: HttpRequest, paging: Query[Paging], kind: Organization.Kind | None = None, q: str | None = None
):
    """Companies, shops and social organizations in your scope."""
    qs = Organization.objects.for_user(request.user)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(name__icontains=q.strip()) | Q(uscc=q.strip().upper()))
    return paginate(qs, paging, ("name", "id"))


@router.get("/organizations/{int:org_id}", response=answers(OrganizationOut))
def get_organization(request: HttpRequest, org_id: int):
    return get_object_or_404(Organization.objects.for_user(request.user), pk=org_id)
