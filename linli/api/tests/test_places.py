"""Places over the API: details with GeoJSON, and creating houses through places.services."""

from __future__ import annotations

import pytest

from linli.api.tests.conftest import assert_error
from linli.core.models import AuditRecord
from linli.places.models import House

pytestmark = pytest.mark.django_db


def test_area_detail_carries_its_boundary(world, api):
    grid = world.areas["A1-1"]
    body = api("grid").get(f"/areas/{grid.pk}").json()
    assert body["boundary"]["type"] == "Polygon" and body["level"] == "grid"
    assert body["community_id"] == world.areas["A1"].pk
    rows = api("community").get("/areas", parent=world.areas["A1"].pk).json()["results"]
    assert [r["code"] for r in rows] == ["120101001001001", "120101001001002"]
    assert "boundary" not in rows[0]


def test_create_house(world, api):
    building = world.buildings["A1-1"]
    r = api("community").post("/houses", {"building": building.pk, "unit_number": 1, "room": 301, "floor_area": "86.5"})
    assert r.status_code == 201, r.content
    body = r.json()
    house = House.objects.get(pk=body["id"])
    assert body["code"] == house.code and house.code.startswith(building.code) and house.floor == 3
    assert body["households"] == [] and body["floor_area"] == "86.50"
    assert (
        AuditRecord.objects.filter(
            action="create", object_type="places.house", object_id=str(house.pk), username="community", channel="api"
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"room": 101}, 400, "room"),  # exists already
        ({"building_key": "B1-1"}, 400, "building"),  # outside the community
        ({"building": 99999999}, 400, "building"),
        ({"room": "three"}, 422, "room"),
        ({"unit_number": 100}, 422, "unit_number"),
        ({"use": "castle"}, 422, "use"),
        ({"floor_area": -1}, 422, "floor_area"),
    ],
)
def test_bad_house_bodies_write_nothing(world, api, body, status, field):
    body = dict(body)
    building = world.buildings[body.pop("building_key", "A1-1")]
    payload = {"building": building.pk, "unit_number": 1, "room": 301, **body}
    houses, records = House.objects.count(), AuditRecord.objects.count()
    err = assert_error(api("community").post("/houses", payload), status, "validation_error")
    assert list(err["fields"]) == [field], err
    assert (House.objects.count(), AuditRecord.objects.count()) == (houses, records)


def test_grid_worker_may_not_create_houses(world, api):
    houses = House.objects.count()
    r = api("grid").post("/houses", {"building": world.buildings["A1-1"].pk, "unit_number": 1, "room": 301})
    assert_error(r, 403, "permission_denied")
    assert House.objects.count() == houses
