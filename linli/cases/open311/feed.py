"""The public service-request feed: which cases anyone may read through Open311, and what of them.

Open311 GETs need no key and no sign-in, so they read the cases through `public_requests()` — the one
public entry point, never a user's scope. What it leaves out, on purpose:

- cases in the groups 06 矛盾纠纷, 07 民生服务 and 08 社会治安 (disputes, welfare and health, police
  matters) and cases not yet classified: they are about people, not places;
- the reporter, caller name and phone, house and house code, and every photo (residents' photos show
  homes and faces; `media_url` is always empty);
- the exact place: coordinates are rounded to 3 decimals (about 100 m), and a case at a home gives the
  building, never the unit or room;
- mobile, landline and ID numbers typed into the description, resolution or address (masked).
"""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.cases import workflow
from linli.cases.models import CaseEvent, Status, WorkOrder
from linli.core import crypto

PRIVATE_GROUPS = ("06", "07", "08")
COORD_DECIMALS = 3  # ~110 m of latitude, ~85 m of longitude in Tianjin
MAX_RESULTS = 1000  # GeoReport's default query limit

_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])0[1-9][0-9]{1,2}-?[0-9]{7,8}(?![0-9])")


def mask_text(text: str) -> str:
    """Hide identity and phone numbers someone typed into free text."""
    if not text:
        return text
    text = _ID_NUMBER.sub(lambda m: m.group(0)[:6] + "*" * 8 + m.group(0)[-4:], text)
    text = _MOBILE.sub(lambda m: crypto.mask_phone(re.sub(r"[^0-9]", "", m.group(0))[-11:]), text)
    return _LANDLINE.sub(lambda m: m.group(0)[:4] + "****" + m.group(0)[-2:], text)


def public_requests() -> QuerySet[WorkOrder]:
    return (
        WorkOrder.objects.filter(category__isnull=False, category__parent__isnull=False)
        .exclude(category__parent__code__in=PRIVATE_GROUPS)
        .select_related(
            "category__parent",
            "lead_unit",
            "house__building__estate",
            "merged_into",
            "community",
            "street",
            "district",
            "city",
        )
    )


def status_filter(statuses: set[str]) -> Q:
    from linli.cases.models import OPEN_STATUSES

    if statuses == {"open"}:
        return Q(status__in=OPEN_STATUSES)
    if statuses == {"closed"}:
        return ~Q(status__in=OPEN_STATUSES)
    return Q()


def w3c(value) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def _address(case: WorkOrder) -> str:
    """Most specific to most general, as GeoReport asks; a home is given as its building."""
    parts: list[str] = []
    if case.house_id and case.house is not None:
        building = case.house.building
        estate = building.estate.name if building.estate_id and building.estate else ""
        parts.append(building.address or f"{estate}{building.name}")
    elif case.address:
        parts.append(mask_text(case.address))
    for area in (case.community, case.street, case.district, case.city):
        if area is not None:
            parts.append(area.name)
    return ", ".join(p for p in parts if p)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, COORD_DECIMALS)


def reject_notes(cases: list[WorkOrder]) -> dict[int, str]:
    """The reason given when each not-accepted case was refused (one query)."""
    ids = [c.pk for c in cases if c.status == Status.REJECTED]
    notes: dict[int, str] = {}
    if ids:
        for work_order_id, note in (
            CaseEvent.objects.filter(work_order_id__in=ids, action="reject")
            .order_by("at", "pk")
            .values_list("work_order_id", "note")
        ):
            notes[work_order_id] = note
    return notes


def status_notes(case: WorkOrder, rejected: dict[int, str]) -> str | None:
    if case.status == Status.MERGED:
        number = case.merged_into.number if case.merged_into else ""
        return _("Duplicate request: followed up as %(number)s.") % {"number": number}
    if case.status == Status.REJECTED:
        return mask_text(rejected.get(case.pk, "")) or None
    if case.status in (Status.RESOLVED, Status.REVIEWED, Status.CLOSED):
        return mask_text(case.resolution) or None
    if case.status == Status.SUSPENDED:
        return _("Handling is suspended for a while; the deadline waits with it.")
    return None


def service_notice(case: WorkOrder) -> str:
    if case.resolve_due and case.is_open:
        return _(
            "The community checks the report and passes it to the unit responsible; it should be resolved by %(due)s."
        ) % {"due": timezone.localtime(case.resolve_due).strftime("%Y-%m-%d %H:%M")}
    return _("The community checks the report and passes it to the unit responsible.")


def updated(case: WorkOrder):
    if workflow.open311_status(case.status) == "closed":
        return case.closed_at or case.resolved_at or case.updated_at
    return case.updated_at


def request_dict(case: WorkOrder, rejected: dict[int, str]) -> dict:
    category = case.category
    assert category is not None
    return {
        "service_request_id": case.number,
        "status": workflow.open311_status(case.status),
        "status_notes": status_notes(case, rejected),
        "service_name": category.name,
        "service_code": category.code,
        "description": mask_text(case.description),
        "agency_responsible": case.lead_unit.name if case.lead_unit else None,
        "service_notice": service_notice(case),
        "requested_datetime": w3c(case.submitted_at),
        "updated_datetime": w3c(updated(case)),
        "expected_datetime": w3c(case.resolve_due),
        "address": _address(case),
        "address_id": None,
        "zipcode": None,
        "lat": _rounded(case.lat),
        "long": _rounded(case.lng),
        "media_url": None,
    }
