"""Actions on people. Each validates, re-checks scope, writes and audits in one transaction."""

from __future__ import annotations

import datetime as dt
from types import EllipsisType
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import audit, crypto
from linli.core.idnumber import normalize_phone, parse_id_number, validate_uscc
from linli.core.models import AuditRecord
from linli.core.services import field_error, require_in_scope, require_perm, save_audited
from linli.people.models import EmergencyContact, Household, Label, Occupancy, Organization, Resident
from linli.places.models import House

RESIDENT_FIELDS = ("name", "id_number", "phone", "ethnicity", "relation_to_head", "status", "notes")


def _apply_identity(resident: Resident, id_number: str | None, errors: dict) -> None:
    if id_number is None:
        return
    id_number = id_number.strip().upper()
    if not id_number:
        resident.id_number = ""
        return
    try:
        info = parse_id_number(id_number)
    except ValidationError as exc:
        errors["id_number"] = exc.messages
        return
    clash = Resident.objects.filter(id_number_hash=crypto.blind_index(info.number)).exclude(pk=resident.pk)
    if clash.exists():
        errors["id_number"] = [_("A resident with this ID number is already registered in Linli.")]
        return
    resident.id_number = info.number
    resident.birth_date, resident.sex = info.birth_date, info.sex


def _apply_phone(obj, phone: str | None, errors: dict, field: str = "phone") -> None:
    if phone is None:
        return
    if not phone.strip():
        obj.phone = ""
        return
    try:
        obj.phone = normalize_phone(phone)
    except ValidationError as exc:
        errors[field] = exc.messages


@transaction.atomic
def save_resident(
    actor,
    resident: Resident | None = None,
    *,
    house: House | None = None,
    relation: str = Occupancy.Relation.LIVES,
    labels: list[Label] | None = None,
    household: Household | None | EllipsisType = ...,
    **data: Any,
) -> Resident:
    """Create a resident (at `house`, required for staff with an area scope) or update one.

    Birth date and sex are derived from the ID number. Nothing is written unless all fields are valid.
    """
    require_perm(actor, "people.change")
    creating = resident is None
    if resident is None:
        resident = Resident()
        before = None
        if house is None and actor is not None and not actor.scope_for("people.change").all:
            raise field_error("house", _("Choose the house where this resident lives."))
    else:
        resident = Resident.objects.select_for_update().get(pk=resident.pk)
        require_in_scope(actor, resident)
        before = resident.audit_snapshot()
    if house is not None:
        require_in_scope(actor, house, "view")
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(RESIDENT_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    for name in ("name", "ethnicity", "relation_to_head", "status", "notes"):
        if name in data and data[name] is not None:
            setattr(resident, name, str(data[name]).strip())
    if creating and not resident.name:
        errors["name"] = [_("Enter the resident's name.")]
    _apply_identity(resident, data.get("id_number"), errors)
    _apply_phone(resident, data.get("phone"), errors)
    if household is not ...:
        if household is not None:
            require_in_scope(actor, household, "view")
        resident.household = household
    if errors:
        raise ValidationError(errors)
    resident.full_clean(exclude=["user"])
    resident.save()
    if labels is not None:
        resident.labels.set(labels)
    if house is not None:
        occ = Occupancy(resident=resident, house=house, relation=relation)
        occ.copy_areas_from_house()
        if not Occupancy.objects.filter(resident=resident, house=house, relation=relation).exists():
            save_audited(occ, None, actor)
    audit.record_change(resident, before, resident.audit_snapshot(), user=actor)
    return resident


@transaction.atomic
def add_occupancy(actor, resident: Resident, house: House, relation: str, since: dt.date | None = None) -> Occupancy:
    require_perm(actor, "people.change")
    require_in_scope(actor, resident)
    require_in_scope(actor, house, "view")
    if relation not in Occupancy.Relation.values:
        raise field_error("relation", _("Choose a valid relation."))
    if Occupancy.objects.filter(resident=resident, house=house, relation=relation).exists():
        raise field_error("house", _("This relation is already recorded."), "unique")
    occ = Occupancy(resident=resident, house=house, relation=relation, since=since)
    occ.copy_areas_from_house()
    save_audited(occ, None, actor)
    return occ


@transaction.atomic
def remove_occupancy(actor, occupancy: Occupancy) -> None:
    from linli.core.services import delete_audited

    require_perm(actor, "people.change")
    require_in_scope(actor, occupancy)
    delete_audited(occupancy, actor)


@transaction.atomic
def create_household(
    actor, *, house: House, kind: str = Household.Kind.RESIDENT, head: Resident | None = None, code: str = ""
) -> Household:
    require_perm(actor, "people.change")
    require_in_scope(actor, house, "view")
    if not code:
        n = Household.objects.filter(house=house).count() + 1
        code = f"{house.code}{n:02d}"
    hh = Household(code=code, house=house, kind=kind, head=head)
    save_audited(hh, None, actor)
    if head is not None:
        before = head.audit_snapshot()
        head.household, head.relation_to_head = hh, head.relation_to_head or "本人"
        head.save(update_fields=["household", "relation_to_head", "updated_at"])
        audit.record_change(head, before, head.audit_snapshot(), user=actor)
    return hh


@transaction.atomic
def save_emergency_contact(
    actor, resident: Resident, *, name: str, phone: str, relation: str = "", contact: EmergencyContact | None = None
) -> EmergencyContact:
    require_perm(actor, "people.change")
    require_in_scope(actor, resident)
    before = contact.audit_snapshot() if contact else None
    contact = contact or EmergencyContact(resident=resident)
    errors: dict[str, list[str]] = {}
    contact.name, contact.relation = name.strip(), relation.strip()
    if not contact.name:
        errors["name"] = [_("Enter the contact's name.")]
    _apply_phone(contact, phone, errors)
    if not phone.strip():
        errors["phone"] = [_("Enter the contact's phone number.")]
    if errors:
        raise ValidationError(errors)
    save_audited(contact, before, actor)
    return contact


@transaction.atomic
def save_organization(actor, org: Organization | None = None, **data: Any) -> Organization:
    require_perm(actor, "orgs.change")
    before = None
    if org is not None:
        org = Organization.objects.select_for_update().get(pk=org.pk)
        require_in_scope(actor, org)
        before = org.audit_snapshot()
    else:
        org = Organization()
    errors: dict[str, list[str]] = {}
    for name in ("kind", "name", "contact_name", "address", "lng", "lat"):
        if name in data:
            setattr(org, name, data[name])
    if "grid" in data:
        grid = data["grid"]
        if grid is not None:
            require_in_scope(actor, grid, "view")
        org.grid = grid
        org.copy_areas_from_grid()
    elif org.pk is None and actor is not None and not actor.scope_for("orgs.change").all:
        errors["grid"] = [_("Choose the grid where the organization is.")]
    if data.get("uscc"):
        try:
            org.uscc = validate_uscc(data["uscc"])
        except ValidationError as exc:
            errors["uscc"] = exc.messages
        else:
            if Organization.objects.filter(uscc=org.uscc).exclude(pk=org.pk).exists():
                errors["uscc"] = [_("An organization with this code is already registered.")]
    elif "uscc" in data:
        org.uscc = ""
    _apply_phone(org, data.get("phone"), errors)
    if errors:
        raise ValidationError(errors)
    save_audited(org, before, actor)
    return org


REVEALABLE = {Resident: ("id_number", "phone"), EmergencyContact: ("phone",), Organization: ("phone",)}
MIN_PURPOSE = 4


def reveal(actor, obj, field: str, purpose: str) -> str:
    """Return one identifier in clear. Needs people.reveal, scope and a stated purpose; always audited."""
    if type(obj) not in REVEALABLE or field not in REVEALABLE[type(obj)]:
        raise field_error("field", _("This field cannot be revealed."))
    if not actor.has_linli_perm("people.reveal"):
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    require_in_scope(actor, obj, "view")
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE:
        raise field_error(
            "purpose", _("State why you need the full number (at least %(n)d characters).") % {"n": MIN_PURPOSE}
        )
    value = getattr(obj, field)
    audit.record(AuditRecord.Action.REVEAL, obj, purpose=purpose, after={"field": field}, user=actor)
    return value


def data_package(resident: Resident) -> dict[str, Any]:
    """Everything Linli holds about one resident, for the resident themself (PIPL art. 45)."""
    occ = Occupancy.objects.filter(resident=resident).select_related(
        "house", "house__building", "grid", "community", "street"
    )
    return {
        "resident": {
            "name": resident.name,
            "id_number": resident.id_number,
            "phone": resident.phone,
            "birth_date": resident.birth_date,
            "sex": resident.sex,
            "ethnicity": resident.ethnicity,
            "status": resident.status,
            "relation_to_head": resident.relation_to_head,
            "notes": resident.notes,
            "labels": [str(label) for label in resident.labels.all()],
            "created_at": resident.created_at,
            "updated_at": resident.updated_at,
        },
        "household": (
            {
                "code": resident.household.code,
                "kind": resident.household.kind,
                "members": [m.name for m in resident.household.members.all()],
            }
            if resident.household is not None
            else None
        ),
        "residences": [
            {
                "house": o.house.display_code,
                "address": str(o.house),
                "relation": o.relation,
                "grid": o.grid.name,
                "community": o.community.name,
                "street": o.street.name,
            }
            for o in occ
        ],
        "emergency_contacts": [
            {"name": c.name, "relation": c.relation, "phone": c.phone} for c in resident.emergency_contacts.all()
        ],
        "access_log": [
            {"time": r.ts, "action": r.action, "by": r.username, "purpose": r.purpose}
            for r in AuditRecord.objects.filter(object_type="people.resident", object_id=str(resident.pk)).order_by(
                "seq"
            )
        ],
    }
