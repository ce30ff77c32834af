"""Exports to .xlsx within the user's scope, honouring the list filters. Identifiers are masked unless the user
holds people.export and states a purpose; every export writes one audit record.

The layout is the import template's, so an unmasked export can be corrected and imported back.
Workbooks are written in openpyxl's write-only mode to a temporary file, row by row, never held in memory.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from typing import IO

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from openpyxl import Workbook

from linli.core import audit
from linli.core.codes import compact_code
from linli.core.models import AuditRecord
from linli.people.models import Occupancy, Resident
from linli.people.selectors import resident_search_q
from linli.people.spreadsheets.columns import (
    HOUSE_COLUMNS,
    RELATION_WORDS,
    RESIDENT_COLUMNS,
    USE_WORDS,
    is_chinese,
    word_for,
)
from linli.places.models import House

MAX_EXPORT_ROWS = 100_000


@dataclass(frozen=True)
class ExportFilters:
    """The list filters passed in the query string: areas by id or code, a label by code or id, free text."""

    grid: str = ""
    community: str = ""
    label: str = ""
    q: str = ""
    elderly: str = ""  # residents only, as on the resident list
    status: str = ""

    @classmethod
    def from_query(cls, data) -> ExportFilters:
        return cls(**{name: (data.get(name) or "").strip()[:100] for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if value}


def _area(field: str, value: str) -> Q:
    # An id or a code that matches nothing (or lies outside the scope) simply yields no rows.
    if not value.isdigit():
        return Q(pk__in=[])
    if len(value) >= 12:
        return Q(**{f"{field}__code": value})
    return Q(**{f"{field}_id": int(value)})


def _label(field: str, value: str) -> Q:
    return Q(**{f"{field}_id": int(value)}) if value.isdigit() else Q(**{f"{field}__code": value})


def _occupancy_filter(filters: ExportFilters) -> Q:
    q = Q()
    if filters.grid:
        q &= _area("grid", filters.grid)
    if filters.community:
        q &= _area("community", filters.community)
    return q


def resident_rows(user, filters: ExportFilters, *, unmasked: bool) -> QuerySet:
    action = "export" if unmasked else "view"
    residents = Resident.objects.for_user(user, action)
    if filters.grid or filters.community:
        residents = residents.filter(
            Exists(Occupancy.objects.filter(_occupancy_filter(filters), resident=OuterRef("pk")))
        )
    if filters.label:
        residents = residents.filter(
            Exists(Resident.labels.through.objects.filter(_label("label", filters.label), resident=OuterRef("pk")))
        )
    if filters.q:
        residents = residents.filter(resident_search_q(filters.q))
    if filters.elderly:
        residents = residents.filter(birth_date__lte=Resident.elderly_birth_cutoff())
    if filters.status:
        residents = residents.filter(status=filters.status)
    in_scope = Occupancy.objects.for_user(user, action).select_related("house").order_by("house__code", "relation")
    return residents.order_by("name", "pk").prefetch_related(
        "labels", "emergency_contacts", Prefetch("occupancies", queryset=in_scope)
    )


def house_rows(user, filters: ExportFilters) -> QuerySet:
    houses = House.objects.for_user(user, "view")
    if filters.grid:
        houses = houses.filter(_area("grid", filters.grid))
    if filters.community:
        houses = houses.filter(_area("community", filters.community))
    if filters.label:
        houses = houses.filter(
            Exists(Occupancy.objects.filter(_label("resident__labels", filters.label), house=OuterRef("pk")))
        )
    if filters.q:
        compact = compact_code(filters.q)
        q = Q(building__name__icontains=filters.q) | Q(room=filters.q)
        if compact.isdigit():
            q |= Q(code__startswith=compact)
        houses = houses.filter(q)
    return houses.select_related("building", "building__estate", "unit", "grid").order_by("code")


def write_residents(residents: QuerySet, *, unmasked: bool) -> tuple[IO[bytes], int]:
    """The residents as a workbook in a temporary file (rewound), and the number of rows written."""
    zh = is_chinese()
    sep = "、" if zh else ", "
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("居民" if zh else "Residents")
    sheet.append([col.header(zh) for col in RESIDENT_COLUMNS])
    rows = 0
    for r in residents.iterator(chunk_size=1000):
        id_number = r.id_number if unmasked else r.id_number_masked
        phone = r.phone if unmasked else r.phone_masked
        labels = sep.join(label.name_zh if zh else label.name_en for label in r.labels.all())
        contacts = list(r.emergency_contacts.all())
        contact = contacts[0] if contacts else None
        contact_cells = [contact.name, contact.phone if unmasked else contact.phone_masked] if contact else ["", ""]
        places = [(o.house.display_code, word_for(RELATION_WORDS, o.relation)) for o in r.occupancies.all()]
        for house_code, relation in places or [("", "")]:
            sheet.append([house_code, r.name, id_number, phone, relation, r.ethnicity, labels, *contact_cells])
            rows += 1
    return _saved(wb), rows


def write_houses(houses: QuerySet) -> tuple[IO[bytes], int]:
    zh = is_chinese()
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("房屋" if zh else "Houses")
    sheet.append([col.header(zh) for col in HOUSE_COLUMNS])
    rows = 0
    for h in houses.iterator(chunk_size=2000):
        b = h.building
        room = int(h.room) if h.room.isdigit() else h.room
        sheet.append(
            [
                h.display_code,
                h.grid.code,
                int(b.code[15:18]),
                b.name,
                b.estate.code if b.estate else "",
                h.unit.number if h.unit else 0,
                room,
                h.floor,
                word_for(USE_WORDS, h.use),
                float(h.floor_area) if h.floor_area is not None else None,
            ]
        )
        rows += 1
    return _saved(wb), rows


def _saved(wb: Workbook) -> IO[bytes]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the FileResponse that streams it
    wb.save(out)
    out.seek(0)
    return out


def record_export(
    user, object_type: str, *, rows: int, filters: ExportFilters, unmasked: bool, purpose: str = ""
) -> None:
    audit.record(
        AuditRecord.Action.EXPORT,
        object_type,
        user=user,
        purpose=purpose,
        after={"format": "xlsx", "rows": rows, "masked": not unmasked, "filters": filters.as_dict()},
    )


def file_name(kind: str) -> str:
    return f"linli-{kind}-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
