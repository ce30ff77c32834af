"""The device pages as people read them: labelled values with units, readable readings and rule parameters,
the 24-hour chart, time ago, the house picker, masked names for roles without reveal, rejected-message labels,
phone cards, and the navigation matching what each view allows."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from linli.accounts.models import User
from linli.iot import display, provision
from linli.iot.ingest import Message, ingest
from linli.iot.models import Device, DeviceKind, RejectedMessage
from linli.iot.tests.conftest import ms, msg
from linli.web.nav import nav_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(world):
    User.objects.update(language="en")


def _device(world, code="BR-A1", kind=DeviceKind.BRACELET, house="A1-1/101", **kw) -> Device:
    return provision.create_device(
        None, code=code, kind=kind, house=world.houses[house], resident=world.residents.get(house), **kw
    )


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


# -- device detail ---------------------------------------------------------------------------------------


def test_detail_shows_labelled_values_readable_readings_and_rule_parameters(world, client_for):
    d = _device(world)
    now = timezone.now()
    for i, (rate, battery) in enumerate([(70, 88), (72, 87), (75, 86)]):
        at = now - dt.timedelta(minutes=30 - i * 10)
        values = {"heart_rate": rate, "battery": battery, "steps": 1200 + i, "lat": 39.125, "lng": 117.205}
        ingest([msg("telemetry", d.code, {"msg_id": f"t{i}", "ts": ms(at), "values": values}, at=at)])
    ingest([msg("event", d.code, {"msg_id": "e1", "ts": ms(now), "event": "sos", "data": {}})])
    # a reading older than a day is listed but not charted
    old = now - dt.timedelta(hours=30)
    ingest([msg("telemetry", d.code, {"msg_id": "old", "ts": ms(old), "values": {"heart_rate": 150}}, at=old)])

    r = client_for("community").get(reverse("iot:device-detail", args=[d.pk]))
    assert r.status_code == 200
    text = _text(r)
    # the status block: labels and units, never the raw keys
    status = re.search(r'id="device-status">(.*?)</dl>', r.content.decode(), re.S)[1]
    assert "Heart rate" in status and "75 bpm" in status and "Steps" in status and "1,202" in status
    assert not re.search(r">\s*(heart_rate|steps|lat|lng|battery)\s*<", status)
    assert "Position" in status and "39.12500, 117.20500" in status
    # readings as a list, events by name
    assert "Event: SOS call" in text and "event=sos" not in text and "data={}" not in text
    # rule parameters labelled, with the measured value's unit
    assert "Alarm above 140 bpm" in text and "Held for 60 s" in text and '{"value": "heart_rate"' not in text
    # the chart: the last 24 hours only, from data the page embeds
    chart = json.loads(re.search(r'id="device-chart-data"[^>]*>(.*?)</script>', r.content.decode(), re.S)[1])
    series = {s["key"]: s for s in chart["series"]}
    assert [p[1] for p in series["heart_rate"]["points"]] == [70, 72, 75]
    assert series["heart_rate"]["unit"] == "bpm" and series["battery"]["unit"] == "%"
    assert "vendor/echarts.min.js" in r.content.decode()
    # the map point for the small map
    point = json.loads(re.search(r'id="device-point"[^>]*>(.*?)</script>', r.content.decode(), re.S)[1])
    assert (point["lat"], point["lng"]) == (39.125, 117.205) and point["boundary"]
    # phone cards for the rules
    assert 'id="device-rule-cards"' in r.content.decode()


def test_detail_without_readings_has_no_chart_and_is_scoped(world, client_for):
    d = _device(world, "CB-A1", kind=DeviceKind.CALL_BUTTON)
    r = client_for("community").get(reverse("iot:device-detail", args=[d.pk]))
    assert r.status_code == 200 and "device-chart-data" not in r.content.decode()
    assert "device-point" not in r.content.decode()
    assert client_for("community_b").get(reverse("iot:device-detail", args=[d.pk])).status_code == 404
    assert client_for("grid").get(reverse("iot:device-detail", args=[d.pk])).status_code == 403


@translation.override("en")
def test_unknown_values_are_shown_raw_not_dropped():
    items = display.labelled({"humidity": 55, "heart_rate": 61, "_rules": {"x": 1}})
    assert [(i["label"], i["text"]) for i in items] == [("Heart rate", "61 bpm"), ("humidity", "55")]
    assert display.reading({"event": "doorbell", "data": {"level": 2}})["event"] == "doorbell"
    assert display.rule_params("offline", {"minutes": 30, "odd": [1]}) == [
        {"label": "No message for", "text": "30 min", "key": "minutes"},
        {"label": "odd", "text": "[1]", "key": "odd"},
    ]


# -- time ago --------------------------------------------------------------------------------------------


def test_last_seen_reads_now_or_the_largest_unit_ago(world, client_for):
    now = timezone.now()
    fresh = _device(world, "BR-NOW")
    stale = _device(world, "BR-OLD", house="A1-1/102")
    Device.objects.filter(pk=fresh.pk).update(last_seen_at=now - dt.timedelta(seconds=20), online=True)
    Device.objects.filter(pk=stale.pk).update(last_seen_at=now - dt.timedelta(hours=16, minutes=10))
    text = _text(client_for("community").get(reverse("iot:device-list")))
    assert "now" in text and "16 hours ago" in text
    assert "0 minutes" not in text and "16 hours, 10 minutes" not in text
    assert display.ago(None) == ""


# -- phone cards -----------------------------------------------------------------------------------------


def test_list_has_cards_with_status_and_battery(world, client_for):
    d = _device(world)
    Device.objects.filter(pk=d.pk).update(battery=12, online=True)
    body = client_for("community").get(reverse("iot:device-list")).content.decode()
    cards = re.search(r'<ul class="dev-cards" id="device-cards">(.*?)</ul>', body, re.S)[1]
    assert "BR-A1" in cards and "online" in cards and "12 %" in cards and "tag care" in cards
    assert 'class="table-wrap dev-table"' in body


# -- the device form -------------------------------------------------------------------------------------


def test_form_labels_the_device_name_and_offers_the_house_picker(world, client_for):
    body = client_for("admin").get(reverse("iot:device-create")).content.decode()
    assert '<label for="id_name">Device name</label>' in body
    assert "data-house-picker" in body and reverse("iot:house-lookup") in body


def test_house_lookup_by_address_words_or_code_within_scope(world, client_for):
    url = reverse("iot:house-lookup")
    prop = client_for("property")  # estate E1 = grid A1-1
    found = prop.get(url, {"q": "新华里 1-101"}).json()["results"]
    assert [h["code"] for h in found] == [world.houses["A1-1/101"].code]
    assert found[0]["label"].startswith("新华里小区 1号楼") and found[0]["display_code"].count("-") == 4
    both = sorted([world.houses["A1-1/101"].code, world.houses["A1-1/102"].code])
    for typed in ("1号楼", "新华里小区 1-", "1-10", "10"):
        assert sorted(h["code"] for h in prop.get(url, {"q": typed}).json()["results"]) == both, typed
    assert prop.get(url, {"q": "1-99999999"}).json() == {"results": []}
    # a whole code or its first 12+ digits, dashes allowed; another estate's house is never found
    theirs = world.houses["B1-1/101"]
    assert prop.get(url, {"q": theirs.code}).json()["results"] == []
    assert client_for("admin").get(url, {"q": theirs.display_code}).json()["results"][0]["code"] == theirs.code
    # bad input
    assert prop.get(url, {"q": ""}).json() == {"results": []}
    assert prop.get(url, {"q": "%' OR 1=1 --"}).json() == {"results": []}
    assert prop.get(url, {"q": "x" * 500}).status_code == 200
    assert prop.get(url, {"q": "²-1"}).json() == {"results": []}  # a digit to str.isdigit, not to int()
    # only for people who register devices
    assert client_for("community").get(url, {"q": "1号楼"}).status_code == 403
    assert Client().get(url, {"q": "1号楼"}).status_code == 302


# -- masked names ----------------------------------------------------------------------------------------


def test_property_sees_residents_masked_and_keeps_the_binding_on_edit(world, client_for):
    d = _device(world)
    name = world.residents["A1-1/101"].name
    masked = name[0] + "*" * (len(name) - 1)
    prop = client_for("property")
    listing = prop.get(reverse("iot:device-list")).content.decode()
    assert "BR-A1" in listing and name not in listing and masked in listing
    detail = prop.get(reverse("iot:device-detail", args=[d.pk])).content.decode()
    assert name not in detail and masked in detail
    form = prop.get(reverse("iot:device-edit", args=[d.pk])).content.decode()
    assert name not in form and masked in form
    edit = reverse("iot:device-edit", args=[d.pk])
    fields = {"kind": "bracelet", "name": "Wrist", "house_code": d.house.code, "resident": masked}
    assert prop.post(edit, fields).status_code == 302  # the masked name sent back keeps the binding
    d.refresh_from_db()
    assert d.resident == world.residents["A1-1/101"] and d.name == "Wrist"
    r = prop.post(edit, {**fields, "resident": "nobody here"})
    assert r.status_code == 200 and "No resident with this name" in r.content.decode()
    assert prop.post(edit, {**fields, "resident": ""}).status_code == 302
    d.refresh_from_db()
    assert d.resident is None
    assert prop.post(edit, {**fields, "resident": name}).status_code == 302  # who knows the name may bind
    d.refresh_from_db()
    assert d.resident == world.residents["A1-1/101"]
    # the system administrator may not reveal personal data either (三员分立); a community worker may
    assert name not in client_for("admin").get(reverse("iot:device-list")).content.decode()
    assert name in client_for("community").get(reverse("iot:device-list")).content.decode()


# -- navigation ------------------------------------------------------------------------------------------


def test_menu_offers_only_the_device_pages_each_role_can_open(world, client_for):
    for who in ("admin", "property", "community", "dispatcher", "grid"):
        user = world.users[who]
        client = client_for(who)
        for item in nav_for(user):
            if item["name"].startswith("iot:"):
                assert client.get(item["url"]).status_code == 200, (who, item["name"])
    names = {who: {i["name"] for i in nav_for(world.users[who])} for who in ("admin", "property", "community")}
    assert {"iot:device-list", "iot:rules", "iot:rejected"} <= names["admin"]
    assert "iot:rejected" not in names["property"] and "iot:rules" in names["property"]
    assert names["community"] & {"iot:rules", "iot:rejected"} == set()


# -- rejected messages -----------------------------------------------------------------------------------


def _bad(code: str, payload, kind: str = "telemetry") -> Message:
    return msg(kind, code, payload)


def test_rejected_page_labels_reasons_and_translates_details(world, client_for, iot):
    now = ms(timezone.now())
    ingest(
        [
            _bad("BR-1", {"msg_id": "a", "ts": now, "values": {}, "battery": 3}),
            _bad("BR-1", b"{oops"),
            _bad("BR-1", {"ts": now, "values": {}}),
            _bad("BR-1", {"msg_id": "b", "ts": now, "values": {"battery": 300}}),
            _bad("NOPE", {"msg_id": "c", "ts": now, "values": {}}),
        ]
    )
    stored = dict(RejectedMessage.objects.values_list("reason", "detail"))
    # the data keeps codes: the page translates them
    assert stored["bad_shape"] == "unknown_keys: battery"
    assert stored["bad_json"] == "json_at: 1:2"
    assert stored["bad_msg_id"] == "missing: msg_id"
    assert stored["bad_values"] == "out_of_range: battery"
    assert stored["unknown_device"] == ""
    RejectedMessage.objects.create(
        received_at=timezone.now(), source="x", reason="error", detail="ValueError('boom')", payload=""
    )
    r = client_for("admin").get(reverse("iot:rejected"))
    text = _text(r)
    for label in ("Wrong shape", "Not JSON", "Bad message id", "Bad values", "Unknown device", "Processing error"):
        assert label in text
    assert "bad_shape" in text  # the code stays visible beside its label
    for detail in (
        "keys the contract does not have: battery",
        "error at line 1, column 2",
        "msg_id is missing",
        "battery is out of range",
        "ValueError('boom')",
    ):
        assert detail in text
    assert "unknown keys:" not in text
    assert 'id="rejected-cards"' in r.content.decode()
    # in Chinese the labels come from the catalogue, not the codes alone
    User.objects.filter(pk=world.users["admin"].pk).update(language="zh-hans")
    zh = _text(client_for("admin").get(reverse("iot:rejected")))
    assert "消息不符合接入规范的格式" in zh
    # out of scope
    assert client_for("property").get(reverse("iot:rejected")).status_code == 403
    assert client_for("community").get(reverse("iot:rejected")).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "devices/CB-1/events",
        "devices/CB-1/telemetry",
        "devices/CB-1/status",
        "gateways/GW-1/events",
        "devices/NO/events",
    ],
)
def test_wrong_secret_gets_the_json_error_with_a_body(iot, path):
    r = Client().post(
        f"/api/v1/{path}",
        data=json.dumps({"msg_id": "x", "ts": ms(timezone.now()), "event": "sos"}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Device wrong-secret",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 401 and r["Content-Type"].startswith("application/json") and r.content
    error = r.json()["error"]
    assert error["code"] == "not_authenticated" and "Device" in error["message"] and error["fields"] == {}


def test_bad_payload_fields_name_the_detail(iot):
    r = Client().post(
        "/api/v1/devices/BR-1/telemetry",
        data=json.dumps([{"msg_id": "x", "ts": ms(timezone.now()), "values": {}, "steps": 1}]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {iot.secrets['BR-1']}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    assert r.json()["error"]["fields"]["0"][1] == "keys the contract does not have: steps"
