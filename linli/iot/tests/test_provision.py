"""Bulk provisioning from .xlsx: template, good and bad files, all-or-nothing, re-import, one-time secrets."""

from __future__ import annotations

from io import BytesIO

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from linli.iot import credentials
from linli.iot.models import Device
from linli.iot.provision import DEVICE_COLUMNS

pytestmark = pytest.mark.django_db
HEADERS = [col.en for col in DEVICE_COLUMNS]


@pytest.fixture(autouse=True)
def _english(world):
    type(world.users["admin"]).objects.update(language="en")


def _xlsx(rows: list[list], headers: list[str] = HEADERS) -> SimpleUploadedFile:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = BytesIO()
    wb.save(out)
    return SimpleUploadedFile("devices.xlsx", out.getvalue())


def _row(code, kind, house="", grid="", resident="", gateway="", location="", installed="") -> list:
    return [code, kind, "", house, grid, resident, gateway, location, installed]


def _import(client, upload, skip_bad=False):
    data = {"devices-file": upload}
    if skip_bad:
        data["devices-skip_bad"] = "on"
    return client.post(reverse("iot:provision-import"), data)


def test_template_downloads_with_both_header_languages(world, client_for):
    r = client_for("admin").get(reverse("iot:provision-template"))
    assert r.status_code == 200
    wb = openpyxl.load_workbook(BytesIO(r.content))
    headers = [c.value for c in wb.worksheets[0][1]]
    assert headers[0].startswith("Device code")
    assert client_for("community").get(reverse("iot:provision-template")).status_code == 403


def test_good_file_creates_devices_and_secrets_once(world, client_for):
    c = client_for("admin")
    house = world.houses["A1-1/101"]
    resident = world.residents["A1-1/101"]
    upload = _xlsx(
        [
            _row("SMK-1", "烟感", house=house.code, gateway="GW-9", location="厨房"),
            _row("GW-9", "Gateway", house=house.code),
            _row("CB-1", "call_button", house=house.code, resident=resident.name, installed="2026-03-01"),
            _row("CAM-1", "AI camera", grid=world.areas["A1-1"].code),
        ]
    )
    r = _import(c, upload)
    body = r.content.decode()
    assert r.status_code == 200 and "4 created" in body, body[body.find("import-report") :][:800]
    smoke = Device.objects.get(code="SMK-1")
    assert smoke.gateway.code == "GW-9" and smoke.location == "厨房" and smoke.house == house
    assert Device.objects.get(code="CB-1").resident == resident
    assert Device.objects.get(code="CAM-1").house is None
    ticket = body.split("/devices/provision/secrets/")[1].split(".xlsx")[0]
    got = c.get(reverse("iot:provision-secrets", args=[ticket]))
    assert got.status_code == 200
    rows = list(openpyxl.load_workbook(BytesIO(got.content)).worksheets[0].iter_rows(min_row=2, values_only=True))
    secrets = dict(rows)
    assert set(secrets) == {"SMK-1", "GW-9", "CB-1", "CAM-1"}
    assert credentials.check_secret(smoke, secrets["SMK-1"])
    # once only
    assert c.get(reverse("iot:provision-secrets", args=[ticket])).status_code == 404
    # re-import updates by code and issues no new secrets
    again = _import(c, _xlsx([_row("SMK-1", "smoke", house=house.code, location="客厅")]))
    assert "1 updated" in again.content.decode() and "provision/secrets" not in again.content.decode()
    smoke.refresh_from_db()
    assert smoke.location == "客厅" and credentials.check_secret(smoke, secrets["SMK-1"])


def test_bad_rows_nothing_written_unless_skip(world, client_for):
    c = client_for("admin")
    house = world.houses["A1-1/101"]
    rows = [
        _row("OK-1", "smoke", house=house.code),
        _row("bad code", "smoke", house=house.code),
        _row("OK-2", "toaster", house=house.code),
        _row("OK-3", "smoke", house="999999999999999999999999"),
        _row("OK-4", "smoke"),
        _row("OK-5", "smoke", house=house.code, gateway="NO-GW"),
        _row("OK-6", "smoke", house=house.code, resident="Nobody"),
        _row("OK-1", "gas", house=house.code),
        _row("OK-7", "smoke", house=house.code, installed="soon"),
    ]
    r = _import(c, _xlsx(rows))
    body = r.content.decode()
    assert "Nothing was imported" in body
    for number in range(3, 11):
        assert f'<td class="num">{number}</td>' in body
    assert 'td class="num">2<' not in body
    assert not Device.objects.exists()
    r = _import(c, _xlsx(rows), skip_bad=True)
    assert "1 created" in r.content.decode()
    assert list(Device.objects.values_list("code", flat=True)) == ["OK-1"]


def test_scope_out_of_area_rows_refused(world, client_for):
    c = client_for("property")
    r = _import(c, _xlsx([_row("P-1", "smoke", house=world.houses["B1-1/101"].code)]))
    assert "Nothing was imported" in r.content.decode() and not Device.objects.exists()


def test_broken_and_oversized_files(world, client_for):
    c = client_for("admin")
    r = _import(c, SimpleUploadedFile("devices.xlsx", b"code,kind\nX,smoke\n"))
    assert "not an Excel .xlsx workbook" in r.content.decode()
    r = _import(c, _xlsx([_row("A", "smoke")], headers=["Device code", "Colour"]))
    assert "Unknown columns" in r.content.decode() or "Missing columns" in r.content.decode()
    with override_settings(MAX_UPLOAD_BYTES=1000):
        r = _import(c, SimpleUploadedFile("devices.xlsx", b"PK\x03\x04" + b"0" * 200_000))
    assert r.status_code == 413 and "larger than" in r.content.decode()
    assert not Device.objects.exists()
