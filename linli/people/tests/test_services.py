"""People actions: identity validation, history, reveal, data package."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from linli.core import context
from linli.core.models import AuditRecord
from linli.people import services
from linli.people.models import Resident

pytestmark = pytest.mark.django_db


def test_birth_and_sex_derive_from_id(world):
    r = services.save_resident(
        world.users["grid"],
        house=world.house_in("A1-1"),
        name="王秀英",
        id_number="11010519491231002X",
        phone="13912345678",
    )
    assert (str(r.birth_date), r.sex, r.is_elderly) == ("1949-12-31", "F", True)
    assert r.occupancies.get().grid_id == world.areas["A1-1"].pk


@pytest.mark.parametrize("field, value", [("id_number", "110105194912310021"), ("phone", "12345"), ("name", "")])
def test_bad_input_writes_nothing(world, field, value):
    data = {"name": "李明", "id_number": "11010519491231002X", "phone": "13912345678", field: value}
    n, a = Resident.objects.count(), AuditRecord.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.save_resident(world.users["grid"], house=world.house_in("A1-1"), **data)
    assert field in exc.value.message_dict
    assert (Resident.objects.count(), AuditRecord.objects.count()) == (n, a)


def test_duplicate_id_number_refused(world):
    other = world.resident_in("B1-1")
    with pytest.raises(ValidationError) as exc:
        services.save_resident(world.users["grid"], house=world.house_in("A1-1"), name="x", id_number=other.id_number)
    assert "id_number" in exc.value.message_dict


def test_history_keeps_masked_before_and_after(world):
    r = world.resident_in("A1-1")
    old_phone = r.phone
    context.set_user(world.users["grid"])
    services.save_resident(world.users["grid"], r, phone="13700001111", name="新名字")
    rec = AuditRecord.objects.filter(object_type="people.resident", object_id=str(r.pk)).order_by("-seq").first()
    assert rec.action == "update" and rec.username == "grid"
    assert rec.before["name"] != rec.after["name"] == "新名字"
    assert rec.after["phone"] == "137****1111"
    dump = str(rec.before) + str(rec.after)
    assert old_phone not in dump and "13700001111" not in dump


def test_out_of_scope_and_view_only_edits_refused(world):
    with pytest.raises(Http404):
        services.save_resident(world.users["grid"], world.resident_in("B1-1"), name="x")
    with pytest.raises(PermissionDenied):
        services.save_resident(world.users["street"], world.resident_in("A1-1"), name="x")


def test_reveal_needs_permission_scope_and_purpose(world):
    r = world.resident_in("A1-1")
    n = AuditRecord.objects.filter(action="reveal").count()
    with pytest.raises(PermissionDenied):
        services.reveal(world.users["rescuer"], r, "phone", "上门救援联系家属")
    with pytest.raises(Http404):
        services.reveal(world.users["grid_b"], r, "phone", "上门救援联系家属")
    with pytest.raises(ValidationError):
        services.reveal(world.users["grid"], r, "phone", " ")
    assert AuditRecord.objects.filter(action="reveal").count() == n
    assert services.reveal(world.users["grid"], r, "id_number", "核对低保申请") == r.id_number
    rec = AuditRecord.objects.filter(action="reveal").latest("seq")
    assert (rec.purpose, rec.object_id, rec.after) == ("核对低保申请", str(r.pk), {"field": "id_number"})


def test_data_package_is_complete_and_includes_access_log(world):
    r = world.resident_in("A1-1")
    services.reveal(world.users["grid"], r, "phone", "联系本人核实")
    pkg = services.data_package(r)
    assert pkg["resident"]["id_number"] == r.id_number
    assert pkg["residences"][0]["grid"] == world.areas["A1-1"].name
    assert any(e["purpose"] == "联系本人核实" for e in pkg["access_log"])
