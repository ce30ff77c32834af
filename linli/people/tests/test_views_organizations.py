"""Organization pages: role matrix, masking, USCC errors on the field."""

import pytest
from django.urls import reverse

from linli.core.models import AuditRecord
from linli.people.models import Organization

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"people:{name}", args=args)


@pytest.mark.parametrize(
    ("who", "visible", "hidden"),
    [
        ("grid", ["P1"], ["P2", "shop"]),
        ("street", ["P1", "shop"], ["P2"]),
        ("property", ["P1"], ["P2", "shop"]),
        ("admin", ["P1", "P2", "shop"], []),
        ("grid_b", ["P2"], ["P1", "shop"]),
    ],
)
def test_list_and_detail_follow_scope(client_for, world, who, visible, hidden):
    c = client_for(who)
    response = c.get(url("organization-list"))
    page = response.content.decode()
    assert response.context["page"].paginator.count == len(visible)
    for key in visible:
        assert world.orgs[key].name in page
        assert c.get(url("organization-detail", world.orgs[key].pk)).status_code == 200
    for key in hidden:
        assert world.orgs[key].name not in page
        assert c.get(url("organization-detail", world.orgs[key].pk)).status_code == 404


@pytest.mark.parametrize("who", ["nobody", "auditor", "secadmin", "resident"])
def test_no_orgs_view_is_403(client_for, world, who):
    assert client_for(who).get(url("organization-list")).status_code == 403


def test_kind_filter_and_search(client_for, world):
    c = client_for("admin")
    shops = c.get(url("organization-list"), {"kind": "shop"}).context["page"].object_list
    assert [o.name for o in shops] == ["福明里便利店"]
    found = c.get(url("organization-list"), {"q": "91120101MA05L6W01E"}).context["page"].object_list
    assert [o.name for o in found] == ["新华物业公司"]
    assert [o.name for o in c.get(url("organization-list"), {"q": "开封"}).context["page"].object_list] == [
        "开封道物业公司"
    ]


def test_phone_is_masked(client_for, world):
    page = client_for("street").get(url("organization-detail", world.orgs["shop"].pk)).content.decode()
    assert "13900001111" not in page and "139****1111" in page


def test_create_in_scope_and_uscc_error_on_field(client_for, world):
    c = client_for("community")
    data = {
        "kind": "shop",
        "name": "新开小店",
        "grid": world.areas["A1-1"].pk,
        "uscc": "91120101MA05L6W01X",
        "phone": "",
        "contact_name": "",
        "address": "",
    }
    count, records = Organization.objects.count(), AuditRecord.objects.count()
    response = c.post(url("organization-create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["uscc"]
    assert Organization.objects.count() == count and AuditRecord.objects.count() == records
    data["uscc"] = ""
    response = c.post(url("organization-create"), data)
    assert response.status_code == 302
    assert Organization.objects.filter(name="新开小店", grid=world.areas["A1-1"]).exists()


def test_grid_choice_cannot_be_out_of_scope(client_for, world):
    c = client_for("community")
    data = {"kind": "shop", "name": "越界小店", "grid": world.areas["B1-1"].pk}
    response = c.post(url("organization-create"), data)
    assert response.status_code == 200 and "grid" in response.context["form"].errors
    assert not Organization.objects.filter(name="越界小店").exists()


def test_edit_scope_and_permission(client_for, world):
    p1 = world.orgs["P1"]
    assert client_for("community_b").get(url("organization-edit", p1.pk)).status_code == 404
    assert client_for("grid").get(url("organization-edit", p1.pk)).status_code == 403  # no orgs.change
    c = client_for("community")
    assert c.get(url("organization-edit", p1.pk)).status_code == 200
    response = c.post(
        url("organization-edit", p1.pk),
        {"kind": "property", "name": "新华物业", "grid": p1.grid_id, "uscc": p1.uscc, "phone": ""},
    )
    assert response.status_code == 302
    p1.refresh_from_db()
    assert p1.name == "新华物业"
