"""Importing residents and houses from .xlsx: good files, re-imports, bad rows, scope and permissions."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from linli.accounts.models import User
from linli.core import crypto
from linli.core.models import AuditRecord
from linli.people.models import EmergencyContact, Occupancy, Resident
from linli.people.tests.files.spreadsheets import (
    HOUSE_HEADERS_EN,
    HOUSE_HEADERS_ZH,
    RESIDENT_HEADERS_EN,
    RESIDENT_HEADERS_ZH,
    new_id,
    page_text,
    post_import,
    xlsx,
)
from linli.places.models import Building, House

pytestmark = pytest.mark.django_db


def _english(world, name: str = "community") -> None:
    User.objects.filter(pk=world.users[name].pk).update(language="en")


def _good_residents(world) -> list[list]:
    return [
        [
            world.houses["A1-1/101"].display_code,
            "王五",
            new_id(1),
            "13912345678",
            "租户",
            "汉族",
            "党员、独居",
            "王六",
            "13911112222",
        ],
        [world.houses["A1-2/102"].code, "赵六", new_id(2, "F"), "", "业主", "", "", "", ""],
    ]


def test_good_file_imports_residents_with_residence_labels_contact_and_audit(world, client_for):
    _english(world)
    before_audit = AuditRecord.objects.count()
    response = post_import(
        client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, _good_residents(world)), name="居民.xlsx"
    )
    assert response.status_code == 200
    assert "2 rows read, 2 created, 0 updated, 0 unchanged" in page_text(response)

    wang = Resident.objects.get(id_number_hash=crypto.blind_index(new_id(1)))
    assert wang.name == "王五" and wang.phone == "13912345678" and wang.ethnicity == "汉族"
    assert wang.birth_date.isoformat() == "1985-01-01" and wang.sex == "M"
    assert sorted(wang.labels.values_list("code", flat=True)) == ["living_alone", "party_member"]
    assert list(Occupancy.objects.filter(resident=wang).values_list("house_id", "relation")) == [
        (world.houses["A1-1/101"].pk, "tenant")
    ]
    contact = EmergencyContact.objects.get(resident=wang)
    assert (contact.name, contact.phone) == ("王六", "13911112222")

    new = AuditRecord.objects.filter(seq__gt=before_audit)
    assert new.filter(action="create", object_type="people.resident").count() == 2
    assert new.filter(action="create", object_type="people.occupancy").count() == 2
    assert new.filter(action="create", object_type="people.emergencycontact").count() == 1
    summary = new.get(action="import")
    assert summary.object_type == "people.resident" and summary.username == "community"
    assert summary.after == {"file": "居民.xlsx", "rows": 2, "created": 2, "updated": 0, "unchanged": 0, "skipped": 0}
    assert crypto.blind_index(new_id(1)) not in str(list(new.values_list("before", "after")))
    assert new_id(1) not in str(list(new.values_list("before", "after")))


def test_reimport_updates_instead_of_duplicating(world, client_for):
    _english(world)
    client = client_for("community")
    rows = _good_residents(world)
    post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows))
    residents, occupancies, contacts = (
        Resident.objects.count(),
        Occupancy.objects.count(),
        EmergencyContact.objects.count(),
    )

    audit = AuditRecord.objects.count()
    same = post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows))
    assert "2 rows read, 0 created, 0 updated, 2 unchanged" in page_text(same)
    # an unchanged register writes nothing but the import summary
    assert list(AuditRecord.objects.filter(seq__gt=audit).values_list("action", flat=True)) == ["import"]

    rows[0][3] = "13700000000"  # a new phone number
    rows[0][8] = "13722223333"  # and a new phone for the same emergency contact
    before_audit = AuditRecord.objects.count()
    changed = post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows))
    assert "2 rows read, 0 created, 1 updated, 1 unchanged" in page_text(changed)
    assert (Resident.objects.count(), Occupancy.objects.count(), EmergencyContact.objects.count()) == (
        residents,
        occupancies,
        contacts,
    )
    wang = Resident.objects.get(id_number_hash=crypto.blind_index(new_id(1)))
    assert wang.phone == "13700000000"
    assert EmergencyContact.objects.get(resident=wang).phone == "13722223333"
    assert AuditRecord.objects.filter(seq__gt=before_audit, action="update", object_type="people.resident").exists()


def test_reimport_of_existing_world_resident_adds_the_new_residence(world, client_for):
    _english(world)
    resident = world.residents["A1-1/101"]
    row = [world.houses["A1-2/101"].code, resident.name, resident.id_number, "", "业主", "", "", "", ""]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, [row]))
    assert "0 created, 1 updated" in page_text(response)
    assert Occupancy.objects.filter(resident=resident, house=world.houses["A1-2/101"], relation="owner").exists()
    assert Resident.objects.filter(id_number_hash=resident.id_number_hash).count() == 1


def test_bad_rows_are_reported_by_row_number_and_nothing_is_written(world, client_for):
    _english(world)
    good = _good_residents(world)[0]
    rows = [
        good,  # row 2: fine
        [
            world.houses["A1-1/102"].code,
            "错号",
            new_id(3)[:-1] + ("0" if new_id(3)[-1] != "0" else "1"),
            "12345",
            "朋友",
            "",
            "不存在的标签",
            "",
            "",
        ],  # row 3
        ["", "", "", "", "", "", "", "联系人", ""],  # row 4
        [world.houses["A1-1/102"].code, "超长" * 30, new_id(4), "", "owner", "", "", "", "13900000000"],  # row 5
        good,  # row 6: duplicate
        ["1201", "短码", new_id(5), "", "lives", "", "", "", ""],  # row 7
    ]
    client = client_for("community")  # signing in is audited too: count after it
    residents, audit = Resident.objects.count(), AuditRecord.objects.count()
    response = post_import(client, "residents", xlsx(RESIDENT_HEADERS_EN, rows))
    assert response.status_code == 200
    text = page_text(response)
    assert "Nothing was imported: 5 of 6 rows have problems" in text
    for expected in (
        "ID number: The ID number's check digit is wrong",
        "Phone: Enter an 11-digit mobile number",
        "Relation to house: choose owner, tenant",
        "Labels: unknown label 不存在的标签.",
        "House code: required.",
        "Name: required.",
        "ID number: required.",
        "Emergency contact phone: required when an emergency contact is named.",
        "Name: at most 50 characters.",
        "Emergency contact name: required when an emergency contact phone is given.",
        "Same resident and house as row 2.",
        "House code: a house code has 24 digits (dashes allowed).",
    ):
        assert expected in text, expected
    problem_rows = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', response.content.decode())]
    assert problem_rows == [3, 4, 5, 6, 7]
    assert Resident.objects.count() == residents
    assert AuditRecord.objects.count() == audit


def test_row_reasons_use_the_users_language(world, client_for):
    row = [world.houses["A1-1/101"].code, "张三", "123", "", "业主", "", "", "", ""]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_EN, [row]))
    assert "身份证号：" in page_text(response)  # zh-hans by default: the column is named in Chinese
    _english(world)
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, [row]))
    assert "ID number: An ID number has 17 digits" in page_text(response)


def test_import_valid_rows_skips_the_bad_ones(world, client_for):
    _english(world)
    rows = _good_residents(world) + [
        [world.houses["A1-1/102"].code, "错", "110101199001011234", "", "业主", "", "", "", ""]
    ]
    before_audit = AuditRecord.objects.count()
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, rows), skip_bad=True)
    text = page_text(response)
    assert "3 rows read, 2 created" in text and "1 bad row was skipped" in text
    assert '<td class="num">4</td>' in response.content.decode()
    assert Resident.objects.filter(id_number_hash=crypto.blind_index(new_id(2, "F"))).exists()
    assert not Resident.objects.filter(name="错").exists()
    summary = AuditRecord.objects.filter(seq__gt=before_audit).get(action="import")
    assert summary.after["created"] == 2 and summary.after["skipped"] == 1


def test_import_valid_rows_with_no_valid_row_writes_nothing(world, client_for):
    rows = [[world.houses["A1-1/102"].code, "错", "110101199001011234", "", "业主", "", "", "", ""]]
    client = client_for("community")
    audit = AuditRecord.objects.count()
    post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows), skip_bad=True)
    assert AuditRecord.objects.count() == audit


def test_out_of_scope_house_reads_exactly_like_an_unknown_one(world, client_for):
    _english(world)
    unknown = "120101001001001009" + "010101"
    rows = [
        [world.houses["B1-1/101"].code, "甲", new_id(6), "", "业主", "", "", "", ""],
        [world.houses["A2-1/101"].display_code, "乙", new_id(7), "", "业主", "", "", "", ""],
        [unknown, "丙", new_id(8), "", "业主", "", "", "", ""],
    ]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, rows))
    reasons = re.findall(r"<td>(.*?)</td>", response.content.decode())
    assert len(reasons) == 3 and len(set(reasons)) == 1
    assert "House code: not found or outside your area." in page_text(response)
    assert world.houses["B1-1/101"].building.name not in page_text(response).split("import-problems")[1]


def test_id_number_of_a_resident_outside_the_scope_is_refused_without_touching_them(world, client_for):
    outsider = world.residents["B1-1/101"]
    row = [world.houses["A1-1/101"].code, "冒名", outsider.id_number, "13700000000", "业主", "", "", "", ""]
    _english(world)
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, [row]), skip_bad=True)
    assert "A resident with this ID number is already registered in Linli." in page_text(response)
    outsider.refresh_from_db()
    assert outsider.name != "冒名" and outsider.phone != "13700000000"


def test_same_id_with_two_names_is_reported(world, client_for):
    _english(world)
    rows = [
        [world.houses["A1-1/101"].code, "甲", new_id(9), "", "业主", "", "", "", ""],
        [world.houses["A1-1/102"].code, "乙", new_id(9), "", "业主", "", "", "", ""],
    ]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, rows))
    assert "ID number: row 2 has this ID number with another name." in page_text(response)


def test_english_headers_and_words_are_accepted(world, client_for):
    _english(world)
    rows = [
        [
            world.houses["A1-1/101"].code,
            "Li Lei",
            new_id(10),
            "010-12345678",
            "Registered but living away",
            "",
            "party_member, Living alone",
            "",
            "",
        ]
    ]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_EN, rows))
    assert "1 created" in page_text(response)
    li = Resident.objects.get(name="Li Lei")
    assert li.occupancies.get().relation == "registered_away"
    assert li.labels.count() == 2


def test_long_numbers_stored_as_numbers_get_a_clear_reason(world, client_for):
    _english(world)
    row = [float(world.houses["A1-1/101"].code), "数字", float(new_id(11)[:15]), "", "业主", "", "", "", ""]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, [row]))
    assert "as a number and may have dropped digits" in page_text(response)


# -- houses -------------------------------------------------------------------------------------------------


def _house_rows(world) -> list[list]:
    grid = world.areas["A1-2"].code
    return [
        [grid, 5, "5号楼", "", 2, 301, "", "住宅", 88.5],
        [grid, 5, "5号楼", "", 2, 302, 3, "商业", ""],
        [world.areas["A1-1"].code, 1, "", "", 1, 101, 1, "办公", 60],  # the world's house A1-1/101: an update
    ]


def test_houses_import_creates_buildings_and_houses_and_updates_existing_ones(world, client_for):
    _english(world)
    before_audit = AuditRecord.objects.count()
    response = post_import(client_for("community"), "houses", xlsx(HOUSE_HEADERS_ZH, _house_rows(world)))
    assert "3 rows read, 2 created, 1 updated, 0 unchanged" in page_text(response)
    building = Building.objects.get(code=world.areas["A1-2"].code + "005")
    assert building.name == "5号楼" and building.houses.count() == 2
    house = House.objects.get(code=building.code + "020301")
    assert (house.floor, house.use, str(house.floor_area)) == (3, "residential", "88.50")
    assert House.objects.get(code=building.code + "020302").use == "commercial"
    existing = House.objects.get(pk=world.houses["A1-1/101"].pk)
    assert existing.use == "office" and str(existing.floor_area) == "60.00"
    new = AuditRecord.objects.filter(seq__gt=before_audit)
    assert new.filter(action="create", object_type="places.building").count() == 1
    assert new.filter(action="create", object_type="places.house").count() == 2
    assert new.filter(action="update", object_type="places.house").count() == 1
    assert new.get(action="import").object_type == "places.house"

    houses = House.objects.count()
    again = post_import(client_for("community"), "houses", xlsx(HOUSE_HEADERS_EN, _house_rows(world)))
    assert "3 rows read, 0 created, 0 updated, 3 unchanged" in page_text(again)
    assert House.objects.count() == houses


def test_houses_out_of_scope_grid_reads_like_an_unknown_one_and_nothing_is_written(world, client_for):
    _english(world)
    rows = _house_rows(world) + [
        [world.areas["B1-1"].code, 7, "", "", 1, 101, "", "", ""],
        ["120101001001009", 7, "", "", 1, 101, "", "", ""],
        [world.areas["A1-2"].code, 5, "", "", 2, 301, "", "", ""],
        [world.areas["A1-2"].code, 1000, "", world.estates["E2"].code, 100, 0, "", "仓库", "-3"],
    ]
    client = client_for("community")
    houses, audit = House.objects.count(), AuditRecord.objects.count()
    response = post_import(client, "houses", xlsx(HOUSE_HEADERS_ZH, rows))
    text = page_text(response)
    assert text.count("Grid code: not found or outside your area.") == 2
    assert "Same house as row 2." in text
    for expected in (
        "Building number: a whole number from 1 to 999.",
        "Unit: a whole number from 0 to 99.",
        "Room: a whole number from 1 to 9999.",
        "Use: choose residential, commercial",
        "Floor area: a positive number",
        "Estate code: not found or outside your area.",
    ):
        assert expected.replace("Floor area", "Floor area (m²)") in text, expected
    assert (House.objects.count(), AuditRecord.objects.count()) == (houses, audit)


def test_houses_estate_must_be_in_the_grids_community(world, client_for):
    from linli.testing.world import make_user

    editor = make_user("street_editor", "community", area=world.areas["A"], language="en")  # sees E1, A1 and A2
    client = client_for("community")
    client.force_login(editor)
    rows = [[world.areas["A2-1"].code, 8, "", world.estates["E1"].code, 1, 101, "", "", ""]]
    response = post_import(client, "houses", xlsx(HOUSE_HEADERS_ZH, rows))
    assert "Estate code: The estate belongs to another community." in page_text(response)
    rows = [[world.areas["A1-2"].code, 8, "", world.estates["E1"].code, 1, 101, "", "", ""]]
    response = post_import(client, "houses", xlsx(HOUSE_HEADERS_ZH, rows))
    assert "1 created" in page_text(response)
    assert Building.objects.get(code=world.areas["A1-2"].code + "008").estate == world.estates["E1"]


def test_house_code_column_of_an_export_is_checked(world, client_for):
    _english(world)
    header = ["房屋编码", *HOUSE_HEADERS_ZH]
    rows = [[world.houses["A1-1/102"].display_code, world.areas["A1-1"].code, 1, "", "", 1, 101, "", "", ""]]
    response = post_import(client_for("community"), "houses", xlsx(header, rows))
    assert "House code: does not match the grid, building, unit and room of this row" in page_text(response)


# -- permissions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["grid", "street", "property", "resident", "nobody", "auditor"])
def test_users_without_import_permission_get_403(world, client_for, username):
    client = client_for(username)
    for name in ("people:io", "people:io-template-residents", "people:io-template-houses"):
        assert client.get(reverse(name)).status_code == 403, name
    residents = Resident.objects.count()
    rows = _good_residents(world)
    assert post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows)).status_code == 403
    assert post_import(client, "houses", xlsx(HOUSE_HEADERS_ZH, _house_rows(world))).status_code == 403
    assert Resident.objects.count() == residents


def test_anonymous_users_are_sent_to_login(db):
    from django.test import Client

    response = Client().get(reverse("people:io"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_page_shows_both_upload_forms(world, client_for):
    response = client_for("community").get(reverse("people:io"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="residents-file"' in body and 'name="houses-file"' in body
    assert 'name="residents-skip_bad"' in body
    assert reverse("people:io-template-residents") in body and reverse("people:io-export-houses") in body


def test_get_on_an_import_url_goes_back_to_the_page(world, client_for):
    response = client_for("community").get(reverse("people:io-import-residents"))
    assert response.status_code == 302 and response["Location"] == reverse("people:io")


@pytest.mark.parametrize("skip_bad", [False, True])
def test_a_row_refused_by_the_services_while_writing(world, client_for, monkeypatch, skip_bad):
    _english(world)
    """Rows pass the checks but the service refuses one: all or nothing, or that row alone is skipped."""
    from django.core.exceptions import ValidationError

    from linli.people import services

    real = services.save_resident

    def refuse_zhao(actor, resident=None, **kw):
        if kw.get("name") == "赵六":
            raise ValidationError({"phone": ["refused by the service"]})
        return real(actor, resident, **kw)

    monkeypatch.setattr(services, "save_resident", refuse_zhao)
    rows = [*_good_residents(world), [world.houses["A1-1/102"].code, "钱七", new_id(12), "", "业主", "", "", "", ""]]
    client = client_for("community")
    residents, audit = Resident.objects.count(), AuditRecord.objects.count()
    text = page_text(post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows), skip_bad=skip_bad))
    assert "Phone: refused by the service" in text
    if skip_bad:
        assert Resident.objects.count() == residents + 2 and "1 bad row was skipped" in text
        assert not Resident.objects.filter(name="赵六").exists()
    else:
        assert (Resident.objects.count(), AuditRecord.objects.count()) == (residents, audit)
        assert "Nothing was imported" in text
