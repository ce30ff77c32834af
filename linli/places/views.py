"""Web console for places: areas, estates, buildings, houses, the map and the grid worker's phone view.

Every read goes through `Model.objects.for_user(request.user)`: out of scope is 404, and related
panels (households, residents, counts) are restricted the same way. Writes call one action in
places.services and show its ValidationError on the form.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from linli.accounts.http import AuthedHttpRequest, requires
from linli.core import codes
from linli.people.models import Household, Label, Occupancy, Resident
from linli.places import services
from linli.places.forms import (
    AreaCreateForm,
    AreaEditForm,
    AreaFilterForm,
    BuildingCreateForm,
    EstateFilterForm,
    FacilityFilterForm,
    HouseCreateForm,
    HouseEditForm,
    HouseFilterForm,
)
from linli.places.models import Area, Building, Estate, Facility, House

PAGE_SIZE = 50
LEVEL_DEPTH = {level: i for i, level in enumerate(codes.LEVELS)}
# Map payload: 5 decimals is about 1 m, far finer than a grid boundary is drawn.
COORD_DECIMALS = 5
MOBILE_SEARCH_LIMIT = 30


def _page(request: HttpRequest, qs, size: int = PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _sees_people(user) -> bool:
    return user.has_linli_perm("people.view")


def _counts(qs, key: str) -> dict[int, int]:
    return dict(qs.values_list(key).annotate(n=Count("id")).order_by())


def _may_change(user, obj) -> bool:
    return type(obj).objects.for_user(user, "change").filter(pk=obj.pk).exists()


def _areas_below(area: Area) -> Q:
    """Areas at or below `area` (Area has no grid column, so a grid is itself only)."""
    if area.level == codes.GRID:
        return Q(pk=area.pk)
    return Q(pk=area.pk) | Q(**{f"{area.level}_id": area.pk})


# ----------------------------------------------------------------------------- areas


@requires("places.view")
def area_list(request: AuthedHttpRequest) -> HttpResponse:
    form = AreaFilterForm(request.GET or None)
    areas = Area.objects.for_user(request.user).select_related("parent")
    if form.is_valid():
        q, level = form.cleaned_data["q"].strip(), form.cleaned_data["level"]
        if level:
            areas = areas.filter(level=level)
        if q:
            areas = areas.filter(Q(name__icontains=q) | Q(code__startswith=q))
    # Codes sort parents before children, so code order reads as the tree.
    page = _page(request, areas.order_by("code"))
    top = min((LEVEL_DEPTH[a.level] for a in page), default=0)
    for a in page:
        a.depth = LEVEL_DEPTH[a.level] - top  # indent relative to the page's top level
    return render(request, "places/area_list.html", {"form": form, "page": page})


@requires("places.view")
def area_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    area = get_object_or_404(Area.objects.for_user(user), pk=pk)
    chain_ids = [i for i in (area.city_id, area.district_id, area.street_id, area.community_id) if i]
    if area.level == codes.GRID and area.parent_id:
        chain_ids.append(area.parent_id)
    # Ancestors' names are shown; only those within scope are links.
    ancestors = sorted(Area.objects.filter(pk__in=set(chain_ids)), key=lambda a: LEVEL_DEPTH[a.level])
    visible = set(Area.objects.for_user(user).filter(pk__in=chain_ids).values_list("pk", flat=True))
    children = list(Area.objects.for_user(user).filter(parent=area).order_by("code"))
    if children:
        level = children[0].level
        key = "grid_id" if level == codes.GRID else f"{level}_id"
        houses = _counts(House.objects.for_user(user).filter(**{f"{key}__in": [c.pk for c in children]}), key)
        households = {}
        if _sees_people(user):
            households = _counts(
                Household.objects.for_user(user).filter(**{f"house__{key}__in": [c.pk for c in children]}),
                f"house__{key}",
            )
        for child in children:
            child.house_count = houses.get(child.pk, 0)
            child.household_count = households.get(child.pk, 0)
    below = area.descendants_q()
    estates = Estate.objects.for_user(user)
    if area.level == codes.GRID:
        estates = estates.filter(pk__in=Building.objects.for_user(user).filter(grid=area).values("estate_id"))
    else:
        estates = estates.filter(below)
    buildings = Building.objects.for_user(user).filter(below).select_related("estate")
    context = {
        "area": area,
        "ancestors": ancestors,
        "visible": visible,
        "children": children,
        "estates": estates[:100],
        "building_count": buildings.count(),
        # Building lists only at community and grid level: a street holds thousands.
        "buildings": buildings[:200] if area.level in (codes.COMMUNITY, codes.GRID) else None,
        "can_change": _may_change(user, area),
        "child_level": _child_level(area),
        "sees_people": _sees_people(user),
    }
    return render(request, "places/area_detail.html", context)


def _child_level(area: Area) -> str | None:
    i = LEVEL_DEPTH[area.level]
    return codes.LEVELS[i + 1] if i + 1 < len(codes.LEVELS) else None


@requires("places.change")
def area_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    area = get_object_or_404(Area.objects.for_user(request.user, "change"), pk=pk)
    if request.method == "POST":
        form = AreaEditForm(request.POST, request.FILES)
        if form.is_valid():
            lng, lat = form.point()
            try:
                services.update_area(
                    request.user,
                    area,
                    name=form.cleaned_data["name"],
                    boundary=form.boundary_text(),
                    lng=lng,
                    lat=lat,
                    crs=form.cleaned_data["crs"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("places:area-detail", pk=area.pk)
    else:
        form = AreaEditForm(
            initial={
                "name": area.name,
                "boundary": _json(area.boundary),
                "lng": area.lng,
                "lat": area.lat,
                "crs": "wgs84",
            }
        )
    return render(request, "places/area_form.html", {"form": form, "area": area, "parent": area.parent})


@requires("places.change")
def area_create(request: AuthedHttpRequest, parent_pk: int) -> HttpResponse:
    parent = get_object_or_404(Area.objects.for_user(request.user, "change"), pk=parent_pk)
    level = _child_level(parent)
    if level is None:
        raise Http404
    if request.method == "POST":
        form = AreaCreateForm(request.POST, request.FILES)
        if form.is_valid():
            lng, lat = form.point()
            try:
                area = services.create_area(
                    request.user,
                    level=level,
                    code=form.cleaned_data["code"],
                    name=form.cleaned_data["name"],
                    parent=parent,
                    boundary=form.boundary_text(),
                    lng=lng,
                    lat=lat,
                    crs=form.cleaned_data["crs"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("places:area-detail", pk=area.pk)
    else:
        form = AreaCreateForm(initial={"code": codes.prefix_of(parent.code, parent.level), "crs": "wgs84"})
    return render(
        request, "places/area_form.html", {"form": form, "parent": parent, "level": codes.LEVEL_LABELS()[level]}
    )


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False) if value else ""


# ----------------------------------------------------------------------------- estates


@requires("places.view")
def estate_list(request: AuthedHttpRequest) -> HttpResponse:
    form = EstateFilterForm(request.GET or None)
    estates = Estate.objects.for_user(request.user).select_related("community", "property_company")
    if form.is_valid() and (q := form.cleaned_data["q"].strip()):
        estates = estates.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(address__icontains=q))
    page = _page(request, estates)
    counts = _counts(Building.objects.for_user(request.user).filter(estate__in=[e.pk for e in page]), "estate_id")
    for estate in page:
        estate.building_count = counts.get(estate.pk, 0)
    return render(request, "places/estate_list.html", {"form": form, "page": page})


@requires("places.view")
def estate_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    estate = get_object_or_404(Estate.objects.for_user(user).select_related("community", "property_company"), pk=pk)
    buildings = list(Building.objects.for_user(user).filter(estate=estate).select_related("grid"))
    houses = _counts(House.objects.for_user(user).filter(building__in=buildings), "building_id")
    for b in buildings:
        b.house_count = houses.get(b.pk, 0)
    return render(request, "places/estate_detail.html", {"estate": estate, "buildings": buildings})


# ----------------------------------------------------------------------------- facilities


@requires("places.view")
def facility_list(request: AuthedHttpRequest) -> HttpResponse:
    """Public places and facilities in the user's areas: service centres, parks, fire equipment…"""
    form = FacilityFilterForm(request.GET or None)
    facilities = Facility.objects.for_user(request.user).select_related("area").order_by("area__code", "code")
    if form.is_valid():
        if q := form.cleaned_data["q"].strip():
            facilities = facilities.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(address__icontains=q))
        if kind := form.cleaned_data["kind"]:
            facilities = facilities.filter(kind=kind)
    return render(request, "places/facility_list.html", {"form": form, "page": _page(request, facilities)})


# ----------------------------------------------------------------------------- buildings


@requires("places.view")
def building_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    building = get_object_or_404(Building.objects.for_user(user).select_related("grid", "estate", "community"), pk=pk)
    houses = list(
        House.objects.for_user(user)
        .filter(building=building)
        .select_related("unit")
        .order_by("unit__number", "-floor", "room")
    )
    households = {}
    if _sees_people(user):
        households = _counts(Household.objects.for_user(user).filter(house__building=building), "house_id")
    # unit -> floor -> houses, floors top-down like the building itself
    units: dict[str, dict[int | None, list[House]]] = defaultdict(lambda: defaultdict(list))
    for h in houses:
        h.household_count = households.get(h.pk, 0)
        units[str(h.unit) if h.unit_id else _("No unit")][h.floor].append(h)
    grouped = [(unit, list(floors.items())) for unit, floors in units.items()]
    return render(
        request,
        "places/building_detail.html",
        {
            "building": building,
            "units": grouped,
            "house_count": len(houses),
            "can_change": _may_change(user, building),
            "sees_people": _sees_people(user),
        },
    )


@requires("places.change")
def building_create(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = BuildingCreateForm(request.POST, user=user)
        if form.is_valid():
            d = form.cleaned_data
            lng, lat = form.point()
            try:
                building = services.create_building(
                    user,
                    grid=d["grid"],
                    number=d["number"],
                    name=d["name"],
                    estate=d["estate"],
                    floors=d["floors"],
                    address=d["address"],
                    lng=lng,
                    lat=lat,
                    crs=d["crs"],
                    units=d["units"] or 0,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("places:building-detail", pk=building.pk)
    else:
        form = BuildingCreateForm(user=user, initial={"grid": request.GET.get("grid"), "units": 1, "crs": "wgs84"})
    return render(request, "places/building_form.html", {"form": form})


# ----------------------------------------------------------------------------- houses


def _house_search_q(q: str) -> Q:
    """A room number ("502"), or a house code typed whole or as its first 12+ digits, dashes allowed."""
    digits = codes.compact_code(q)
    if not digits.isdigit():
        return Q(pk__in=[])
    if len(digits) >= 12:
        return Q(code__startswith=digits)
    return Q(room=digits)


@requires("places.view")
def house_list(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    form = HouseFilterForm(request.GET or None, user=user)
    houses = House.objects.for_user(user).select_related("building", "unit", "estate", "grid")
    if form.is_valid():
        d = form.cleaned_data
        for name in ("grid", "estate", "building"):
            if d[name]:
                houses = houses.filter(**{name: d[name]})
        if d["use"]:
            houses = houses.filter(use=d["use"])
        if q := d["q"].strip():
            houses = houses.filter(_house_search_q(q))
    page = _page(request, houses)
    sees_people = _sees_people(user)
    if sees_people:
        counts = _counts(Household.objects.for_user(user).filter(house__in=[h.pk for h in page]), "house_id")
        for h in page:
            h.household_count = counts.get(h.pk, 0)
    context = {
        "form": form,
        "page": page,
        "sees_people": sees_people,
        "can_change": user.has_linli_perm("places.change"),
    }
    template = "places/_house_results.html" if _is_htmx(request) else "places/house_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@requires("places.view")
def house_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    house = get_object_or_404(
        House.objects.for_user(user).select_related("building", "unit", "estate", "grid", "community"), pk=pk
    )
    households, occupancies = [], []
    if _sees_people(user):
        # Both panels read through the people scope too: a related panel is no back door.
        members = Resident.objects.for_user(user).prefetch_related("labels").order_by("name")
        households = list(
            Household.objects.for_user(user).filter(house=house).prefetch_related(Prefetch("members", queryset=members))
        )
        occupancies = list(
            Occupancy.objects.for_user(user)
            .filter(house=house, resident__in=Resident.objects.for_user(user))
            .select_related("resident")
            .order_by("resident__name")
        )
    return render(
        request,
        "places/house_detail.html",
        {
            "house": house,
            "households": households,
            "occupancies": occupancies,
            "sees_people": _sees_people(user),
            "can_change": _may_change(user, house),
        },
    )


@requires("places.change")
def house_create(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = HouseCreateForm(request.POST, user=user)
        if form.is_valid():
            d = form.cleaned_data
            try:
                house = services.create_house(
                    user,
                    building=d["building"],
                    unit_number=d["unit_number"],
                    room=d["room"],
                    floor=d["floor"],
                    use=d["use"],
                    floor_area=d["floor_area"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("places:house-detail", pk=house.pk)
    else:
        form = HouseCreateForm(user=user, initial={"building": request.GET.get("building"), "unit_number": 1})
    return render(request, "places/house_form.html", {"form": form})


@requires("places.change")
def house_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    house = get_object_or_404(House.objects.for_user(user, "change").select_related("building", "unit"), pk=pk)
    if request.method == "POST":
        form = HouseEditForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.update_house(user, house, floor=d["floor"], use=d["use"], floor_area=d["floor_area"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("places:house-detail", pk=house.pk)
    else:
        form = HouseEditForm(initial={"floor": house.floor, "use": house.use, "floor_area": house.floor_area})
    return render(request, "places/house_form.html", {"form": form, "house": house})


# ----------------------------------------------------------------------------- map


def _home_areas(user):
    """The areas a user's assignments name (the top of their scope), for the map's zoom links."""
    scope = user.scope_for("places.view")
    areas = Area.objects.for_user(user)
    if scope.all:
        return areas.filter(level=codes.CITY)
    return areas.filter(pk__in=scope.area_ids())


@requires("places.view")
def map_page(request: AuthedHttpRequest) -> HttpResponse:
    area = None
    if request.GET.get("area"):
        area = get_object_or_404(Area.objects.for_user(request.user), pk=_int(request.GET["area"]))
        zoom = Area.objects.for_user(request.user).filter(parent=area).exclude(level=codes.GRID)
    else:
        zoom = _home_areas(request.user)
    data_url = reverse("places:map-data") + (f"?area={area.pk}" if area else "")
    return render(request, "places/map.html", {"area": area, "zoom_areas": zoom[:60], "data_url": data_url})


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


def _round(coords):
    if isinstance(coords, (int, float)):
        return round(coords, COORD_DECIMALS)
    return [_round(c) for c in coords]


def _shows_buildings(user, area: Area | None) -> bool:
    # Payload budget: a street has ~70 grids and thousands of buildings, a city 21,000 grids.
    # Above community level the map carries grid polygons only; buildings (points) come only
    # when the view is one community or one grid, i.e. a few hundred points at most.
    if area is not None:
        return area.level in (codes.COMMUNITY, codes.GRID)
    scope = user.scope_for("places.view")
    return not (scope.all or scope.city_ids or scope.district_ids or scope.street_ids)


@requires("places.view")
def map_data(request: AuthedHttpRequest) -> JsonResponse:
    """GeoJSON FeatureCollection of the user's scope (or one area of it): grids and, close up, buildings."""
    user = request.user
    area = None
    if request.GET.get("area"):
        area = get_object_or_404(Area.objects.for_user(user), pk=_int(request.GET["area"]))
    grids = Area.objects.for_user(user).filter(level=codes.GRID)
    houses = House.objects.for_user(user)
    households = Household.objects.for_user(user) if _sees_people(user) else None
    buildings = Building.objects.for_user(user)
    if area is not None:
        grids = grids.filter(_areas_below(area))
        houses = houses.filter(area.descendants_q())
        buildings = buildings.filter(area.descendants_q())
        if households is not None:
            households = households.filter(area.descendants_q("house__"))
    house_counts = _counts(houses, "grid_id")
    household_counts = _counts(households, "house__grid_id") if households is not None else None
    features = []
    for g in grids.exclude(boundary=None).only("pk", "code", "name", "boundary"):
        props = {"kind": "grid", "id": g.pk, "name": g.name, "code": g.code, "houses": house_counts.get(g.pk, 0)}
        if household_counts is not None:
            props["households"] = household_counts.get(g.pk, 0)
        geometry = {"type": g.boundary["type"], "coordinates": _round(g.boundary["coordinates"])}
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    if _shows_buildings(user, area):
        for pk, name, lng, lat in buildings.exclude(lng=None).values_list("pk", "name", "lng", "lat"):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": _round([lng, lat])},
                    "properties": {"kind": "building", "id": pk, "name": name},
                }
            )
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "features": features,
            # Links are built client-side from these, instead of one URL per feature.
            "links": {
                "grid": reverse("places:area-detail", args=[0]),
                "building": reverse("places:building-detail", args=[0]),
            },
        }
    )


# ----------------------------------------------------------------------------- grid worker's phone view


@requires("places.view")
def grid_mobile(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    grids = list(Area.objects.for_user(user).filter(level=codes.GRID).order_by("code"))
    summaries = _grid_summaries(user, grids) if _sees_people(user) else {}
    for g in grids:
        g.summary = summaries.get(g.pk, {})
    selected = None
    if request.GET.get("grid"):
        selected = next((g for g in grids if str(g.pk) == request.GET["grid"]), None)
        if selected is None:
            raise Http404
    elif len(grids) == 1:
        selected = grids[0]
    q = request.GET.get("q", "").strip()
    context = {"grids": grids, "selected": selected, "q": q, "sees_people": _sees_people(user)}
    if q:
        context.update(_mobile_search(user, q))
    elif selected is not None:
        context["buildings"] = _grid_registry(user, selected)
    return render(request, "places/grid_mobile.html", context)


def _grid_summaries(user, grids: list[Area]) -> dict[int, dict[str, int]]:
    ids = [g.pk for g in grids]
    out: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    residents = Resident.objects.for_user(user).filter(status=Resident.Status.ACTIVE)
    living = Occupancy.objects.for_user(user).filter(grid_id__in=ids, resident__in=residents)
    cutoff = Resident.elderly_birth_cutoff()
    rows = (
        living.values("grid_id")
        .annotate(
            residents=Count("resident_id", distinct=True),
            elderly=Count("resident_id", distinct=True, filter=Q(resident__birth_date__lte=cutoff)),
        )
        .order_by()
    )
    for row in rows:
        out[row["grid_id"]].update(residents=row["residents"], elderly=row["elderly"])
    care = (
        living.filter(resident__labels__care=True)
        .values("grid_id")
        .annotate(n=Count("resident_id", distinct=True))
        .order_by()
    )
    for row in care:
        out[row["grid_id"]]["care"] = row["n"]
    for pk, n in _counts(Household.objects.for_user(user).filter(house__grid_id__in=ids), "house__grid_id").items():
        out[pk]["households"] = n
    return out


def _grid_registry(user, grid: Area) -> list[Building]:
    """Buildings -> houses -> residents of one grid, in a fixed number of queries."""
    buildings = list(Building.objects.for_user(user).filter(grid=grid).order_by("code"))
    houses = House.objects.for_user(user).filter(grid=grid).select_related("unit").order_by("code")
    by_house: dict[int, list[Resident]] = defaultdict(list)
    if _sees_people(user):
        occupancies = (
            Occupancy.objects.for_user(user)
            .filter(grid=grid, resident__in=Resident.objects.for_user(user))
            .select_related("resident")
            .prefetch_related(_care_labels("resident__labels"))
            .order_by("resident__name")
        )
        for occ in occupancies:
            by_house[occ.house_id].append(occ.resident)
    by_building: dict[int, list[House]] = defaultdict(list)
    for h in houses:
        h.residents = by_house.get(h.pk, [])
        by_building[h.building_id].append(h)
    for b in buildings:
        b.house_list = by_building.get(b.pk, [])
    return buildings


def _care_labels(lookup: str) -> Prefetch:
    return Prefetch(lookup, queryset=Label.objects.order_by("-care", "code"))


def _mobile_search(user, q: str) -> dict:
    houses = House.objects.for_user(user).select_related("building", "unit").filter(_house_search_q(q))
    residents = Resident.objects.none()
    if _sees_people(user):
        residents = (
            Resident.objects.for_user(user)
            .filter(name__icontains=q)
            .prefetch_related(_care_labels("labels"))
            .order_by("name")
        )
    return {
        "found_houses": list(houses[:MOBILE_SEARCH_LIMIT]),
        "found_residents": list(residents[:MOBILE_SEARCH_LIMIT]),
    }
