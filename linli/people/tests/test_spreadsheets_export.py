"""Templates to download, and exports within scope, masked unless the user may and says why."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from linli.accounts.models import User
from linli.core.idnumber import parse_id_number
from linli.core.models import AuditRecord
from linli.people.spreadsheets import export
from linli.people.tests.files.spreadsheets import (
    HOUSE_HEADERS_EN,
    HOUSE_HEADERS_ZH,
    RESIDENT_HEADERS_EN,
    RESIDENT_HEADERS_ZH,
    downloaded,
    page_text,
    post_import,
    sheet_rows,
)

pytestmark = pytest.mark.django_db


def _english(world, name: str = "community") -> None:
    User.objects.filter(pk=world.users[name].pk).update(language="en")


# -- templates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "residents", "houses"),
    [
        ("zh-hans", RESIDENT_HEADERS_ZH, HOUSE_HEADERS_ZH),
        ("en", RESIDENT_HEADERS_EN, HOUSE_HEADERS_EN),
    ],
)
def test_templates_have_headers_in_the_users_language(world, client_for, language, residents, houses):
    User.objects.filter(pk=world.users["community"].pk).update(language=language)
    client = client_for("community")
    for name, headers in (("people:io-template-residents", residents), ("people:io-template-houses", houses)):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in response["Content-Disposition"]
        wb = openpyxl.load_workbook(io.BytesIO(response.content))
        assert len(wb.worksheets) == 2
        assert [c.value for c in wb.worksheets[0][1]] == headers
        assert wb.worksheets[0].max_row == 1  # no data: the example lives on the instructions sheet
        instructions = sheet_rows(response.content, 1)
        at = instructions.index(tuple(headers))
        assert any(v not in (None, "") for v in instructions[at + 1])


def test_resident_template_has_drop_down_relations_and_a_valid_example(world, client_for):
    response = client_for("community").get(reverse("people:io-template-residents"))
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    lists = [dv.formula1 for dv in wb.worksheets[0].data_validations.dataValidation if dv.type == "list"]
    assert lists == ['"业主,租户,居住,人户分离"']
    example = sheet_rows(response.content, 1)[-1]
    parse_id_number(example[2])  # the example ID number is checksum-valid
    assert wb.worksheets[0].column_dimensions["C"].number_format == "@"  # ID numbers stay text


def test_house_template_validates_numbers_and_use(world, client_for):
    _english(world)
    response = client_for("community").get(reverse("people:io-template-houses"))
    validations = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0].data_validations.dataValidation
    assert '"Residential,Commercial,Office,Other"' in [dv.formula1 for dv in validations]
    assert {(dv.formula1, dv.formula2) for dv in validations if dv.type == "whole"} == {
        ("1", "999"),
        ("0", "99"),
        ("1", "9999"),
    }


def test_a_filled_in_template_imports(world, client_for):
    _english(world)
    client = client_for("community")
    wb = openpyxl.load_workbook(io.BytesIO(client.get(reverse("people:io-template-residents")).content))
    example = list(sheet_rows(client.get(reverse("people:io-template-residents")).content, 1)[-1])
    example[0] = world.houses["A1-1/102"].display_code
    wb.worksheets[0].append(example)
    out = io.BytesIO()
    wb.save(out)
    response = post_import(client, "residents", out.getvalue())
    assert "1 rows read, 1 created" in page_text(response)


# -- exports ------------------------------------------------------------------------------------------------


def _export_residents(client, query: str = "", **post):
    url = reverse("people:io-export-residents") + query
    return client.post(url, post) if post else client.get(url)


def _all_cells(content: bytes) -> str:
    return "\n".join(str(v) for row in sheet_rows(content) for v in row if v is not None)


def test_grid_worker_exports_only_their_grid_masked_and_audited(world, client_for):
    client = client_for("grid")
    before = AuditRecord.objects.count()
    response = _export_residents(client)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = downloaded(response)
    rows = sheet_rows(content)
    assert list(rows[0]) == RESIDENT_HEADERS_ZH
    names = sorted(row[1] for row in rows[1:])
    assert names == ["居民A1-1-101", "居民A1-1-102"]
    cells = _all_cells(content)
    for resident in world.residents.values():
        assert resident.id_number not in cells and resident.phone not in cells
    assert world.residents["A1-1/101"].id_number_masked in cells
    record = AuditRecord.objects.filter(seq__gt=before).get(action="export")
    assert record.username == "grid" and record.object_type == "people.resident"
    assert record.after == {"format": "xlsx", "rows": 2, "masked": True, "filters": {}}


def test_full_numbers_need_the_export_permission(world, client_for):
    assert not world.users["grid"].has_linli_perm("people.export")
    client = client_for("grid")
    before = AuditRecord.objects.count()
    assert _export_residents(client, "?unmasked=1").status_code == 403
    assert _export_residents(client, unmasked="on", purpose="走访核对信息").status_code == 403
    assert not AuditRecord.objects.filter(seq__gt=before, action="export").exists()
    assert client.get(reverse("people:io-export-residents")).status_code == 200  # masked is fine


def test_unmasked_export_needs_a_purpose(world, client_for):
    client = client_for("community")
    assert "spreadsheetml" in client.get(reverse("people:io-export-residents"))["Content-Type"]  # masked at once
    before = AuditRecord.objects.count()
    page = client.get(reverse("people:io-export-residents") + "?unmasked=1")
    assert 'name="purpose"' in page.content.decode() and 'name="unmasked"' in page.content.decode()
    response = _export_residents(client, unmasked="on", purpose="")
    assert response.status_code == 200 and "text/html" in response["Content-Type"]
    assert 'role="alert"' in response.content.decode()
    assert not AuditRecord.objects.filter(seq__gt=before, action="export").exists()

    response = _export_residents(client, f"?grid={world.areas['A1-2'].pk}", unmasked="on", purpose="民政核查低保")
    cells = _all_cells(downloaded(response))
    assert world.residents["A1-2/101"].id_number in cells and world.residents["A1-2/101"].phone in cells
    assert world.residents["A1-1/101"].name not in cells  # the grid filter holds
    record = AuditRecord.objects.filter(seq__gt=before).get(action="export")
    assert record.purpose == "民政核查低保"
    assert record.after["masked"] is False and record.after["rows"] == 2
    assert record.after["filters"] == {"grid": str(world.areas["A1-2"].pk)}


@pytest.mark.parametrize("query", ["?grid={B1-1}", "?community={B1}", "?grid=120101002001001", "?grid=abc"])
def test_out_of_scope_filters_return_no_rows(world, client_for, query):
    query = query.format(**{"B1-1": world.areas["B1-1"].pk, "B1": world.areas["B1"].pk})
    for username in ("grid", "community"):
        client = client_for(username)
        assert sheet_rows(downloaded(_export_residents(client, query)))[1:] == []
        houses = client.get(reverse("people:io-export-houses") + query)
        assert sheet_rows(downloaded(houses))[1:] == []


def test_label_and_text_filters(world, client_for):
    client = client_for("community")
    rows = sheet_rows(downloaded(_export_residents(client, "?label=living_alone")))[1:]
    assert sorted(r[1] for r in rows) == ["居民A1-1-101", "居民A1-2-101"]
    rows = sheet_rows(downloaded(_export_residents(client, "?q=A1-2-102")))[1:]
    assert [r[1] for r in rows] == ["居民A1-2-102"]
    phone = world.residents["A1-1/102"].phone
    rows = sheet_rows(downloaded(_export_residents(client, f"?q={phone}")))[1:]
    assert [r[1] for r in rows] == ["居民A1-1-102"]


def test_users_without_people_view_cannot_export(world, client_for):
    for username in ("nobody", "admin", "auditor"):
        assert _export_residents(client_for(username)).status_code == 403
    assert client_for("nobody").get(reverse("people:io-export-houses")).status_code == 403


def test_house_export_is_scoped_and_audited(world, client_for):
    client = client_for("grid")
    before = AuditRecord.objects.count()
    response = client.get(reverse("people:io-export-houses"))
    rows = sheet_rows(downloaded(response))
    assert list(rows[0]) == ["房屋编码", *HOUSE_HEADERS_ZH]
    assert sorted(r[0] for r in rows[1:]) == sorted(world.houses[k].display_code for k in ("A1-1/101", "A1-1/102"))
    record = AuditRecord.objects.filter(seq__gt=before).get(action="export")
    assert record.object_type == "places.house" and record.after["rows"] == 2


def test_export_is_capped_with_a_clear_message(world, client_for, monkeypatch):
    monkeypatch.setattr(export, "MAX_EXPORT_ROWS", 1)
    client = client_for("community")
    before = AuditRecord.objects.count()
    response = _export_residents(client)
    assert "text/html" in response["Content-Type"] and 'id="export-error"' in response.content.decode()
    response = client.get(reverse("people:io-export-houses"))
    assert 'id="export-error"' in response.content.decode()
    assert not AuditRecord.objects.filter(seq__gt=before, action="export").exists()


def test_an_unmasked_export_imports_back_unchanged(world, client_for):
    _english(world)
    client = client_for("community")
    residents = _export_residents(client, unmasked="on", purpose="年度数据核对")
    response = post_import(client, "residents", downloaded(residents))
    assert "4 rows read, 0 created, 0 updated, 4 unchanged" in page_text(response)
    houses = client.get(reverse("people:io-export-houses"))
    response = post_import(client, "houses", downloaded(houses))
    assert "4 rows read, 0 created, 0 updated, 4 unchanged" in page_text(response)


def test_a_masked_export_cannot_be_imported_by_mistake(world, client_for):
    _english(world)
    client = client_for("community")
    response = post_import(client, "residents", downloaded(_export_residents(client)))
    assert "Nothing was imported: 4 of 4 rows have problems" in page_text(response)


def test_big_exports_stream_from_disk(world, client_for, monkeypatch):
    from linli.people import views_spreadsheets

    monkeypatch.setattr(views_spreadsheets, "IN_ONE_PIECE_BYTES", 0)
    response = _export_residents(client_for("grid"))
    assert response.streaming and "attachment" in response["Content-Disposition"]
    assert len(sheet_rows(downloaded(response))) == 3
