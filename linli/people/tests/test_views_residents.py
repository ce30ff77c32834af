"""Resident and household pages: role matrix, masking, reveal, bad input, query counts."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from linli.core.idnumber import make_id_number
from linli.core.models import AuditRecord
from linli.people.models import Occupancy, Resident
from linli.people.views import history_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_users")]


def url(name, *args):
    return reverse(f"people:{name}", args=args)


def html(response):
    return response.content.decode()


# Role matrix


@pytest.mark.parametrize("name", ["resident-list", "resident-create"])
def test_anonymous_is_sent_to_login(world, name):
    response = Client().get(url(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("who", ["nobody", "admin", "secadmin", "auditor", "provider"])
def test_roles_without_people_view_get_403(client_for, world, who):
    c = client_for(who)
    assert c.get(url("resident-list")).status_code == 403
    assert c.get(url("resident-detail", world.resident_in("A1-1").pk)).status_code == 403


@pytest.mark.parametrize(
    ("who", "visible", "hidden"),
    [
        ("grid", ["A1-1/101", "A1-1/102"], ["A1-2/101", "A2-1/101", "B1-1/101"]),
        ("community", ["A1-1/101", "A1-2/102"], ["A2-1/101", "B1-1/101"]),
        ("street", ["A1-1/101", "A2-1/102"], ["B1-1/101", "B1-1/102"]),
        ("grid_b", ["B1-1/101"], ["A1-1/101", "A2-1/101"]),
        ("property", ["A1-1/101"], ["A1-2/101", "B1-1/101"]),
        ("resident", ["A1-1/101"], ["A1-1/102", "B1-1/101"]),
    ],
)
def test_list_and_detail_follow_scope(client_for, world, who, visible, hidden):
    c = client_for(who)
    page = html(c.get(url("resident-list")))
    for key in visible:
        assert world.residents[key].name in page
        assert c.get(url("resident-detail", world.residents[key].pk)).status_code == 200
    for key in hidden:
        assert world.residents[key].name not in page
        assert c.get(url("resident-detail", world.residents[key].pk)).status_code == 404


def test_list_count_never_includes_out_of_scope_rows(client_for, world):
    response = client_for("grid").get(url("resident-list"))
    assert response.context["page"].paginator.count == 2


def test_filters_cannot_reach_outside_scope(client_for, world):
    c = client_for("grid")
    response = c.get(url("resident-list"), {"grid": world.areas["B1-1"].pk})
    assert world.residents["B1-1/101"].name not in html(response)
    assert response.context["page"].paginator.count == 2  # invalid choice: the filter is ignored


def test_filters_label_elderly_grid_and_status(client_for, world):
    c = client_for("street")
    names = lambda r: {x.name for x in r.context["page"].object_list}  # noqa: E731
    elderly = names(c.get(url("resident-list"), {"elderly": "on"}))
    assert elderly == {world.residents[k].name for k in ("A1-1/101", "A1-2/101", "A2-1/101")}
    by_grid = names(c.get(url("resident-list"), {"grid": world.areas["A1-2"].pk}))
    assert by_grid == {world.residents["A1-2/101"].name, world.residents["A1-2/102"].name}
    by_community = names(c.get(url("resident-list"), {"community": world.areas["A2"].pk}))
    assert by_community == {world.residents["A2-1/101"].name, world.residents["A2-1/102"].name}
    label = names(c.get(url("resident-list"), {"label": world.residents["A1-1/101"].labels.get().pk}))
    assert len(label) == 3
    assert names(c.get(url("resident-list"), {"status": "deceased"})) == set()


def test_search_by_name_and_by_exact_id_and_phone(client_for, world):
    c = client_for("community")
    r = world.residents["A1-2/102"]
    for q in (r.name, r.id_number, r.phone):
        found = c.get(url("resident-list"), {"q": q}).context["page"].object_list
        assert [x.pk for x in found] == [r.pk], q
    # a partial ID number matches nothing: no prefix search on encrypted numbers
    assert not c.get(url("resident-list"), {"q": r.id_number[:10]}).context["page"].object_list
    # the exact ID of someone out of scope finds nothing
    other = world.residents["B1-1/101"]
    assert not c.get(url("resident-list"), {"q": other.id_number}).context["page"].object_list


def test_htmx_request_gets_rows_only(client_for, world):
    response = client_for("grid").get(url("resident-list"), HTTP_HX_REQUEST="true")
    assert "<html" not in html(response)
    assert world.residents["A1-1/101"].name in html(response)


# Masking and reveal


def test_grid_worker_pages_show_masked_identifiers_only(client_for, world):
    c = client_for("grid")
    r = world.residents["A1-1/101"]
    for page in (html(c.get(url("resident-list"))), html(c.get(url("resident-detail", r.pk)))):
        assert r.id_number not in page
        assert r.phone not in page
        assert r.id_number_masked in page
        assert r.phone_masked in page


def test_history_panel_holds_masked_values_only(client_for, world):
    r = world.residents["A1-1/101"]
    page = html(client_for("grid").get(url("resident-detail", r.pk)))
    assert "History" in page or "历史" in page
    assert AuditRecord.objects.filter(object_type="people.resident", object_id=str(r.pk)).exists()
    assert r.id_number not in page
    assert r.id_number_masked in page.split("card history")[-1]  # the create record's after, masked
    c = client_for("grid")
    c.post(url("resident-reveal", r.pk), {"field": "phone", "purpose": "电话回访老人"})
    assert "电话回访老人" in html(c.get(url("resident-detail", r.pk)))


def test_reveal_writes_one_audit_record(client_for, world):
    r = world.residents["A1-1/101"]
    c = client_for("grid")
    before = AuditRecord.objects.count()
    response = c.post(
        url("resident-reveal", r.pk), {"field": "id_number", "purpose": "上门核实身份"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert r.id_number in html(response)
    assert AuditRecord.objects.count() == before + 1
    rec = AuditRecord.objects.order_by("-seq").first()
    assert (rec.action, rec.purpose, rec.username, rec.object_id) == ("reveal", "上门核实身份", "grid", str(r.pk))
    assert rec.after == {"field": "id_number"}


def test_reveal_phone_without_htmx_renders_a_page(client_for, world):
    r = world.residents["A1-1/102"]
    response = client_for("grid").post(url("resident-reveal", r.pk), {"field": "phone", "purpose": "联系家属"})
    assert response.status_code == 200 and r.phone in html(response) and "<html" in html(response)


@pytest.mark.parametrize("purpose", ["", "  ", "ab"])
def test_reveal_needs_a_purpose(client_for, world, purpose):
    r = world.residents["A1-1/101"]
    c = client_for("grid")
    before = AuditRecord.objects.count()
    response = c.post(url("resident-reveal", r.pk), {"field": "id_number", "purpose": purpose}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert r.id_number not in html(response)
    assert "4" in html(response)  # the message says how long the purpose must be
    assert AuditRecord.objects.count() == before


def test_reveal_refused_without_permission_and_button_hidden(client_for, world):
    r = world.residents["A1-1/101"]
    c = client_for("property")  # people.view but no people.reveal
    assert "resident-reveal" not in html(c.get(url("resident-detail", r.pk)))
    assert reverse("people:resident-reveal", args=[r.pk]) not in html(c.get(url("resident-detail", r.pk)))
    before = AuditRecord.objects.count()
    response = c.post(url("resident-reveal", r.pk), {"field": "id_number", "purpose": "想看看号码"})
    assert response.status_code == 403
    assert AuditRecord.objects.count() == before


def test_reveal_out_of_scope_is_404(client_for, world):
    c = client_for("grid")
    before = AuditRecord.objects.count()
    response = c.post(
        url("resident-reveal", world.residents["B1-1/101"].pk), {"field": "id_number", "purpose": "上门核实身份"}
    )
    assert response.status_code == 404
    assert AuditRecord.objects.count() == before


def test_reveal_button_shown_to_grid_worker(client_for, world):
    r = world.residents["A1-1/101"]
    assert reverse("people:resident-reveal", args=[r.pk]) in html(client_for("grid").get(url("resident-detail", r.pk)))


# Detail panels


def test_detail_shows_derived_facts_household_and_residences(client_for, world):
    r = world.residents["A1-1/101"]
    response = client_for("grid").get(url("resident-detail", r.pk))
    page = html(response)
    assert "1950-03-01" in page
    assert str(r.age) in page
    assert world.houses["A1-1/101"].display_code in page
    assert response.context["household"] is not None


def test_household_detail_scope(client_for, world):
    hh = world.residents["A1-1/101"].household
    assert client_for("grid").get(url("household-detail", hh.pk)).status_code == 200
    assert client_for("resident").get(url("household-detail", hh.pk)).status_code == 200
    assert client_for("grid_b").get(url("household-detail", hh.pk)).status_code == 404
    assert client_for("nobody").get(url("household-detail", hh.pk)).status_code == 403


# Create, edit and related writes


def new_resident(**extra):
    data = {
        "house_code": "",
        "relation": "lives",
        "name": "新居民",
        "status": "active",
        "id_number": make_id_number("120101", dt.date(1985, 5, 5), 123, "M"),
        "phone": "13912345678",
    }
    data.update(extra)
    return data


def test_grid_worker_registers_a_resident_in_scope(client_for, world):
    house = world.houses["A1-1/102"]
    response = client_for("grid").post(url("resident-create"), new_resident(house_code=house.display_code))
    assert response.status_code == 302
    r = Resident.objects.get(name="新居民")
    assert r.birth_date == dt.date(1985, 5, 5) and r.sex == "M"
    assert Occupancy.objects.filter(resident=r, house=house).exists()


def test_create_form_prefills_house_from_query(client_for, world):
    house = world.houses["A1-1/102"]
    page = html(client_for("grid").get(url("resident-create"), {"house": house.pk}))
    assert house.display_code in page
    other = world.houses["B1-1/101"]
    assert other.display_code not in html(client_for("grid").get(url("resident-create"), {"house": other.pk}))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "BADCHECK", "check digit"),
        ("id_number", "DUPLICATE", "already registered"),
        ("phone", "12345", "11-digit"),
        ("house_code", "120101002001001001010101", "No house"),  # street B: out of scope
        ("house_code", "not-a-code", "No house"),
        ("name", "", "required"),
    ],
)
def test_bad_input_writes_nothing(client_for, world, field, value, message):
    c = client_for("grid")
    c.cookies["django_language"] = "en"
    house = world.houses["A1-1/102"]
    if value == "DUPLICATE":
        value = world.residents["B1-1/101"].id_number
    if value == "BADCHECK":
        good = new_resident()["id_number"]
        value = good[:-1] + ("1" if good[-1] != "1" else "2")
    data = new_resident(house_code=house.code)
    data[field] = value
    residents, records = Resident.objects.count(), AuditRecord.objects.count()
    response = c.post(url("resident-create"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in html(response), html(response)[:3000]
    assert Resident.objects.count() == residents
    assert AuditRecord.objects.count() == records


def test_edit_keeps_masked_numbers_out_of_the_form(client_for, world):
    r = world.residents["A1-1/101"]
    c = client_for("grid")
    page = html(c.get(url("resident-edit", r.pk)))
    assert r.id_number not in page and r.phone not in page and r.id_number_masked in page
    response = c.post(
        url("resident-edit", r.pk), {"name": "改名居民", "status": "active", "id_number": "", "phone": ""}
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.name == "改名居民"
    assert r.id_number == world.residents["A1-1/101"].id_number  # unchanged
    rec = AuditRecord.objects.order_by("-seq").first()
    assert rec.action == "update" and rec.after["name"] == "改名居民"


@pytest.mark.parametrize(("who", "status"), [("street", 403), ("property", 403), ("grid_b", 404), ("resident", 403)])
def test_roles_that_cannot_edit(client_for, world, who, status):
    r = world.residents["A1-1/101"]
    c = client_for(who)
    assert c.get(url("resident-edit", r.pk)).status_code == status
    assert c.post(url("resident-edit", r.pk), {"name": "x", "status": "active"}).status_code == status
    assert (
        "resident-edit" not in html(c.get(url("resident-detail", r.pk))) if status == 403 and who != "street" else True
    )


def test_street_sees_but_gets_no_edit_button(client_for, world):
    r = world.residents["A1-1/101"]
    page = html(client_for("street").get(url("resident-detail", r.pk)))
    assert reverse("people:resident-edit", args=[r.pk]) not in page


def test_emergency_contact_add_and_masked(client_for, world):
    r = world.residents["A1-1/101"]
    c = client_for("grid")
    response = c.post(url("contact-add", r.pk), {"name": "儿子", "relation": "子", "phone": "13700001234"})
    assert response.status_code == 302
    page = html(c.get(url("resident-detail", r.pk)))
    assert "137****1234" in page and "13700001234" not in page
    bad = c.post(url("contact-add", r.pk), {"name": "", "phone": ""})
    assert bad.status_code == 200 and r.emergency_contacts.count() == 1
    assert client_for("grid_b").post(url("contact-add", r.pk), {"name": "x", "phone": "13700001234"}).status_code == 404


def test_add_and_remove_residence(client_for, world):
    r = world.residents["A1-1/101"]
    c = client_for("community")
    house = world.houses["A1-2/102"]
    response = c.post(url("occupancy-add", r.pk), {"house_code": house.display_code, "relation": "owner"})
    assert response.status_code == 302
    occ = Occupancy.objects.get(resident=r, house=house)
    # out of scope house
    response = c.post(url("occupancy-add", r.pk), {"house_code": world.houses["B1-1/101"].code, "relation": "owner"})
    assert response.status_code == 200 and not Occupancy.objects.filter(resident=r, house=world.houses["B1-1/101"])
    assert client_for("grid_b").post(url("occupancy-remove", occ.pk)).status_code == 404
    assert c.post(url("occupancy-remove", occ.pk)).status_code == 302
    assert not Occupancy.objects.filter(pk=occ.pk).exists()
    assert AuditRecord.objects.filter(action="delete", object_type="people.occupancy", object_id=str(occ.pk)).exists()


# Query-count guard


def test_resident_list_query_count_does_not_grow_with_rows(client_for, world, django_assert_max_num_queries):
    from linli.people import services

    c = client_for("street")
    c.get(url("resident-list"))
    for i in range(10):
        services.save_resident(
            None,
            house=world.houses["A1-1/102"],
            name=f"加测{i}",
            id_number=make_id_number("120101", dt.date(1940, 1, 1 + i), 500 + i, "F"),
            labels=list(world.residents["A1-1/101"].labels.all()),
        )
    with django_assert_max_num_queries(12):  # 11 + the navigation's unread-inbox count
        response = c.get(url("resident-list"))
    assert response.context["page"].paginator.count == 16


def test_resident_list_offers_exports_by_permission(world, client_for):
    from django.urls import reverse

    body = client_for("grid").get(reverse("people:resident-list"), {"elderly": "on"}).content.decode()
    assert reverse("people:io-export-residents") + "?elderly=on" in body
    assert "unmasked=1" not in body
    assert "unmasked=1" in client_for("community").get(reverse("people:resident-list")).content.decode()


@pytest.mark.parametrize("name", ["grid", "community", "street", "property", "resident", "grid_b", "dispatcher"])
def test_count_for_user_equals_the_scoped_count(world, name):
    from linli.people.models import Resident

    user = world.users[name]
    assert Resident.count_for_user(user) == Resident.objects.for_user(user).count() > 0


def test_unfiltered_list_shows_the_scope_total(world, client_for):
    from django.urls import reverse

    response = client_for("community").get(reverse("people:resident-list"))
    assert response.context["page"].paginator.count == 4
    filtered = client_for("community").get(reverse("people:resident-list"), {"elderly": "on"})
    assert filtered.context["page"].paginator.count == 2


def test_history_names_the_changed_fields_in_the_reader_s_language(client_for, world):
    # a change is listed by the field's name (关系 / relation to head), not by its column (relation_to_head)
    r = world.residents["A1-1/101"]
    history = html(client_for("grid").get(url("resident-detail", r.pk))).split("card history")[-1]
    assert "relation_to_head" not in history and "household_id" not in history
    assert str(Resident._meta.get_field("relation_to_head").verbose_name) in history
    rows = history_rows([AuditRecord(object_type="no.such", action="update", before={"x": 1}, after={"x": 2})])
    assert rows[0]["changes"] == [("x", 1, 2, True)]  # an unknown model keeps its recorded names
