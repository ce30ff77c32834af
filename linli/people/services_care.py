"""Actions on a resident's care profile (关爱档案). Each re-checks permission and scope and audits.

Reading the profile is audited like revealing an identifier: on the resident's page after a stated purpose
(reveal_care_profile), when it is opened for editing (once an hour per user and resident), and once per user
and incident on the dispatch pages (linli.dispatch.services.care_profile_for). The audit record names the
resident, so the resident sees it in their own data ("who looked at my data"); on the resident's page only
users who may see the profile see these records (linli.people.views.resident_history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.idnumber import normalize_phone
from linli.core.models import AuditRecord
from linli.core.services import field_error, require_in_scope, require_perm, save_audited
from linli.people import services as people
from linli.people.models import CareProfile, Resident

TEXT_FIELDS = (*CareProfile.HEALTH_FIELDS, "key_holder_name", "key_holder_relation")
FIELDS = (*TEXT_FIELDS, "mobility", "key_holder_phone")
REVEALED = "care_profile"  # the "field" an audit record of a profile view names
MIN_PURPOSE = people.MIN_PURPOSE


def profile_of(resident: Resident | None) -> CareProfile | None:
    """The resident's profile, or None (also for a profile with nothing in it)."""
    if resident is None:
        return None
    try:
        profile = resident.care_profile
    except CareProfile.DoesNotExist:
        return None
    return None if profile.is_empty else profile


LIMITS = {**CareProfile.MAX_LENGTHS, "key_holder_name": 50, "key_holder_relation": 20}


@transaction.atomic
def save_care_profile(actor, resident: Resident, **data: Any) -> CareProfile:
    """Create or change the resident's care profile. Fields left out keep their value; an empty key holder
    name removes the key holder (and their phone). Nothing is written unless every field is valid."""
    require_perm(actor, "people.change")
    require_in_scope(actor, resident)
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    profile = CareProfile.objects.select_for_update().filter(resident=resident).first()
    before = profile.audit_snapshot() if profile is not None else None
    profile = profile or CareProfile(resident=resident)
    errors: dict[str, list[str]] = {}
    for name in TEXT_FIELDS:
        if name not in data:
            continue
        value = str(data[name] or "").strip()
        limit = LIMITS[name]
        if len(value) > limit:
            errors[name] = [
                _("At most %(max)d characters (this has %(n)d).") % {"max": limit, "n": len(value)},
            ]
            continue
        setattr(profile, name, value)
    if "mobility" in data:
        mobility = data["mobility"] or ""
        if mobility and mobility not in CareProfile.Mobility.values:
            errors["mobility"] = [_("Choose a valid mobility.")]
        else:
            profile.mobility = mobility
    if data.get("key_holder_phone"):
        try:
            profile.key_holder_phone = normalize_phone(data["key_holder_phone"])
        except ValidationError as exc:
            errors["key_holder_phone"] = exc.messages
    if not profile.key_holder_name:
        if data.get("key_holder_phone") and "key_holder_phone" not in errors:
            errors["key_holder_name"] = [_("Enter the name of the person who holds the spare key.")]
        profile.key_holder_relation = ""
        profile.key_holder_phone = ""
    if errors:
        raise ValidationError(errors)
    save_audited(profile, before, actor)
    return profile


def _purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE:
        raise field_error(
            "purpose", _("State why you need to see the care profile (at least %(n)d characters).") % {"n": MIN_PURPOSE}
        )
    return purpose


def record_view(actor, resident: Resident, purpose: str, **after: Any) -> AuditRecord:
    """One audit record saying that `actor` saw the resident's care profile, and why."""
    return audit.record(
        AuditRecord.Action.REVEAL, resident, purpose=purpose[:300], after={"field": REVEALED, **after}, user=actor
    )


def reveal_care_profile(actor, resident: Resident, purpose: str) -> CareProfile | None:
    """The profile for the resident's page: needs people.reveal, scope and a stated purpose; audited."""
    if not actor.has_linli_perm("people.reveal"):
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    require_in_scope(actor, resident, "view")
    purpose = _purpose(purpose)
    profile = profile_of(resident)
    if profile is not None:
        record_view(actor, resident, purpose)
    return profile


def open_for_editing(actor, resident: Resident) -> CareProfile | None:
    """The profile to fill an edit form with (people.change and people.reveal); the view is audited."""
    require_perm(actor, "people.change")
    if not actor.has_linli_perm("people.reveal"):
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    require_in_scope(actor, resident)
    profile = CareProfile.objects.filter(resident=resident).first()
    if profile is not None and not profile.is_empty and not _opened_lately(actor, resident):
        record_view(actor, resident, _("care profile opened for editing"), editing=True)
    return profile


EDIT_VIEW_QUIET = dt.timedelta(hours=1)


def _opened_lately(actor, resident: Resident) -> bool:
    """Whether `actor` opened this profile for editing within the last hour: reopening the form (after a
    mistake in it, say) is not recorded again. Saving is audited as the change it is."""
    return AuditRecord.objects.filter(
        action=AuditRecord.Action.REVEAL,
        object_type="people.resident",
        object_id=str(resident.pk),
        user_id=actor.pk,
        after__field=REVEALED,
        after__editing=True,
        ts__gte=timezone.now() - EDIT_VIEW_QUIET,
    ).exists()


def export(resident: Resident) -> dict[str, Any] | None:
    """The care profile in the resident's own data package, in clear (it is theirs)."""
    profile = CareProfile.objects.filter(resident=resident).first()
    if profile is None:
        return None
    out: dict[str, Any] = {name: getattr(profile, name) for name in FIELDS}
    out["mobility_label"] = str(profile.get_mobility_display()) if profile.mobility else ""  # type: ignore[attr-defined]
    out["updated_at"] = profile.updated_at
    return out


def data_package(resident: Resident) -> dict[str, Any]:
    """people.data_package with the care profile and the audit records of its changes."""
    package = people.data_package(resident)
    package["care_profile"] = export(resident)
    profile_id = CareProfile.objects.filter(resident=resident).values_list("pk", flat=True).first()
    if profile_id is not None:
        changes = AuditRecord.objects.filter(object_type="people.careprofile", object_id=str(profile_id))
        package["access_log"] = sorted(
            [
                *package["access_log"],
                *({"time": r.ts, "action": r.action, "by": r.username, "purpose": r.purpose} for r in changes),
            ],
            key=lambda row: row["time"],
        )
    return package
