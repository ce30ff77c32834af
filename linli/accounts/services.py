"""Actions on accounts, roles, assignments and binding requests.

Each action checks the actor's permission, validates, writes and audits in one transaction.
Account and role changes are audited as "permission" with the before/after of what changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import Assignment, BindingRequest, Role, User
from linli.core import audit, codes, crypto
from linli.core import permissions as perms
from linli.core.idnumber import parse_id_number
from linli.core.models import AuditRecord
from linli.core.services import field_error, require_perm
from linli.people.models import Occupancy, Resident
from linli.places.models import Area, Estate, House

PERMISSION = AuditRecord.Action.PERMISSION


def assignments_snapshot(user: User) -> list[str]:
    """The user's assignments as readable strings, for before/after of permission changes."""
    out = []
    for a in user.assignments.select_related("role", "area", "estate").order_by("role__code", "id"):
        where = a.area.code if a.area is not None else (a.estate.code if a.estate is not None else "")
        out.append(f"{a.role.code}@{where}" if where else a.role.code)
    return out


def _check_separation(user: User, role: Role) -> None:
    """三员分立: admin, secadmin and auditor are never held by the same person."""
    if role.code not in perms.SEPARATED_ROLES:
        return
    held = set(user.assignments.values_list("role__code", flat=True)) & set(perms.SEPARATED_ROLES)
    others = held - {role.code}
    if others:
        raise field_error(
            "role",
            _("Separation of duties: this user already holds the role %(held)s, so they cannot also be %(role)s.")
            % {"held": ", ".join(str(Role.objects.get(code=c)) for c in sorted(others)), "role": role},
        )


@transaction.atomic
def create_user(actor, *, username: str, password: str, display_name: str = "", language: str = "zh-hans") -> User:
    require_perm(actor, "accounts.manage")
    username = username.strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("Enter a user name.")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This user name is taken.")]
    user = User(username=username, display_name=display_name.strip(), language=language)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    audit.record(PERMISSION, user, before=None, after={"username": user.username, "is_active": True, "assignments": []})
    return user


@transaction.atomic
def assign_role(actor, user: User, role: Role, *, area: Area | None = None, estate: Estate | None = None) -> Assignment:
    """Give `user` a role over a place. Enforces 三员分立 and that nobody grants roles to themself."""
    require_perm(actor, "accounts.manage")
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("You cannot change your own roles; ask another security administrator."))
    _check_separation(user, role)
    if role.scope_kind == perms.AREA:
        if area is None:
            raise field_error("area", _("This role needs an area (street, community or grid)."))
        estate = None
    elif role.scope_kind == perms.ESTATE:
        if estate is None:
            raise field_error("estate", _("This role needs an estate."))
        area = None
    else:
        area = estate = None
    if Assignment.objects.filter(user=user, role=role, area=area, estate=estate).exists():
        raise field_error("role", _("The user already has this role here."))
    before = assignments_snapshot(user)
    assignment = Assignment.objects.create(user=user, role=role, area=area, estate=estate)
    audit.record(PERMISSION, user, before={"assignments": before}, after={"assignments": assignments_snapshot(user)})
    return assignment


@transaction.atomic
def remove_assignment(actor, assignment: Assignment) -> None:
    require_perm(actor, "accounts.manage")
    user = assignment.user
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("You cannot change your own roles; ask another security administrator."))
    before = assignments_snapshot(user)
    assignment.delete()
    audit.record(PERMISSION, user, before={"assignments": before}, after={"assignments": assignments_snapshot(user)})


@transaction.atomic
def set_active(actor, user: User, active: bool) -> None:
    require_perm(actor, "accounts.manage")
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("You cannot disable your own account."))
    if user.is_active == active:
        return
    User.objects.filter(pk=user.pk).update(is_active=active)
    audit.record(PERMISSION, user, before={"is_active": user.is_active}, after={"is_active": active})
    user.is_active = active


@transaction.atomic
def unlock(actor, user: User) -> None:
    require_perm(actor, "accounts.manage")
    before = {
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "failed_logins": user.failed_logins,
    }
    User.objects.filter(pk=user.pk).update(locked_until=None, failed_logins=0)
    user.locked_until, user.failed_logins = None, 0
    audit.record(PERMISSION, user, before=before, after={"locked_until": None, "failed_logins": 0})


@transaction.atomic
def reset_password(actor, user: User, password: str) -> None:
    """Set a new password chosen by the security administrator; the password is never audited."""
    require_perm(actor, "accounts.manage")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages})
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(PERMISSION, user, after={"password": "reset"})


@transaction.atomic
def change_own_password(user: User, password: str) -> None:
    """The signed-in user changes their own password (the form already checked the old one)."""
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(AuditRecord.Action.UPDATE, user, after={"password": "changed"})


@transaction.atomic
def save_preferences(user: User, *, language: str, elder_mode: bool) -> None:
    before = {"language": user.language, "elder_mode": user.elder_mode}
    user.language, user.elder_mode = language, elder_mode
    user.full_clean(exclude=["password", "username"])
    user.save(update_fields=["language", "elder_mode"])
    audit.record_change(user, before, {"language": language, "elder_mode": elder_mode})


@transaction.atomic
def save_role(actor, role: Role, *, name_zh: str, name_en: str, permissions: list[str]) -> Role:
    require_perm(actor, "roles.manage")
    unknown = set(permissions) - set(perms.PERMISSIONS)
    if unknown:
        raise field_error("permissions", _("Unknown permissions: %(p)s") % {"p": ", ".join(sorted(unknown))})
    role = Role.objects.select_for_update().get(pk=role.pk)
    before = {"name_zh": role.name_zh, "name_en": role.name_en, "permissions": sorted(role.permissions)}
    role.name_zh, role.name_en = name_zh.strip(), name_en.strip()
    role.permissions = sorted(permissions)
    role.full_clean()
    role.save()
    b, a = audit.changes(before, {"name_zh": role.name_zh, "name_en": role.name_en, "permissions": role.permissions})
    if a:
        audit.record(PERMISSION, role, before=b, after=a)
    return role


# Binding requests: a resident asks to be linked to a house; community staff verify it.


def binding_requests_for(user) -> Any:
    """Binding requests for houses inside the user's bindings.verify scope."""
    if not user.is_authenticated or not user.has_linli_perm("bindings.verify"):
        return BindingRequest.objects.none()
    scope = user.scope_for("bindings.verify")
    if scope.all:
        return BindingRequest.objects.all()
    houses = House.objects.for_user(user).filter(House.scope_q(scope))
    return BindingRequest.objects.filter(house__in=houses)


BINDING_RELATIONS = (Occupancy.Relation.OWNER, Occupancy.Relation.TENANT, Occupancy.Relation.LIVES)


@transaction.atomic
def submit_binding_request(user: User, *, house_code: str, name: str, id_number: str, relation: str) -> BindingRequest:
    """Store a request holding only the ID number's keyed hash and masked form."""
    if Resident.objects.filter(user=user).exists():
        raise ValidationError(_("Your account is already linked to a resident."))
    errors: dict[str, list[str]] = {}
    code = codes.compact_code(house_code)
    house = None
    try:
        codes.validate_house_code(code, code[:18])
    except ValidationError as exc:
        errors["house_code"] = exc.messages
    else:
        house = House.objects.filter(code=code).first()
        if house is None:
            errors["house_code"] = [_("No house has this code. Check the code on your door plate or property bill.")]
    info = None
    try:
        info = parse_id_number(id_number)
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    if not name.strip():
        errors["name"] = [_("Enter your name as on your ID card.")]
    if relation not in BINDING_RELATIONS:
        errors["relation"] = [_("Choose a valid relation.")]
    if (
        house is not None
        and BindingRequest.objects.filter(user=user, house=house, status=BindingRequest.Status.PENDING).exists()
    ):
        errors["house_code"] = [_("You already asked to be linked to this house; community staff will check it.")]
    if errors:
        raise ValidationError(errors)
    assert info is not None and house is not None
    req = BindingRequest.objects.create(
        user=user,
        house=house,
        name=name.strip(),
        relation=relation,
        id_number_hash=crypto.blind_index(info.number),
        id_number_masked=crypto.mask_id_number(info.number),
    )
    audit.record(
        AuditRecord.Action.CREATE,
        req,
        user=user,
        after={"house": house.code, "name": req.name, "id_number": req.id_number_masked, "relation": relation},
    )
    return req


def _locked_request(actor, req: BindingRequest) -> BindingRequest:
    require_perm(actor, "bindings.verify")
    req = BindingRequest.objects.select_for_update().get(pk=req.pk)
    if not binding_requests_for(actor).filter(pk=req.pk).exists():
        raise Http404
    if req.status != BindingRequest.Status.PENDING:
        raise ValidationError(_("This request has already been decided."))
    return req


@transaction.atomic
def approve_binding(actor, req: BindingRequest, *, id_number: str = "", note: str = "") -> Resident:
    """Link the requesting account to the resident with that ID number living in the house.

    When no such resident is registered there yet, the verifier types the ID number from the
    card they checked; it must match the request, and a resident is created at the house.
    """
    from linli.people import services as people

    req = _locked_request(actor, req)
    if Resident.objects.filter(user=req.user).exists():
        raise ValidationError(_("This account is already linked to a resident."))
    resident = Resident.objects.filter(id_number_hash=req.id_number_hash).first()
    if resident is not None and not Occupancy.objects.filter(resident=resident, house=req.house).exists():
        if not Resident.objects.for_user(actor, "change").filter(pk=resident.pk).exists():
            raise ValidationError(
                _(
                    "This person is registered at a house outside your area. Ask that community "
                    "to record that they live here, then approve."
                )
            )
        people.add_occupancy(actor, resident, req.house, req.relation)
    if resident is None:
        id_number = (id_number or "").strip().upper()
        if not id_number:
            raise field_error(
                "id_number",
                _(
                    "Nobody with this ID number is registered at this house. Type the "
                    "number from the ID card you checked to register the resident."
                ),
            )
        if crypto.blind_index(id_number) != req.id_number_hash:
            raise field_error("id_number", _("This ID number does not match the one in the request."))
        resident = people.save_resident(
            actor, house=req.house, relation=req.relation, name=req.name, id_number=id_number
        )
    before = resident.audit_snapshot()
    resident.user = req.user
    resident.save(update_fields=["user", "updated_at"])
    audit.record_change(resident, before, resident.audit_snapshot())
    req.status, req.decided_by, req.decided_at, req.note = (
        BindingRequest.Status.APPROVED,
        actor,
        timezone.now(),
        note.strip()[:200],
    )
    req.save(update_fields=["status", "decided_by", "decided_at", "note"])
    audit.record(
        AuditRecord.Action.UPDATE,
        req,
        before={"status": "pending"},
        after={"status": req.status, "resident": resident.pk, "note": req.note},
    )
    return resident


@transaction.atomic
def reject_binding(actor, req: BindingRequest, *, note: str) -> BindingRequest:
    req = _locked_request(actor, req)
    note = (note or "").strip()
    if not note:
        raise field_error("note", _("Say why the request is rejected; the resident will see it."))
    req.status, req.decided_by, req.decided_at, req.note = (
        BindingRequest.Status.REJECTED,
        actor,
        timezone.now(),
        note[:200],
    )
    req.save(update_fields=["status", "decided_by", "decided_at", "note"])
    audit.record(
        AuditRecord.Action.UPDATE, req, before={"status": "pending"}, after={"status": req.status, "note": req.note}
    )
    return req
