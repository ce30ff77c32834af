"""Import residents: one row per resident and house. Re-import matches residents by ID number and updates them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from linli.core import crypto
from linli.core.idnumber import normalize_phone, parse_id_number
from linli.people import services
from linli.people.models import Label, Resident
from linli.people.spreadsheets.cells import CellError, RowCheck, digits, not_found_message, text
from linli.people.spreadsheets.columns import (
    LABEL_SEPARATORS,
    RESIDENT_COLUMNS,
    normalize_word,
    relation_vocabulary,
)
from linli.people.spreadsheets.importing import CREATED, UNCHANGED, UPDATED, Importer, chunks
from linli.places.models import House

COL = {col.key: col for col in RESIDENT_COLUMNS}


@dataclass
class ResidentRow:
    """One row's parsed cells; a cell that could not be read is None (and its row is not written)."""

    house_code: str | None
    name: str | None
    id_number: str | None
    phone: str | None
    relation: str | None
    ethnicity: str | None
    labels: list[Label] | None
    contact_name: str | None
    contact_phone: str | None
    house: House | None = None

    @property
    def id_hash(self) -> str:
        return crypto.blind_index(self.id_number) if self.id_number else ""


class ResidentImporter(Importer):
    kind = "residents"
    object_type = "people.resident"
    columns = RESIDENT_COLUMNS

    def __init__(self, user):
        super().__init__(user)
        self.relations = relation_vocabulary()
        self.labels: dict[str, Label] = {}
        for label in Label.objects.all():
            for spelling in (label.code, label.name_zh, label.name_en):
                self.labels[normalize_word(spelling)] = label
        self.residents: dict[str, Resident] = {}  # blind index -> resident in the user's scope

    # -- checking -----------------------------------------------------------------------------------------

    def plan(self, sheet) -> list[tuple[RowCheck, Any]]:
        planned = [self._parse(row) for row in sheet.rows]
        self._find_houses(planned)
        self._find_residents(planned)
        self._find_duplicates(planned)
        return planned

    def _parse(self, row) -> tuple[RowCheck, ResidentRow]:
        v, check = row.values, RowCheck(row.number)
        house_code = check.read(COL["house_code"], _house_code, v.get("house_code", ""))
        name = check.read(COL["name"], text, v.get("name", ""), 50)
        info = check.read(COL["id_number"], lambda x: parse_id_number(text(x)), v.get("id_number", ""))
        phone = check.read(COL["phone"], _phone, v.get("phone", ""))
        relation = check.read(COL["relation"], self._relation, v.get("relation", ""))
        ethnicity = check.read(COL["ethnicity"], text, v.get("ethnicity", ""), 20)
        labels = check.read(COL["labels"], self._labels, v.get("labels", ""))
        contact_name = check.read(COL["contact_name"], text, v.get("contact_name", ""), 50)
        contact_phone = check.read(COL["contact_phone"], _phone, v.get("contact_phone", ""))
        if contact_name and not contact_phone and v.get("contact_phone", "") == "":
            check.fail(COL["contact_phone"], _("required when an emergency contact is named."))
        if contact_phone and not contact_name and v.get("contact_name", "") == "":
            check.fail(COL["contact_name"], _("required when an emergency contact phone is given."))
        # Kept even when a cell is bad, so the look-ups below report every reason the row fails at once.
        return check, ResidentRow(
            house_code=house_code,
            name=name,
            id_number=info.number if info else None,
            phone=phone,
            relation=relation,
            ethnicity=ethnicity,
            labels=labels,
            contact_name=contact_name,
            contact_phone=contact_phone,
        )

    def _relation(self, value: Any) -> str:
        relation = self.relations.get(normalize_word(text(value)))
        if relation is None:
            raise CellError(_("choose owner, tenant, lives here or registered here but living elsewhere."))
        return relation

    def _labels(self, value: Any) -> list[Label] | None:
        names = [n.strip() for n in LABEL_SEPARATORS.split(text(value)) if n.strip()]
        if not names:
            return None  # blank: the resident's labels stay as they are
        unknown = [n for n in names if normalize_word(n) not in self.labels]
        if unknown:
            raise CellError(_("unknown label %(names)s.") % {"names": "、".join(unknown)})
        return list({self.labels[normalize_word(n)].pk: self.labels[normalize_word(n)] for n in names}.values())

    def _find_houses(self, planned) -> None:
        codes = sorted({row.house_code for _c, row in planned if row.house_code})
        houses: dict[str, House] = {}
        for part in chunks(codes):
            houses.update({h.code: h for h in House.objects.for_user(self.user, "view").filter(code__in=part)})
        for check, row in planned:
            if row.house_code:
                row.house = houses.get(row.house_code)
                if row.house is None:
                    check.fail(COL["house_code"], not_found_message())

    def _find_residents(self, planned) -> None:
        hashes = sorted({row.id_hash for _c, row in planned if row.id_hash})
        registered: set[str] = set()
        for part in chunks(hashes):
            in_scope = Resident.objects.for_user(self.user, "change").filter(id_number_hash__in=part)
            in_scope = in_scope.prefetch_related("labels", "occupancies", "emergency_contacts")
            self.residents.update({r.id_number_hash: r for r in in_scope})
            # Matching needs the whole register: the ID number is unique in Linli, not per area.
            registered.update(Resident.objects.filter(id_number_hash__in=part).values_list("id_number_hash", flat=True))
        for check, row in planned:
            if row.id_hash and row.id_hash in registered and row.id_hash not in self.residents:
                check.fail(COL["id_number"], _("A resident with this ID number is already registered in Linli."))

    def _find_duplicates(self, planned) -> None:
        first_at: dict[tuple[str, str], int] = {}
        names: dict[str, tuple[str, int]] = {}
        for check, row in planned:
            if not row.id_number:
                continue
            key = (row.id_number, row.house_code)
            if row.house_code and key in first_at:
                check.fail(None, _("Same resident and house as row %(row)d.") % {"row": first_at[key]})
            else:
                first_at[key] = check.number
            name, at = names.setdefault(row.id_number, (row.name, check.number))
            if row.name and name and name != row.name:
                check.fail(COL["id_number"], _("row %(row)d has this ID number with another name.") % {"row": at})

    # -- writing ------------------------------------------------------------------------------------------

    def write(self, row: ResidentRow) -> str:
        assert row.house is not None and row.relation  # planned rows are complete
        known = self.residents.get(row.id_hash)
        if known is not None and not _differs(known, row):
            return UNCHANGED  # nothing to write, nothing to audit: re-importing a register stays cheap
        data: dict[str, Any] = {"name": row.name, "id_number": row.id_number}
        if row.phone:
            data["phone"] = row.phone
        if row.ethnicity:
            data["ethnicity"] = row.ethnicity
        resident = services.save_resident(
            self.user, known, house=row.house, relation=row.relation, labels=row.labels, **data
        )
        if row.contact_name and row.contact_phone:
            self._save_contact(resident, row)
        self.residents[row.id_hash] = resident
        return CREATED if known is None else UPDATED

    def _save_contact(self, resident: Resident, row: ResidentRow) -> None:
        assert row.contact_name and row.contact_phone
        same_name = [c for c in resident.emergency_contacts.all() if c.name.strip() == row.contact_name]
        contact = same_name[0] if same_name else None
        if contact is not None and contact.phone == row.contact_phone:
            return
        services.save_emergency_contact(
            self.user,
            resident,
            name=row.contact_name,
            phone=row.contact_phone,
            relation=contact.relation if contact else "",
            contact=contact,
        )


def _house_code(value: Any) -> str:
    code = digits(value)
    if len(code) != 24:
        raise CellError(_("a house code has 24 digits (dashes allowed)."))
    return code


def _phone(value: Any) -> str:
    value = text(value)
    return normalize_phone(value) if value else ""


def _differs(resident: Resident, row: ResidentRow) -> bool:
    """Would importing this row change the resident? Blank optional cells leave things as they are."""
    assert row.house is not None
    if row.name != resident.name:
        return True
    if row.phone and crypto.blind_index(row.phone) != resident.phone_hash:
        return True
    if row.ethnicity and row.ethnicity != resident.ethnicity:
        return True
    if row.labels is not None and {label.pk for label in row.labels} != {label.pk for label in resident.labels.all()}:
        return True
    if not any(o.house_id == row.house.pk and o.relation == row.relation for o in resident.occupancies.all()):
        return True
    if row.contact_name and row.contact_phone:
        same = [c for c in resident.emergency_contacts.all() if c.name.strip() == row.contact_name]
        if not same or same[0].phone_hash != crypto.blind_index(row.contact_phone):
            return True
    return False
