"""Actions on places. Each validates, re-checks scope, writes and audits in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import codes, geo
from linli.core.services import field_error, require_in_scope, require_perm, save_audited
from linli.places.models import Area, Building, Estate, Facility, House, Unit


def _point(lng, lat, crs: str) -> tuple[float | None, float | None]:
    if lng in (None, "") and lat in (None, ""):
        return None, None
    lng_f, lat_f = geo.validate_point(lng, lat)
    return geo.to_wgs84(lng_f, lat_f, crs)


def _boundary(raw):
    try:
        return geo.parse_boundary(raw)
    except ValidationError as exc:
        raise ValidationError({"boundary": exc.messages}) from None


@transaction.atomic
def create_area(
    actor,
    *,
    level: str,
    code: str,
    name: str,
    parent: Area | None = None,
    boundary=None,
    lng=None,
    lat=None,
    crs: str = "wgs84",
) -> Area:
    """Create an area under `parent`; the code must fit its level and lie under the parent's code."""
    require_perm(actor, "places.change")
    if parent is not None:
        require_in_scope(actor, parent)
    elif actor is not None and not actor.scope_for("places.change").all:
        raise field_error("parent", _("Only a platform administrator can create a top-level area."))
    code = (code or "").strip()
    try:
        codes.validate_area_code(code, level, parent.code if parent else None, parent.level if parent else None)
    except ValidationError as exc:
        raise ValidationError({"code": exc.messages}) from None
    if Area.objects.filter(code=code).exists():
        raise field_error("code", _("Code %(code)s is already used.") % {"code": code}, "unique")
    area = Area(level=level, code=code, name=(name or "").strip(), parent=parent, boundary=_boundary(boundary))
    area.lng, area.lat = _point(lng, lat, crs)
    if area.lng is None and area.boundary:
        area.lng, area.lat = cast(tuple[float, float], geo.centroid(area.boundary))  # boundary is set
    area.set_ancestors()
    save_audited(area, None, actor)
    return area


@transaction.atomic
def update_area(
    actor, area: Area, *, name: str | None = None, boundary=..., lng=..., lat=..., crs: str = "wgs84"
) -> Area:
    """Edit an area's name, boundary or point. Codes are stable and never change."""
    require_perm(actor, "places.change")
    area = Area.objects.select_for_update().get(pk=area.pk)
    require_in_scope(actor, area)
    before = area.audit_snapshot()
    if name is not None:
        area.name = name.strip()
    if boundary is not ...:
        area.boundary = _boundary(boundary)
    if lng is not ... and lat is not ...:
        area.lng, area.lat = _point(lng, lat, crs)
    save_audited(area, before, actor)
    return area


@transaction.atomic
def create_estate(
    actor,
    *,
    code: str,
    name: str,
    community: Area,
    property_company=None,
    address: str = "",
    boundary=None,
    lng=None,
    lat=None,
    crs: str = "wgs84",
) -> Estate:
    require_perm(actor, "places.change")
    require_in_scope(actor, community)
    if community.level != codes.COMMUNITY:
        raise field_error("community", _("An estate belongs to a community."))
    if Estate.objects.filter(code=code).exists():
        raise field_error("code", _("Code %(code)s is already used.") % {"code": code}, "unique")
    estate = Estate(
        code=code.strip(),
        name=name.strip(),
        community=community,
        property_company=property_company,
        address=address,
        boundary=_boundary(boundary),
    )
    estate.lng, estate.lat = _point(lng, lat, crs)
    if estate.lng is None and estate.boundary:
        estate.lng, estate.lat = cast(tuple[float, float], geo.centroid(estate.boundary))  # boundary is set
    estate.copy_areas_from_community()
    save_audited(estate, None, actor)
    return estate


@transaction.atomic
def create_building(
    actor,
    *,
    grid: Area,
    number: int,
    name: str = "",
    estate: Estate | None = None,
    floors: int | None = None,
    address: str = "",
    footprint=None,
    lng=None,
    lat=None,
    crs: str = "wgs84",
    units: int = 0,
) -> Building:
    """Create building `number` (1-999) of a grid, with `units` numbered units."""
    require_perm(actor, "places.change")
    require_in_scope(actor, grid)
    if grid.level != codes.GRID:
        raise field_error("grid", _("A building stands in a grid."))
    try:
        code = codes.building_code(grid.code, int(number))
    except (ValueError, TypeError):
        raise field_error("number", _("A building number runs from 1 to 999.")) from None
    except ValidationError as exc:
        raise ValidationError({"number": exc.messages}) from None
    if Building.objects.filter(code=code).exists():
        raise field_error("number", _("Building %(n)s already exists in this grid.") % {"n": number}, "unique")
    if estate is not None and estate.community_id != grid.community_id:
        raise field_error("estate", _("The estate belongs to another community."))
    try:
        fp = geo.parse_boundary(footprint)
    except ValidationError as exc:
        raise ValidationError({"footprint": exc.messages}) from None
    b = Building(
        code=code,
        name=name.strip() or _("Building %(n)s") % {"n": number},
        grid=grid,
        estate=estate,
        floors=floors,
        address=address,
        footprint=fp,
    )
    b.lng, b.lat = _point(lng, lat, crs)
    if b.lng is None and fp:
        b.lng, b.lat = cast(tuple[float, float], geo.centroid(fp))  # fp is set
    b.copy_areas_from_grid()
    save_audited(b, None, actor)
    for n in range(1, (units or 0) + 1):
        save_audited(Unit(building=b, number=n), None, actor)
    return b


@transaction.atomic
def create_house(
    actor,
    *,
    building: Building,
    unit_number: int,
    room: int,
    floor: int | None = None,
    use: str = House.Use.RESIDENTIAL,
    floor_area: Decimal | None = None,
) -> House:
    """Create a house; its code is the building code + unit + room, unique in Linli."""
    require_perm(actor, "places.change")
    require_in_scope(actor, building)
    try:
        code = codes.house_code(building.code, int(unit_number), int(room))
    except (TypeError, ValueError):
        raise field_error("room", _("Unit and room must be numbers.")) from None
    except ValidationError as exc:
        raise ValidationError({"room": exc.messages}) from None
    if House.objects.filter(code=code).exists():
        raise field_error(
            "room", _("House %(code)s already exists.") % {"code": codes.format_house_code(code)}, "unique"
        )
    unit = None
    if int(unit_number):
        unit, created = Unit.objects.get_or_create(building=building, number=int(unit_number))
    if floor is None and int(room) >= 100:
        floor = int(room) // 100
    house = House(
        code=code,
        building=building,
        unit=unit,
        room=str(room),
        floor=floor,
        use=use,
        floor_area=floor_area,
        grid_id=building.grid_id,
        estate_id=building.estate_id,
    )
    house.copy_areas_from_grid()
    save_audited(house, None, actor)
    return house


@transaction.atomic
def update_house(actor, house: House, *, floor=..., use=..., floor_area=...) -> House:
    require_perm(actor, "places.change")
    house = House.objects.select_for_update().get(pk=house.pk)
    require_in_scope(actor, house)
    before = house.audit_snapshot()
    if floor is not ...:
        house.floor = floor
    if use is not ...:
        house.use = use
    if floor_area is not ...:
        house.floor_area = floor_area
    save_audited(house, before, actor)
    return house


@transaction.atomic
def create_facility(
    actor, *, code: str, name: str, kind: str, area: Area, address: str = "", lng=None, lat=None, crs: str = "wgs84"
) -> Facility:
    require_perm(actor, "places.change")
    require_in_scope(actor, area)
    if Facility.objects.filter(code=code).exists():
        raise field_error("code", _("Code %(code)s is already used.") % {"code": code}, "unique")
    f = Facility(code=code, name=name, kind=kind, area=area, address=address)
    f.lng, f.lat = _point(lng, lat, crs)
    save_audited(f, None, actor)
    return f
