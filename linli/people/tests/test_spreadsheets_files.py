"""Broken uploads get a clear message, never a 500, and nothing is written."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.test import override_settings

from linli.core.models import AuditRecord
from linli.people.models import Resident
from linli.people.spreadsheets import reader
from linli.people.tests.files.spreadsheets import RESIDENT_HEADERS_ZH, new_id, page_text, post_import, xlsx
from linli.places.models import House


def _english(world, name: str = "community") -> None:
    from linli.accounts.models import User

    User.objects.filter(pk=world.users[name].pk).update(language="en")


pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _good(world) -> bytes:
    return xlsx(RESIDENT_HEADERS_ZH, [[world.houses["A1-1/101"].code, "王五", new_id(1), "", "业主", "", "", "", ""]])


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    return out.getvalue()


def _empty_workbook() -> bytes:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


def _with_formula(world) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(RESIDENT_HEADERS_ZH)
    ws.append([world.houses["A1-1/101"].code, "王五", '=CONCATENATE("1201","01")', "", "业主"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


CASES = {
    "csv renamed": (lambda w: "房屋编码,姓名\n1,2\n".encode(), "not an Excel .xlsx workbook"),
    "png renamed": (lambda w: PNG, "not an Excel .xlsx workbook"),
    "old xls": (lambda w: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "old-format .xls"),
    "truncated zip": (lambda w: _good(w)[:400], "The file is damaged"),
    "zip, not a workbook": (lambda w: _zip_without_workbook(), "not an Excel .xlsx workbook"),
    "empty file": (lambda w: b"", "empty"),
    "empty workbook": (lambda w: _empty_workbook(), "The workbook is empty"),
    "header only": (lambda w: xlsx(RESIDENT_HEADERS_ZH, []), "header row but no data rows"),
    "wrong headers": (
        lambda w: xlsx(["房屋编码", "姓名", "性别", "Shoe size"], [["1", "2", "3", "4"]]),
        "Missing columns: ID number, Relation to house. Unknown columns: 性别, Shoe size.",
    ),
    "formula": (_with_formula, "contains formulas (cells C2)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_files_get_a_clear_message_and_write_nothing(world, client_for, case):
    from linli.accounts.models import User

    User.objects.filter(pk=world.users["community"].pk).update(language="en")
    make, message = CASES[case]
    client = client_for("community")
    residents, audit = Resident.objects.count(), AuditRecord.objects.count()
    response = post_import(client, "residents", make(world))
    assert response.status_code == 200
    text = page_text(response)
    assert message in text, text[text.find("<main") :][:1500]
    assert 'role="alert"' in response.content.decode()
    assert (Resident.objects.count(), AuditRecord.objects.count()) == (residents, audit)


def test_unknown_columns_are_named(world, client_for):
    content = xlsx(
        [*RESIDENT_HEADERS_ZH, "Shoe size"],
        [[world.houses["A1-1/101"].code, "王五", new_id(1), "", "业主", "", "", "", "", "42"]],
    )
    text = page_text(post_import(client_for("community"), "residents", content))
    assert "Shoe size" in text and "Nothing was imported" not in text


def test_too_many_rows(world, client_for, monkeypatch):
    _english(world)
    monkeypatch.setattr(reader, "MAX_ROWS", 2)
    rows = [[world.houses["A1-1/101"].code, f"人{n}", new_id(n), "", "业主", "", "", "", ""] for n in (1, 2, 3)]
    client = client_for("community")
    residents = Resident.objects.count()
    text = page_text(post_import(client, "residents", xlsx(RESIDENT_HEADERS_ZH, rows)))
    assert "more than 2 rows" in text
    assert Resident.objects.count() == residents


def test_blank_rows_between_records_are_skipped_and_row_numbers_stay_true(world, client_for):
    rows = [
        [world.houses["A1-1/101"].code, "甲", new_id(1), "", "业主"],
        [],
        [],
        [world.houses["A1-1/101"].code, "乙", "bad", "", "业主"],
    ]
    response = post_import(client_for("community"), "residents", xlsx(RESIDENT_HEADERS_ZH, rows))
    assert '<td class="num">5</td>' in response.content.decode()


@override_settings(MAX_UPLOAD_BYTES=1000)
def test_oversized_upload_is_refused(world, client_for):
    _english(world)
    client = client_for("community")
    residents = Resident.objects.count()
    small_but_over = _good(world)  # a few KB: parsed, then refused by size
    assert len(small_but_over) > 1000
    response = post_import(client, "residents", small_but_over)
    assert response.status_code == 200 and "larger than" in page_text(response)
    huge = small_but_over + b"\x00" * 200_000  # refused from its Content-Length, before the body is read
    response = post_import(client, "residents", huge)
    assert response.status_code == 413 and "larger than" in page_text(response)
    assert Resident.objects.count() == residents


def test_broken_house_files_too(world, client_for):
    houses = House.objects.count()
    for content in (PNG, b"a,b\n1,2\n", _empty_workbook()):
        response = post_import(client_for("community"), "houses", content)
        assert response.status_code == 200 and 'id="import-error"' in response.content.decode()
    assert House.objects.count() == houses


def test_missing_file_is_a_form_error(world, client_for):
    from django.urls import reverse

    response = client_for("community").post(reverse("people:io-import-residents"), {})
    assert response.status_code == 200 and 'class="error"' in response.content.decode()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(world, client_for, monkeypatch):
    _english(world)
    monkeypatch.setattr(reader, "MAX_UNPACKED_BYTES", 1000)
    text = page_text(post_import(client_for("community"), "residents", _good(world)))
    assert "far too large once unpacked" in text
