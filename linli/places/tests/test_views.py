"""The places console through the role matrix: anonymous, no role, in scope, out of scope, bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from linli.core.audit import AuditRecord
from linli.core.idnumber import make_id_number
from linli.people import services as people
from linli.people.models import Household, Resident
from linli.places import services as places
from linli.places.models import Area, Building, House

pytestmark = pytest.mark.django_db

BAD_RING = {"type": "Polygon", "coordinates": [[[117.2, 39.1], [117.3, 39.1], [117.3, 39.2], [117.25, 39.25]]]}
GOOD = {"type": "Polygon", "coordinates": [[[117.2, 39.1], [117.3, 39.1], [117.3, 39.2], [117.2, 39.1]]]}


def urls(w):
    """Every places page, as (name, url), for an object inside street A."""
    return [
        ("area-list", reverse("places:area-list")),
        ("area-detail", reverse("places:area-detail", args=[w.areas["A1-1"].pk])),
        ("area-edit", reverse("places:area-edit", args=[w.areas["A1-1"].pk])),
        ("area-create", reverse("places:area-create", args=[w.areas["A1"].pk])),
        ("estate-list", reverse("places:estate-list")),
        ("estate-detail", reverse("places:estate-detail", args=[w.estates["E1"].pk])),
        ("building-detail", reverse("places:building-detail", args=[w.buildings["A1-1"].pk])),
        ("building-create", reverse("places:building-create")),
        ("house-list", reverse("places:house-list")),
        ("house-detail", reverse("places:house-detail", args=[w.houses["A1-1/101"].pk])),
        ("house-create", reverse("places:house-create")),
        ("house-edit", reverse("places:house-edit", args=[w.houses["A1-1/101"].pk])),
        ("map", reverse("places:map")),
        ("map-data", reverse("places:map-data")),
        ("grid-mobile", reverse("places:grid-mobile")),
    ]


def text(response) -> str:
    return response.content.decode()


def in_english(world, name: str) -> None:
    """Messages are asserted in English; users default to Chinese."""
    type(world.users[name]).objects.filter(username=name).update(language="en")


# ----------------------------------------------------------------------------- the role matrix


def test_anonymous_goes_to_login(world, client):
    for name, url in urls(world):
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_user_without_role_gets_403(world, client_for):
    c = client_for("nobody")
    for name, url in urls(world):
        assert c.get(url).status_code == 403, name


def test_in_scope_pages_render(world, client_for):
    c = client_for("community")  # may view and change A1
    for name, url in urls(world):
        assert c.get(url).status_code == 200, name


def test_view_only_roles_cannot_open_edit_pages(world, client_for):
    c = client_for("grid")  # places.view without places.change
    for name, url in urls(world):
        expected = 403 if name.endswith(("-edit", "-create")) else 200
        assert c.get(url).status_code == expected, name


@pytest.mark.parametrize("user", ["grid", "community", "street", "property"])
def test_out_of_scope_details_are_404(world, client_for, user):
    c = client_for(user)
    for url in (
        reverse("places:house-detail", args=[world.houses["B1-1/101"].pk]),
        reverse("places:building-detail", args=[world.buildings["B1-1"].pk]),
        reverse("places:area-detail", args=[world.areas["B1-1"].pk]),
        reverse("places:area-detail", args=[world.areas["B"].pk]),
        reverse("places:estate-detail", args=[world.estates["E2"].pk]),
        reverse("places:map-data") + f"?area={world.areas['B1'].pk}",
        reverse("places:map") + f"?area={world.areas['B1'].pk}",
        reverse("places:grid-mobile") + f"?grid={world.areas['B1-1'].pk}",
    ):
        assert c.get(url).status_code == 404, url


def test_out_of_scope_edit_pages_are_404(world, client_for):
    c = client_for("community")
    assert c.get(reverse("places:area-edit", args=[world.areas["B1-1"].pk])).status_code == 404
    assert c.get(reverse("places:area-create", args=[world.areas["B1"].pk])).status_code == 404
    assert c.get(reverse("places:house-edit", args=[world.houses["B1-1/101"].pk])).status_code == 404
    assert c.get(reverse("places:area-detail", args=[999999])).status_code == 404


# ----------------------------------------------------------------------------- lists hold no foreign rows


def test_house_list_shows_scope_only(world, client_for):
    body = text(client_for("grid").get(reverse("places:house-list")))
    assert world.houses["A1-1/101"].display_code in body
    assert world.houses["A1-1/102"].display_code in body
    for key in ("A1-2/101", "A2-1/101", "B1-1/101"):
        assert world.houses[key].display_code not in body


def test_house_list_filters_and_search(world, client_for):
    c = client_for("street")
    url = reverse("places:house-list")
    r = c.get(url, {"grid": world.areas["A1-2"].pk})
    assert r.context["page"].paginator.count == 2
    assert {h.grid_id for h in r.context["page"]} == {world.areas["A1-2"].pk}
    r = c.get(url, {"q": world.houses["A2-1/102"].display_code})
    assert [h.pk for h in r.context["page"]] == [world.houses["A2-1/102"].pk]
    r = c.get(url, {"q": "102"})
    assert r.context["page"].paginator.count == 3  # A1-1, A1-2, A2-1; never B1-1
    r = c.get(url, {"use": "commercial"})
    assert r.context["page"].paginator.count == 0
    # a grid outside the scope is not a valid choice: the filter is ignored, nothing leaks
    r = c.get(url, {"grid": world.areas["B1-1"].pk})
    assert world.houses["B1-1/101"].display_code not in text(r)
    assert r.context["form"].errors


def test_house_list_htmx_returns_results_only(world, client_for):
    r = client_for("grid").get(reverse("places:house-list"), {"q": "101"}, HTTP_HX_REQUEST="true")
    body = text(r)
    assert "<html" not in body and world.houses["A1-1/101"].display_code in body
    assert world.houses["A1-1/102"].display_code not in body
    assert "HX-Request" in r["Vary"]


def test_area_list_scope_level_and_search(world, client_for):
    r = client_for("grid").get(reverse("places:area-list"))
    assert [a.code for a in r.context["page"]] == ["120101001001001"]
    c = client_for("street")
    r = c.get(reverse("places:area-list"), {"level": "grid"})
    assert [a.code for a in r.context["page"]] == ["120101001001001", "120101001001002", "120101001002001"]
    r = c.get(reverse("places:area-list"), {"q": "福明里"})
    assert {a.name for a in r.context["page"]} == {"福明里社区", "福明里社区第1网格"}
    assert "开封道" not in text(c.get(reverse("places:area-list")))


def test_area_detail_counts_only_scope(world, client_for):
    r = client_for("street").get(reverse("places:area-detail", args=[world.areas["A"].pk]))
    children = {c.code: (c.house_count, c.household_count) for c in r.context["children"]}
    assert children == {"120101001001": (4, 4), "120101001002": (2, 2)}
    r = client_for("community").get(reverse("places:area-detail", args=[world.areas["A1-1"].pk]))
    assert [b.pk for b in r.context["buildings"]] == [world.buildings["A1-1"].pk]
    assert [e.pk for e in r.context["estates"]] == [world.estates["E1"].pk]


def test_estate_list_scope(world, client_for):
    body = text(client_for("property").get(reverse("places:estate-list")))
    assert "新华里小区" in body and "开封道小区" not in body


def test_building_detail_groups_houses(world, client_for):
    r = client_for("grid").get(reverse("places:building-detail", args=[world.buildings["A1-1"].pk]))
    ((unit, floors),) = r.context["units"]
    assert unit == "1单元"
    assert [(floor, [h.room for h in houses]) for floor, houses in floors] == [(1, ["101", "102"])]


# ----------------------------------------------------------------------------- house detail and people panels


def test_house_detail_masks_and_links_people(world, client_for):
    r = client_for("grid").get(reverse("places:house-detail", args=[world.houses["A1-1/101"].pk]))
    body = text(r)
    resident = world.residents["A1-1/101"]
    assert resident.name in body
    assert resident.id_number_masked in body and resident.phone_masked in body
    assert resident.id_number not in body and resident.phone not in body
    assert "120101001001-001-001-01-0101" in body


def test_house_detail_people_panel_is_scoped(world, client_for):
    # A resident of street B recorded as a member of an A1-1 household must not show through the panel.
    household = Household.objects.get(house=world.houses["A1-1/101"])
    intruder = world.residents["B1-1/101"]
    Resident.objects.filter(pk=intruder.pk).update(household=household)
    body = text(client_for("grid").get(reverse("places:house-detail", args=[world.houses["A1-1/101"].pk])))
    assert world.residents["A1-1/101"].name in body
    assert intruder.name not in body


def test_places_only_roles_see_no_people(world, client_for):
    body = text(client_for("admin").get(reverse("places:house-detail", args=[world.houses["A1-1/101"].pk])))
    assert world.residents["A1-1/101"].name not in body


# ----------------------------------------------------------------------------- the map


def features(response, kind):
    return [f for f in response.json()["features"] if f["properties"]["kind"] == kind]


def test_map_page_has_map_element(world, client_for):
    body = text(client_for("grid").get(reverse("places:map")))
    assert 'id="map"' in body and "leaflet.js" in body and "http" not in body.split('id="map"')[1].split(">")[0]


def test_map_data_grid_worker(world, client_for):
    r = client_for("grid").get(reverse("places:map-data"))
    assert r.json()["type"] == "FeatureCollection"
    (grid,) = features(r, "grid")
    assert grid["properties"] == {
        "kind": "grid",
        "id": world.areas["A1-1"].pk,
        "name": world.areas["A1-1"].name,
        "code": "120101001001001",
        "houses": 2,
        "households": 2,
    }
    assert grid["geometry"]["type"] == "Polygon"
    assert [b["properties"]["id"] for b in features(r, "building")] == [world.buildings["A1-1"].pk]


def test_map_data_street_has_grids_only(world, client_for):
    r = client_for("street").get(reverse("places:map-data"))
    assert sorted(f["properties"]["code"] for f in features(r, "grid")) == [
        "120101001001001",
        "120101001001002",
        "120101001002001",
    ]
    assert features(r, "building") == []  # above community level: polygons only
    assert sum(f["properties"]["households"] for f in features(r, "grid")) == 6
    r = client_for("street").get(reverse("places:map-data"), {"area": world.areas["A1"].pk})
    assert sorted(f["properties"]["code"] for f in features(r, "grid")) == ["120101001001001", "120101001001002"]
    assert len(features(r, "building")) == 2


def test_map_data_rounds_and_admin_has_no_household_counts(world, client_for):
    Area.objects.filter(pk=world.areas["A1-1"].pk).update(
        boundary={
            "type": "Polygon",
            "coordinates": [[[117.2000001234, 39.1], [117.21, 39.1], [117.21, 39.13], [117.2000001234, 39.1]]],
        }
    )
    r = client_for("admin").get(reverse("places:map-data"))
    grids = features(r, "grid")
    assert len(grids) == 4
    assert all("households" not in g["properties"] for g in grids)
    a11 = next(g for g in grids if g["properties"]["code"] == "120101001001001")
    assert a11["geometry"]["coordinates"][0][0] == [117.2, 39.1]


def test_map_data_bad_area_parameter_is_404(world, client_for):
    assert client_for("grid").get(reverse("places:map-data"), {"area": "x"}).status_code == 404


# ----------------------------------------------------------------------------- writing


def test_area_edit_saves_boundary_and_converts_gcj02(world, client_for):
    area = world.areas["A1-1"]
    r = client_for("community").post(
        reverse("places:area-edit", args=[area.pk]),
        {"name": "新华里一网格", "boundary": json.dumps(GOOD), "lng": "117.2", "lat": "39.12", "crs": "gcj02"},
    )
    assert r.status_code == 302
    area.refresh_from_db()
    assert area.name == "新华里一网格" and area.boundary == GOOD
    assert area.lng != 117.2 and abs(area.lng - 117.2) < 0.01  # converted from GCJ-02


@pytest.mark.parametrize(
    "boundary,message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps(BAD_RING), "must end where it starts"),
        (json.dumps({"type": "Point", "coordinates": [117.2, 39.1]}), "Polygon or MultiPolygon"),
    ],
)
def test_area_edit_bad_boundary_writes_nothing(world, client_for, boundary, message):
    area = world.areas["A1-1"]
    before = (area.name, area.boundary)
    in_english(world, "community")
    c = client_for("community")  # signing in writes a login record; count after it
    records = AuditRecord.objects.count()
    r = c.post(reverse("places:area-edit", args=[area.pk]), {"name": "changed", "boundary": boundary, "crs": "wgs84"})
    assert r.status_code == 200
    assert message in text(r)
    area.refresh_from_db()
    assert (area.name, area.boundary) == before
    assert AuditRecord.objects.count() == records


def test_area_edit_upload_and_one_sided_point(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    area = world.areas["A1-1"]
    c = client_for("community")
    r = c.post(reverse("places:area-edit", args=[area.pk]), {"name": area.name, "lng": "117.2", "crs": "wgs84"})
    assert r.status_code == 200 and r.context["form"].errors
    upload = SimpleUploadedFile("grid.geojson", json.dumps({"type": "Feature", "geometry": GOOD}).encode())
    r = c.post(
        reverse("places:area-edit", args=[area.pk]), {"name": area.name, "crs": "wgs84", "boundary_file": upload}
    )
    assert r.status_code == 302
    area.refresh_from_db()
    assert area.boundary == GOOD


def test_area_create_checks_code(world, client_for):
    in_english(world, "community")
    c = client_for("community")
    parent = world.areas["A1"]
    count = Area.objects.count()
    r = c.post(
        reverse("places:area-create", args=[parent.pk]), {"code": "120101002001009", "name": "错的网格", "crs": "wgs84"}
    )
    assert r.status_code == 200
    assert "does not lie under its parent" in text(r)
    assert Area.objects.count() == count
    r = c.post(
        reverse("places:area-create", args=[parent.pk]),
        {"code": "120101001001003", "name": "新华里第3网格", "boundary": json.dumps(GOOD), "crs": "wgs84"},
    )
    assert r.status_code == 302
    new = Area.objects.get(code="120101001001003")
    assert new.level == "grid" and new.parent == parent and new.community_id == parent.pk


def test_grid_has_no_child_areas(world, client_for):
    assert client_for("community").get(reverse("places:area-create", args=[world.areas["A1-1"].pk])).status_code == 404


def test_building_create_in_own_grid_only(world, client_for):
    c = client_for("community")
    r = c.post(
        reverse("places:building-create"), {"grid": world.areas["A1-2"].pk, "number": 2, "units": 2, "crs": "wgs84"}
    )
    assert r.status_code == 302
    b = Building.objects.get(code="120101001001002002")
    assert b.units.count() == 2
    r = c.post(reverse("places:building-create"), {"grid": world.areas["B1-1"].pk, "number": 3, "crs": "wgs84"})
    assert r.status_code == 200 and r.context["form"].errors["grid"]
    assert not Building.objects.filter(code="120101002001001003").exists()
    r = c.post(reverse("places:building-create"), {"grid": world.areas["A1-2"].pk, "number": 2, "crs": "wgs84"})
    assert r.status_code == 200 and r.context["form"].errors["number"]


def test_house_create_and_edit(world, client_for):
    c = client_for("community")
    building = world.buildings["A1-1"]
    r = c.post(
        reverse("places:house-create"), {"building": building.pk, "unit_number": 1, "room": 502, "use": "residential"}
    )
    assert r.status_code == 302
    house = House.objects.get(code=building.code + "010502")
    assert house.floor == 5
    records = AuditRecord.objects.count()
    r = c.post(
        reverse("places:house-create"), {"building": building.pk, "unit_number": 1, "room": 502, "use": "residential"}
    )
    assert r.status_code == 200 and r.context["form"].errors["room"]
    assert AuditRecord.objects.count() == records
    r = c.post(reverse("places:house-edit", args=[house.pk]), {"floor": 5, "use": "office", "floor_area": "88.5"})
    assert r.status_code == 302
    house.refresh_from_db()
    assert house.use == "office" and str(house.floor_area) == "88.50"
    r = c.post(
        reverse("places:house-create"),
        {"building": world.buildings["B1-1"].pk, "unit_number": 1, "room": 301, "use": "residential"},
    )
    assert r.status_code == 200 and r.context["form"].errors["building"]


# ----------------------------------------------------------------------------- the phone view


def test_grid_mobile_shows_own_grid_only(world, client_for):
    r = client_for("grid").get(reverse("places:grid-mobile"))
    body = text(r)
    assert r.context["selected"] == world.areas["A1-1"]
    assert world.residents["A1-1/101"].name in body and world.residents["A1-1/102"].name in body
    for key in ("A1-2/101", "A2-1/101", "B1-1/101"):
        assert world.residents[key].name not in body
    assert world.residents["A1-1/101"].phone_masked in body
    assert world.residents["A1-1/101"].phone not in body
    summary = r.context["grids"][0].summary
    assert summary == {"residents": 2, "elderly": 1, "care": 1, "households": 2}


def test_grid_mobile_search_stays_in_scope(world, client_for):
    c = client_for("grid")
    r = c.get(reverse("places:grid-mobile"), {"q": "居民"})
    assert {p.name for p in r.context["found_residents"]} == {"居民A1-1-101", "居民A1-1-102"}
    r = c.get(reverse("places:grid-mobile"), {"q": "居民B1-1"})
    assert r.context["found_residents"] == []
    r = c.get(reverse("places:grid-mobile"), {"q": "102"})
    assert [h.pk for h in r.context["found_houses"]] == [world.houses["A1-1/102"].pk]


def test_grid_mobile_lists_grids_for_community_worker(world, client_for):
    r = client_for("community").get(reverse("places:grid-mobile"))
    assert r.context["selected"] is None
    assert [g.code for g in r.context["grids"]] == ["120101001001001", "120101001001002"]
    r = client_for("community").get(reverse("places:grid-mobile"), {"grid": world.areas["A1-2"].pk})
    assert world.residents["A1-2/101"].name in text(r) and world.residents["A1-1/101"].name not in text(r)


# ----------------------------------------------------------------------------- query-count guards


def _add_rows(world, grid_key: str, n: int) -> None:
    building = world.buildings[grid_key]
    for i in range(n):
        house = places.create_house(None, building=building, unit_number=2, room=201 + i)
        r = people.save_resident(
            None,
            house=house,
            name=f"加{i}",
            id_number=make_id_number("120101", dt.date(1940, 1, 1 + i), 500 + i, "M"),
            phone=f"1390000{i:04d}",
        )
        people.create_household(None, house=house, head=r)


def _queries(client, url, django_assert_max_num_queries, bound, **params):
    with django_assert_max_num_queries(bound):
        assert client.get(url, params).status_code == 200


@pytest.mark.parametrize(
    "url_name,user,bound",
    [
        ("places:house-list", "street", 11),
        ("places:map-data", "street", 8),
        ("places:map-data", "grid", 9),
        ("places:grid-mobile", "grid", 14),
        ("places:building-detail", "grid", 9),
    ],
)
def test_query_count_does_not_grow_with_rows(world, client_for, django_assert_max_num_queries, url_name, user, bound):
    args = [world.buildings["A1-1"].pk] if url_name == "places:building-detail" else []
    url = reverse(url_name, args=args)
    c = client_for(user)
    _queries(c, url, django_assert_max_num_queries, bound)
    _add_rows(world, "A1-1", 8)
    _queries(c, url, django_assert_max_num_queries, bound)


def test_house_detail_query_count(world, client_for, django_assert_max_num_queries):
    c = client_for("grid")
    url = reverse("places:house-detail", args=[world.houses["A1-1/101"].pk])
    household = Household.objects.get(house=world.houses["A1-1/101"])
    with django_assert_max_num_queries(11):
        c.get(url)
    for i in range(5):
        people.save_resident(
            None,
            house=world.houses["A1-1/101"],
            name=f"家人{i}",
            household=household,
            id_number=make_id_number("120101", dt.date(1980, 2, 1 + i), 700 + i, "F"),
        )
    with django_assert_max_num_queries(11):
        assert "家人4" in text(c.get(url))
