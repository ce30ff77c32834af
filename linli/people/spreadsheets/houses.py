"""Import houses: one row per house. Buildings are created when new and reused when they exist; a house that
exists (same house code) has its floor, use and floor area updated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from linli.core import codes
from linli.people.spreadsheets.cells import CellError, RowCheck, decimal, digits, integer, not_found_message, text
from linli.people.spreadsheets.columns import HOUSE_COLUMNS, normalize_word, use_vocabulary
from linli.people.spreadsheets.importing import CREATED, UNCHANGED, UPDATED, Importer, chunks
from linli.places import services
from linli.places.models import Area, Building, Estate, House

COL = {col.key: col for col in HOUSE_COLUMNS}
MAX_FLOOR_AREA = Decimal("1000000")


@dataclass
class HouseRow:
    """One row's parsed cells; a cell that could not be read is None (and its row is not written)."""

    grid_code: str | None
    number: int | None
    building_name: str | None
    estate_code: str | None
    unit: int | None
    room: int | None
    floor: int | None
    use: str | None
    floor_area: Decimal | None
    given_code: str | None
    grid: Area | None = None
    estate: Estate | None = None

    @property
    def building_code(self) -> str:
        return f"{self.grid_code}{self.number:03d}" if self.grid_code and self.number else ""

    @property
    def house_code(self) -> str:
        if not self.building_code or self.unit is None or self.room is None:
            return ""
        return codes.house_code(self.building_code, self.unit, self.room)


class HouseImporter(Importer):
    kind = "houses"
    object_type = "places.house"
    columns = HOUSE_COLUMNS
    service_fields = {"number": "building_number", "room": "room", "grid": "grid_code", "estate": "estate_code"}

    def __init__(self, user):
        super().__init__(user)
        self.uses = use_vocabulary()
        self.buildings: dict[str, Building] = {}
        self.houses: dict[str, House] = {}

    # -- checking -----------------------------------------------------------------------------------------

    def plan(self, sheet) -> list[tuple[RowCheck, Any]]:
        planned = [self._parse(row) for row in sheet.rows]
        self._find_grids_and_estates(planned)
        self._find_duplicates(planned)
        self._find_existing(planned)
        return planned

    def _parse(self, row) -> tuple[RowCheck, HouseRow]:
        v, check = row.values, RowCheck(row.number)
        unit = check.read(COL["unit"], integer, v.get("unit", ""), 0, 99)
        if v.get("unit", "") == "":
            unit = 0  # a building without units
        house = HouseRow(
            grid_code=check.read(COL["grid_code"], _grid_code, v.get("grid_code", "")),
            number=check.read(COL["building_number"], integer, v.get("building_number", ""), 1, 999),
            building_name=check.read(COL["building_name"], text, v.get("building_name", ""), 100),
            estate_code=check.read(COL["estate_code"], text, v.get("estate_code", ""), 20),
            unit=unit,
            room=check.read(COL["room"], integer, v.get("room", ""), 1, 9999),
            floor=check.read(COL["floor"], integer, v.get("floor", ""), -9, 200),
            use=check.read(COL["use"], self._use, v.get("use", "")),
            floor_area=check.read(COL["floor_area"], decimal, v.get("floor_area", ""), MAX_FLOOR_AREA),
            given_code=check.read(COL["house_code"], digits, v.get("house_code", "")),
        )
        if house.given_code and house.house_code and house.given_code != house.house_code:
            check.fail(
                COL["house_code"],
                _("does not match the grid, building, unit and room of this row (%(code)s).")
                % {"code": codes.format_house_code(house.house_code)},
            )
        # Kept even when a cell is bad, so the look-ups below report every reason the row fails at once.
        return check, house

    def _use(self, value: Any) -> str | None:
        value = text(value)
        if not value:
            return None
        use = self.uses.get(normalize_word(value))
        if use is None:
            raise CellError(_("choose residential, commercial, office or other."))
        return use

    def _find_grids_and_estates(self, planned) -> None:
        rows = [row for _c, row in planned]
        grids: dict[str, Area] = {}
        for part in chunks(sorted({row.grid_code for row in rows if row.grid_code})):
            grids.update(
                {a.code: a for a in Area.objects.for_user(self.user, "change").filter(level=codes.GRID, code__in=part)}
            )
        estates: dict[str, Estate] = {}
        for part in chunks(sorted({row.estate_code for row in rows if row.estate_code})):
            estates.update({e.code: e for e in Estate.objects.for_user(self.user, "view").filter(code__in=part)})
        for check, row in planned:
            if row.grid_code:
                row.grid = grids.get(row.grid_code)
                if row.grid is None:
                    check.fail(COL["grid_code"], not_found_message())
            if row.estate_code:
                row.estate = estates.get(row.estate_code)
                if row.estate is None:
                    check.fail(COL["estate_code"], not_found_message())
                elif row.grid is not None and row.estate.community_id != row.grid.community_id:
                    check.fail(COL["estate_code"], _("The estate belongs to another community."))

    def _find_duplicates(self, planned) -> None:
        first_at: dict[str, int] = {}
        for check, row in planned:
            if not row.house_code:
                continue
            at = first_at.setdefault(row.house_code, check.number)
            if at != check.number:
                check.fail(None, _("Same house as row %(row)d.") % {"row": at})

    def _find_existing(self, planned) -> None:
        rows = [row for check, row in planned if check.ok]
        for part in chunks(sorted({row.building_code for row in rows})):
            self.buildings.update(
                {b.code: b for b in Building.objects.for_user(self.user, "change").filter(code__in=part)}
            )
        for part in chunks(sorted({row.house_code for row in rows})):
            self.houses.update({h.code: h for h in House.objects.for_user(self.user, "change").filter(code__in=part)})

    # -- writing ------------------------------------------------------------------------------------------

    def write(self, row: HouseRow) -> str:
        assert row.grid is not None and row.number and row.unit is not None and row.room  # planned rows are complete
        house = self.houses.get(row.house_code)
        if house is not None:
            changes: dict[str, Any] = {}
            if row.floor is not None and house.floor != row.floor:
                changes["floor"] = row.floor
            if row.use and house.use != row.use:
                changes["use"] = row.use
            if row.floor_area is not None and house.floor_area != row.floor_area:
                changes["floor_area"] = row.floor_area
            if not changes:
                return UNCHANGED
            self.houses[row.house_code] = services.update_house(self.user, house, **changes)
            return UPDATED
        building = self.buildings.get(row.building_code)
        if building is None:
            building = services.create_building(
                self.user, grid=row.grid, number=row.number, name=row.building_name or "", estate=row.estate
            )
        house = services.create_house(
            self.user,
            building=building,
            unit_number=row.unit,
            room=row.room,
            floor=row.floor,
            use=row.use or House.Use.RESIDENTIAL,
            floor_area=row.floor_area,
        )
        # cached only once the whole row is written: a refused row's savepoint takes its building with it
        self.buildings[row.building_code] = building
        self.houses[row.house_code] = house
        return CREATED


def _grid_code(value: Any) -> str:
    code = digits(value)
    if len(code) != 15:
        raise CellError(_("a grid code has 15 digits."))
    return code
