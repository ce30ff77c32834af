"""The role matrix over every endpoint: no permission -> empty or 403, in scope -> rows,
out of scope -> 404 on details and absent from lists and counts."""

from __future__ import annotations

import pytest

from linli.api.tests.conftest import assert_error
from linli.people import services as people
from linli.people.models import Resident

pytestmark = pytest.mark.django_db

ALL_AREAS = {"city", "district", "A", "B", "A1", "A2", "B1", "A1-1", "A1-2", "A2-1", "B1-1"}
GRIDS = {"A1-1", "A1-2", "A2-1", "B1-1"}


def homes(*grids: str) -> set[str]:
    return {f"{g}/{room}" for g in grids for room in (101, 102)}


# resource -> (list path, detail path prefix, world attribute)
RESOURCES = {
    "areas": ("/areas", "/areas", "areas"),
    "estates": ("/estates", "/estates", "estates"),
    "buildings": ("/buildings", "/buildings", "buildings"),
    "houses": ("/houses", "/houses", "houses"),
    "residents": ("/residents", "/residents", "residents"),
    "organizations": ("/organizations", "/organizations", "orgs"),
    "households": (None, "/households", None),
}

# user -> resource -> keys visible (households follow the residents' keys)
VISIBLE = {
    "grid": {
        "areas": {"A1-1"},
        "estates": {"E1"},
        "buildings": {"A1-1"},
        "houses": homes("A1-1"),
        "residents": homes("A1-1"),
        "organizations": {"P1"},
    },
    "grid_b": {
        "areas": {"B1-1"},
        "estates": {"E2"},
        "buildings": {"B1-1"},
        "houses": homes("B1-1"),
        "residents": homes("B1-1"),
        "organizations": {"P2"},
    },
    "community": {
        "areas": {"A1", "A1-1", "A1-2"},
        "estates": {"E1"},
        "buildings": {"A1-1", "A1-2"},
        "houses": homes("A1-1", "A1-2"),
        "residents": homes("A1-1", "A1-2"),
        "organizations": {"P1"},
    },
    "community_b": {
        "areas": {"B1", "B1-1"},
        "estates": {"E2"},
        "buildings": {"B1-1"},
        "houses": homes("B1-1"),
        "residents": homes("B1-1"),
        "organizations": {"P2"},
    },
    "street": {
        "areas": {"A", "A1", "A2", "A1-1", "A1-2", "A2-1"},
        "estates": {"E1"},
        "buildings": {"A1-1", "A1-2", "A2-1"},
        "houses": homes("A1-1", "A1-2", "A2-1"),
        "residents": homes("A1-1", "A1-2", "A2-1"),
        "organizations": {"P1", "shop"},
    },
    "street_b": {
        "areas": {"B", "B1", "B1-1"},
        "estates": {"E2"},
        "buildings": {"B1-1"},
        "houses": homes("B1-1"),
        "residents": homes("B1-1"),
        "organizations": {"P2"},
    },
    "property": {
        "areas": {"A1-1"},
        "estates": {"E1"},
        "buildings": {"A1-1"},
        "houses": homes("A1-1"),
        "residents": homes("A1-1"),
        "organizations": {"P1"},
    },
    "property_b": {
        "areas": {"B1-1"},
        "estates": {"E2"},
        "buildings": {"B1-1"},
        "houses": homes("B1-1"),
        "residents": homes("B1-1"),
        "organizations": {"P2"},
    },
    "resident": {
        "areas": {"A1-1"},
        "estates": {"E1"},
        "buildings": {"A1-1"},
        "houses": {"A1-1/101"},
        "residents": {"A1-1/101"},
        "organizations": set(),
    },
    "admin": {
        "areas": ALL_AREAS,
        "estates": {"E1", "E2"},
        "buildings": GRIDS,
        "houses": homes(*GRIDS),
        "residents": set(),
        "organizations": {"P1", "P2", "shop"},
    },
    "nobody": {},
    "auditor": {},
    "provider": {},
}


def objects(world, resource: str) -> dict:
    if resource == "households":
        return {key: r.household for key, r in world.residents.items()}
    return getattr(world, str(RESOURCES[resource][2]))


def visible(user: str, resource: str) -> set[str]:
    if resource == "households":
        return VISIBLE[user].get("residents", set())
    return VISIBLE[user].get(resource, set())


@pytest.mark.parametrize("user", sorted(VISIBLE))
@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_role_matrix(world, api, user, resource):
    client = api(user)
    objs = objects(world, resource)
    seen = visible(user, resource)
    list_path, detail_path, _attr = RESOURCES[resource]
    if list_path:
        body = client.get(list_path, limit=500).json()
        ids = {row["id"] for row in body["results"]}
        assert ids == {objs[k].pk for k in seen}, (user, resource)
        assert body["count"] == len(seen)
    for key, obj in objs.items():
        r = client.get(f"{detail_path}/{obj.pk}")
        if key in seen:
            assert r.status_code == 200, (user, resource, key, r.content)
            assert r.json()["id"] == obj.pk
        else:
            assert_error(r, 404, "not_found")


@pytest.mark.parametrize(
    ("user", "twin"),
    [("grid", "grid_b"), ("community", "community_b"), ("property", "property_b"), ("street", "street_b")],
)
def test_filters_cannot_reach_outside_scope(world, api, user, twin):
    far_grid = world.areas["B1-1"].pk
    client = api(user)
    for path in ("/residents", "/houses", "/buildings"):
        assert client.get(path, grid=far_grid).json()["count"] == 0, path
    assert client.get("/residents", community=world.areas["B1"].pk).json()["count"] == 0
    far = world.resident_in("B1-1")
    assert client.get("/residents", id_number=far.id_number).json()["count"] == 0
    assert client.get("/residents", phone=far.phone).json()["count"] == 0
    assert client.get("/areas", parent=world.areas["B1"].pk).json()["count"] == 0
    assert client.get("/organizations", q="开封道").json()["count"] == 0
    # the twin finds its own with the same filters
    assert api(twin).get("/residents", id_number=far.id_number).json()["count"] == 1


def test_household_lists_only_members_in_scope(world, api):
    home = world.resident_in("A1-1").household
    Resident.objects.filter(pk=world.resident_in("B1-1").pk).update(household=home)
    body = api("grid").get(f"/households/{home.pk}").json()
    assert [m["id"] for m in body["members"]] == [world.resident_in("A1-1").pk]


def test_resident_detail_lists_only_residences_in_scope(world, api):
    me = world.resident_in("A1-1")
    people.add_occupancy(None, me, world.house_in("B1-1"), "owner")
    body = api("grid").get(f"/residents/{me.pk}").json()
    assert [o["house_id"] for o in body["residences"]] == [world.house_in("A1-1").pk]
    body = api("grid_b").get("/residents").json()
    assert me.pk in {r["id"] for r in body["results"]}  # the owner is visible where the house is


def test_resident_sees_own_household_only(world, api):
    client = api("resident")
    own = world.resident_in("A1-1")
    assert client.get(f"/households/{own.household_id}").status_code == 200
    neighbour = world.residents["A1-1/102"]
    assert_error(client.get(f"/households/{neighbour.household_id}"), 404, "not_found")
    assert_error(client.get(f"/residents/{neighbour.pk}"), 404, "not_found")


@pytest.mark.parametrize("user", ["nobody", "auditor", "provider"])
def test_no_permission_cannot_write(world, api, user):
    client = api(user)
    r = client.post("/residents", {"name": "某人", "house": world.house_in("A1-1").pk})
    assert_error(r, 403, "permission_denied")
    r = client.post("/houses", {"building": world.buildings["A1-1"].pk, "unit_number": 1, "room": 301})
    assert_error(r, 403, "permission_denied")
    r = client.patch(f"/residents/{world.resident_in('A1-1').pk}", {"name": "改名"})
    assert_error(r, 404, "not_found")
    r = client.post(f"/residents/{world.resident_in('A1-1').pk}/reveal", {"field": "phone", "purpose": "上门走访"})
    assert_error(r, 404, "not_found")


def test_me_describes_the_caller(world, api):
    body = api("grid").get("/me").json()
    assert body["username"] == "grid" and [r["code"] for r in body["roles"]] == ["grid"]
    assert "people.reveal" in body["permissions"] and body["resident_id"] is None
    nobody = api("nobody").get("/me").json()
    assert nobody["roles"] == [] and nobody["permissions"] == []
    assert api("resident").get("/me").json()["resident_id"] == world.resident_in("A1-1").pk
