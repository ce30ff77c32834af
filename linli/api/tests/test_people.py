"""Residents over the API: masking everywhere, reveal with purpose and audit, validated writes."""

from __future__ import annotations

import pytest

from linli.api.tests.conftest import assert_error
from linli.core.idnumber import make_id_number
from linli.core.models import AuditRecord
from linli.people.models import Occupancy, Organization, Resident

pytestmark = pytest.mark.django_db

GOOD_ID = make_id_number("120101", __import__("datetime").date(1985, 7, 9), 42, "F")


def plaintexts(world) -> set[str]:
    values: set[str] = set()
    for r in Resident.objects.all():
        values.update(v for v in (r.id_number, r.phone) if v)
    for org in Organization.objects.all():
        values.update(v for v in (org.phone,) if v)
    return values


def counts() -> tuple[int, int, int]:
    return Resident.objects.count(), Occupancy.objects.count(), AuditRecord.objects.count()


@pytest.mark.parametrize("user", ["street", "community", "grid", "property", "resident", "admin"])
def test_no_plaintext_identifier_in_any_response(world, api, user):
    secrets = plaintexts(world)
    assert len(secrets) >= 17
    client = api(user)
    bodies = []
    for path in ("/residents", "/houses", "/organizations", "/areas", "/estates", "/buildings", "/me"):
        bodies.append(client.get(path, limit=500).content.decode())
    for r in world.residents.values():
        bodies.append(client.get(f"/residents/{r.pk}").content.decode())
        bodies.append(client.get(f"/households/{r.household_id}").content.decode())
    for org in world.orgs.values():
        bodies.append(client.get(f"/organizations/{org.pk}").content.decode())
    for body in bodies:
        for secret in secrets:
            assert secret not in body


def test_lists_show_masked_values(world, api):
    row = api("grid").get("/residents", q="A1-1-101").json()["results"][0]
    me = world.resident_in("A1-1")
    assert row["id_number_masked"] == me.id_number_masked and "*" in row["id_number_masked"]
    assert row["phone_masked"] == me.phone_masked
    assert "birth_date" not in row  # the mask hides the birth date on purpose


def test_exact_filters(world, api):
    client = api("street")
    me = world.resident_in("A1-2")
    assert [r["id"] for r in client.get("/residents", id_number=me.id_number.lower()).json()["results"]] == [me.pk]
    assert [r["id"] for r in client.get("/residents", phone=f"+86 {me.phone}").json()["results"]] == [me.pk]
    assert client.get("/residents", label="living_alone").json()["count"] == 3
    assert client.get("/residents", elderly="true").json()["count"] == 3
    assert client.get("/residents", elderly="false").json()["count"] == 3
    assert client.get("/residents", grid=world.areas["A1-2"].pk).json()["count"] == 2
    assert client.get("/residents", community=world.areas["A1"].pk).json()["count"] == 4
    assert client.get("/residents", status="moved_out").json()["count"] == 0
    assert client.get("/houses", q=world.house_in("A2-1").display_code).json()["count"] == 1
    assert client.get("/areas", level="grid").json()["count"] == 3


def test_reveal_returns_the_number_and_is_audited_once(world, api):
    me = world.resident_in("A1-1")
    before = AuditRecord.objects.filter(action="reveal").count()
    r = api("grid").post(f"/residents/{me.pk}/reveal", {"field": "id_number", "purpose": "核对低保申请材料"})
    assert r.status_code == 200, r.content
    assert r.json() == {"field": "id_number", "value": me.id_number}
    assert r["Cache-Control"] == "no-store"
    reveals = AuditRecord.objects.filter(action="reveal")
    assert reveals.count() == before + 1
    rec = reveals.latest("seq")
    assert (rec.username, rec.object_id, rec.purpose, rec.channel) == ("grid", str(me.pk), "核对低保申请材料", "api")


@pytest.mark.parametrize(
    ("user", "body", "status", "code", "field"),
    [
        ("grid", {"field": "phone"}, 400, "validation_error", "purpose"),
        ("grid", {"field": "phone", "purpose": "  "}, 400, "validation_error", "purpose"),
        ("grid", {"field": "birth_date", "purpose": "上门走访核实"}, 400, "validation_error", "field"),
        ("grid", {"purpose": "上门走访核实"}, 422, "validation_error", "field"),
        ("property", {"field": "phone", "purpose": "上门走访核实"}, 403, "permission_denied", None),
        ("grid_b", {"field": "phone", "purpose": "上门走访核实"}, 404, "not_found", None),
    ],
)
def test_reveal_refusals_write_no_audit(world, api, user, body, status, code, field):
    me = world.resident_in("A1-1")
    before = AuditRecord.objects.count()
    err = assert_error(api(user).post(f"/residents/{me.pk}/reveal", body), status, code)
    if field:
        assert list(err["fields"]) == [field]
    assert me.phone not in str(err) and me.id_number not in str(err)
    assert AuditRecord.objects.count() == before


def test_create_resident(world, api):
    house = world.house_in("A1-1")
    r = api("grid").post(
        "/residents",
        {
            "name": "  王芳 ",
            "id_number": GOOD_ID,
            "phone": "139 0000 2222",
            "house": house.pk,
            "relation": "tenant",
            "labels": ["living_alone"],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "王芳" and body["sex"] == "F" and body["labels"] == ["living_alone"]
    assert body["id_number_masked"] == "120101********" + GOOD_ID[-4:] and body["phone_masked"] == "139****2222"
    assert GOOD_ID not in r.content.decode() and "13900002222" not in r.content.decode()
    assert body["residences"] == [{"house_id": house.pk, "house_code": house.display_code, "relation": "tenant"}]
    created = Resident.objects.get(pk=body["id"])
    assert created.id_number == GOOD_ID
    assert (
        AuditRecord.objects.filter(
            action="create", object_type="people.resident", object_id=str(created.pk), username="grid"
        ).count()
        == 1
    )


BAD_BODIES = [
    ({"name": "王芳", "id_number": GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")}, 400, "id_number"),
    ({"name": "王芳", "phone": "12345"}, 400, "phone"),
    ({"name": "王芳", "labels": ["no_such_label"]}, 400, "labels"),
    ({"name": "王芳", "household": 99999999}, 400, "household"),
    ({"name": 5}, 422, "name"),
    ({"name": ""}, 422, "name"),
    ({"name": "王芳", "labels": "living_alone"}, 422, "labels"),
    ({"name": "王芳", "status": "alive"}, 422, "status"),
    ({"name": "王芳", "colour": "red"}, 422, "colour"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_BODIES)
def test_bad_resident_bodies_write_nothing(world, api, body, status, field):
    before = counts()
    err = assert_error(
        api("grid").post("/residents", {"house": world.house_in("A1-1").pk, **body}), status, "validation_error"
    )
    assert field in err["fields"], err
    assert counts() == before


def test_duplicate_id_number_is_refused(world, api):
    before = counts()
    body = {"name": "重复", "id_number": world.resident_in("A1-2").id_number, "house": world.house_in("A1-1").pk}
    err = assert_error(api("grid").post("/residents", body), 400, "validation_error")
    assert list(err["fields"]) == ["id_number"]
    assert world.resident_in("A1-2").id_number not in str(err)
    assert counts() == before


@pytest.mark.parametrize("house_key", ["B1-1", None])
def test_unknown_or_far_house_is_a_field_error(world, api, house_key):
    before = counts()
    house_id = world.house_in(house_key).pk if house_key else 987654
    err = assert_error(api("grid").post("/residents", {"name": "王芳", "house": house_id}), 400, "validation_error")
    assert list(err["fields"]) == ["house"]
    assert counts() == before


def test_malformed_json_writes_nothing(world, api):
    before = counts()
    assert_error(api("grid").post("/residents", raw='{"name": "王芳", '), 400, "malformed_request")
    assert_error(api("grid").post("/residents", raw=""), 422, "validation_error")
    assert counts() == before


def test_street_staff_may_read_but_not_write_people(world, api):
    before = counts()
    assert_error(
        api("street").post("/residents", {"name": "王芳", "house": world.house_in("A1-1").pk}), 403, "permission_denied"
    )
    assert_error(
        api("street").patch(f"/residents/{world.resident_in('A1-1').pk}", {"name": "x"}), 403, "permission_denied"
    )
    assert counts() == before


def test_patch_changes_only_what_is_sent(world, api):
    me = world.resident_in("A1-1")
    r = api("grid").patch(f"/residents/{me.pk}", {"phone": "13911112222", "notes": "独居，每周走访"})
    assert r.status_code == 200, r.content
    assert r.json()["phone_masked"] == "139****2222" and r.json()["name"] == me.name
    assert r.json()["labels"] == ["living_alone"]
    me.refresh_from_db()
    assert me.phone == "13911112222" and me.notes == "独居，每周走访" and me.id_number
    rec = AuditRecord.objects.filter(action="update", object_id=str(me.pk)).latest("seq")
    assert "13911112222" not in str(rec.after) and rec.channel == "api"


def test_patch_labels_and_household(world, api):
    me = world.resident_in("A1-1")
    r = api("grid").patch(f"/residents/{me.pk}", {"labels": [], "household": None})
    assert r.status_code == 200, r.content
    assert r.json()["labels"] == [] and r.json()["household_id"] is None


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"id_number": "120101198507091234"}, 400, "id_number"),
        ({"name": None}, 400, "name"),
        ({"phone": 13800000000}, 422, "phone"),
        ({"household": "far"}, 422, "household"),
    ],
)
def test_bad_patch_changes_nothing(world, api, body, status, field):
    me = world.resident_in("A1-1")
    snapshot, before = me.audit_snapshot(), AuditRecord.objects.count()
    err = assert_error(api("grid").patch(f"/residents/{me.pk}", body), status, "validation_error")
    assert field in err["fields"]
    me.refresh_from_db()
    assert me.audit_snapshot() == snapshot and AuditRecord.objects.count() == before


def test_patch_out_of_scope_is_404(world, api):
    far = world.resident_in("B1-1")
    assert_error(api("grid").patch(f"/residents/{far.pk}", {"name": "改名"}), 404, "not_found")
    far.refresh_from_db()
    assert far.name != "改名"


def test_my_data_package_is_audited(world, api):
    r = api("resident").get("/me/data")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    me = world.resident_in("A1-1")
    assert r.json()["resident"]["id_number"] == me.id_number  # their own data, in full
    assert AuditRecord.objects.filter(action="self_export", object_id=str(me.pk), username="resident").count() == 1
    assert_error(api("grid").get("/me/data"), 404, "not_bound")
