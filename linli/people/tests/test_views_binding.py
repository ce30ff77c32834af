"""Binding requests (resident asks, community verifies) and a resident's own data."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from linli.accounts.models import BindingRequest
from linli.core import crypto
from linli.core.idnumber import make_id_number
from linli.core.models import AuditRecord
from linli.people.models import Occupancy, Resident
from linli.testing.world import make_user

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"people:{name}", args=args)


@pytest.fixture
def newcomer(world, client):
    user = make_user("newcomer", "resident")
    client.force_login(user)
    return client


def ask(c, world, house_key="A1-1/102", id_number=None, name="王新", relation="tenant"):
    id_number = id_number or make_id_number("120101", dt.date(1960, 2, 2), 301, "M")
    return c.post(
        url("binding-request"),
        {
            "house_code": world.houses[house_key].display_code,
            "name": name,
            "id_number": id_number,
            "relation": relation,
        },
    )


def test_request_stores_only_hash_and_masked(newcomer, world):
    number = make_id_number("120101", dt.date(1960, 2, 2), 301, "M")
    assert ask(newcomer, world, id_number=number).status_code == 302
    req = BindingRequest.objects.get()
    assert req.id_number_hash == crypto.blind_index(number)
    assert req.id_number_masked == crypto.mask_id_number(number)
    assert req.house == world.houses["A1-1/102"]
    for rec in AuditRecord.objects.filter(object_type="accounts.bindingrequest"):
        assert number not in json.dumps(rec.after, ensure_ascii=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("house_code", "1234"),
        ("house_code", "120101001001001001019999"),
        ("id_number", "120101196002023011"),
        ("name", ""),
    ],
)
def test_bad_request_is_refused(newcomer, world, field, value):
    data = {
        "house_code": world.houses["A1-1/102"].code,
        "name": "王新",
        "id_number": make_id_number("120101", dt.date(1960, 2, 2), 301, "M"),
        "relation": "owner",
    }
    data[field] = value
    if field == "id_number" and make_id_number("120101", dt.date(1960, 2, 2), 301, "M") == value:
        pytest.skip("accidentally valid")
    response = newcomer.post(url("binding-request"), data)
    assert response.status_code == 200 and response.context["form"].errors.get(field)
    assert not BindingRequest.objects.exists()


def test_only_unbound_resident_role_may_ask(client_for, world):
    assert client_for("grid").get(url("binding-request")).status_code == 403
    assert client_for("resident").get(url("binding-request")).status_code == 302  # already bound


def test_binding_list_scope(newcomer, world, client_for):
    ask(newcomer, world, "A1-1/102")
    req = BindingRequest.objects.get()
    assert req.name in client_for("community").get(url("binding-list")).content.decode()
    assert req.name not in client_for("community_b").get(url("binding-list")).content.decode()
    assert client_for("community_b").get(url("binding-approve", req.pk)).status_code == 404
    assert client_for("community_b").post(url("binding-approve", req.pk), {}).status_code == 404
    assert client_for("grid").get(url("binding-list")).status_code == 403
    assert client_for("nobody").post(url("binding-reject", req.pk), {"note": "x"}).status_code == 403


def test_approve_creates_resident_after_id_check(newcomer, world, client_for):
    number = make_id_number("120101", dt.date(1960, 2, 2), 301, "M")
    ask(newcomer, world, id_number=number)
    req = BindingRequest.objects.get()
    c = client_for("community")
    response = c.post(url("binding-approve", req.pk), {"id_number": ""})
    assert response.status_code == 200 and response.context["form"].errors["id_number"]
    wrong = make_id_number("120101", dt.date(1961, 2, 2), 301, "M")
    assert c.post(url("binding-approve", req.pk), {"id_number": wrong}).context["form"].errors["id_number"]
    assert not Resident.objects.filter(user=req.user).exists()
    assert c.post(url("binding-approve", req.pk), {"id_number": number}).status_code == 302
    me = Resident.objects.get(user=req.user)
    assert me.id_number == number and me.name == "王新"
    assert Occupancy.objects.filter(resident=me, house=req.house, relation="tenant").exists()
    req.refresh_from_db()
    assert req.status == "approved" and req.decided_by == world.users["community"]
    assert AuditRecord.objects.filter(object_type="people.resident", object_id=str(me.pk), action="update").exists()


def test_approve_links_existing_resident(newcomer, world, client_for):
    existing = world.residents["A1-1/102"]
    ask(newcomer, world, "A1-1/102", id_number=existing.id_number, name=existing.name)
    req = BindingRequest.objects.get()
    response = client_for("community").post(url("binding-approve", req.pk), {})
    assert response.status_code == 302, response.context["form"].errors
    existing.refresh_from_db()
    assert existing.user == req.user
    # the resident now sees their own data
    page = newcomer.get(url("my-data")).content.decode()
    assert existing.id_number in page


def test_reject_needs_a_note(newcomer, world, client_for):
    ask(newcomer, world)
    req = BindingRequest.objects.get()
    c = client_for("community")
    assert c.post(url("binding-reject", req.pk), {"note": ""}).context["form"].errors["note"]
    assert c.post(url("binding-reject", req.pk), {"note": "身份证信息不符"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "rejected" and req.note == "身份证信息不符"
    assert "身份证信息不符" in newcomer.get(url("binding-request")).content.decode()


def test_my_data_shows_own_data_unmasked_and_download_is_audited(client_for, world):
    me = world.resident_in("A1-1")
    c = client_for("resident")
    page = c.get(url("my-data")).content.decode()
    assert me.id_number in page and me.phone in page
    assert world.residents["A1-1/102"].name not in page
    before = AuditRecord.objects.filter(action="self_export").count()
    response = c.get(url("my-data-download"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["resident"]["id_number"] == me.id_number
    assert AuditRecord.objects.filter(action="self_export").count() == before + 1
    rec = AuditRecord.objects.filter(action="self_export").order_by("-seq").first()
    assert rec.object_id == str(me.pk) and rec.username == "resident"


def test_my_data_for_others(client_for, world, newcomer):
    assert client_for("grid").get(url("my-data")).status_code == 403
    assert client_for("grid").get(url("my-data-download")).status_code == 403
    assert newcomer.get(url("my-data")).status_code == 302  # unbound resident: asked to bind first
