"""Places: areas, estates, buildings and houses, each read through `for_user`."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from linli.api.pagination import Paging, page_of, paginate
from linli.api.schemas import (
    AreaDetail,
    AreaOut,
    BuildingDetail,
    BuildingOut,
    EstateDetail,
    EstateOut,
    HouseDetail,
    HouseIn,
    HouseOut,
    answers,
)
from linli.core.services import require_perm
from linli.people.models import Household
from linli.places import services
from linli.places.models import Area, Building, Estate, House

router = Router(tags=["places"])


class AreaFilters(Schema):
    level: Area.Level | None = None
    parent: int | None = None
    q: str | None = None


@router.get("/areas", response=answers(page_of(AreaOut)))
def list_areas(request: HttpRequest, filters: Query[AreaFilters], paging: Query[Paging]):
    """Areas in your scope: city, district, street, community, grid."""
    qs = Area.objects.for_user(request.user)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.parent is not None:
        qs = qs.filter(parent_id=filters.parent)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q.strip()) | Q(code__startswith=filters.q.strip()))
    return paginate(qs, paging, ("code",))


@router.get("/areas/{int:area_id}", response=answers(AreaDetail))
def get_area(request: HttpRequest, area_id: int):
    """One area, with its boundary as GeoJSON."""
    return get_object_or_404(Area.objects.for_user(request.user), pk=area_id)


@router.get("/estates", response=answers(page_of(EstateOut)))
def list_estates(request: HttpRequest, paging: Query[Paging], community: int | None = None, q: str | None = None):
    """Estates (小区) in your scope."""
    qs = Estate.objects.for_user(request.user).select_related("property_company")
    if community is not None:
        qs = qs.filter(community_id=community)
    if q:
        qs = qs.filter(Q(name__icontains=q.strip()) | Q(code__icontains=q.strip()))
    return paginate(qs, paging, ("code",))


@router.get("/estates/{int:estate_id}", response=answers(EstateDetail))
def get_estate(request: HttpRequest, estate_id: int):
    return get_object_or_404(Estate.objects.for_user(request.user).select_related("property_company"), pk=estate_id)


@router.get("/buildings", response=answers(page_of(BuildingOut)))
def list_buildings(request: HttpRequest, paging: Query[Paging], grid: int | None = None, estate: int | None = None):
    """Buildings in your scope, optionally of one grid or estate."""
    qs = Building.objects.for_user(request.user)
    if grid is not None:
        qs = qs.filter(grid_id=grid)
    if estate is not None:
        qs = qs.filter(estate_id=estate)
    return paginate(qs, paging, ("code",))


@router.get("/buildings/{int:building_id}", response=answers(BuildingDetail))
def get_building(request: HttpRequest, building_id: int):
    return get_object_or_404(Building.objects.for_user(request.user).prefetch_related("units"), pk=building_id)


class HouseFilters(Schema):
    grid: int | None = None
    community: int | None = None
    estate: int | None = None
    building: int | None = None
    q: str | None = None


@router.get("/houses", response=answers(page_of(HouseOut)))
def list_houses(request: HttpRequest, filters: Query[HouseFilters], paging: Query[Paging]):
    """Houses in your scope. `q` matches digits of the house code (dashes are ignored)."""
    qs = House.objects.for_user(request.user).select_related("building", "unit")
    for name in ("grid", "community", "estate", "building"):
        value = getattr(filters, name)
        if value is not None:
            qs = qs.filter(**{f"{name}_id": value})
    if filters.q:
        digits = re.sub(r"\D", "", filters.q)
        qs = qs.filter(code__contains=digits) if digits else qs.none()
    return paginate(qs, paging, ("code",))


def _house_detail(request: HttpRequest, house_id: int) -> House:
    households = Household.objects.for_user(request.user).order_by("code")
    qs = (
        House.objects.for_user(request.user)
        .select_related("building", "unit")
        .prefetch_related(Prefetch("households", queryset=households, to_attr="visible_households"))
    )
    return get_object_or_404(qs, pk=house_id)


@router.get("/houses/{int:house_id}", response=answers(HouseDetail))
def get_house(request: HttpRequest, house_id: int):
    """One house with the households you may see there."""
    return _house_detail(request, house_id)


@router.post("/houses", response=answers(HouseDetail, 201))
def create_house(request: HttpRequest, payload: HouseIn):
    """Create a house in a building of your area; its unified code is derived from building, unit and room."""
    require_perm(request.user, "places.change")
    building = Building.objects.for_user(request.user).filter(pk=payload.building).first()
    if building is None:
        raise ValidationError({"building": [_("Choose a building within your area.")]})
    house = services.create_house(
        request.user,
        building=building,
        unit_number=payload.unit_number,
        room=payload.room,
        floor=payload.floor,
        use=payload.use,
        floor_area=payload.floor_area,
    )
    return Status(201, _house_detail(request, house.pk))
