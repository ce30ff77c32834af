"""The device registry pages: scope, forms' bad input, credentials shown once, rules editor, rejected page."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.core.models import AuditRecord
from linli.iot import credentials, provision
from linli.iot.models import Device, DeviceKind, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(world):
    """Pages in English, so the tests can read the messages (msgids are English)."""
    type(world.users["admin"]).objects.update(language="en")


def _device(world, code="CB-A1", kind=DeviceKind.CALL_BUTTON, house="A1-1/101", **kw) -> Device:
    return provision.create_device(
        None, code=code, kind=kind, house=world.houses[house], resident=world.residents.get(house), **kw
    )


def test_list_and_detail_are_scoped(world, client_for):
    a = _device(world, "CB-A1")
    b = _device(world, "CB-B1", house="B1-1/101")
    page = client_for("community").get(reverse("iot:device-list"))
    assert page.status_code == 200
    assert "CB-A1" in page.content.decode() and "CB-B1" not in page.content.decode()
    other = client_for("community_b")
    body = other.get(reverse("iot:device-list")).content.decode()
    assert "CB-A1" not in body and "CB-B1" in body
    assert other.get(reverse("iot:device-detail", args=[a.pk])).status_code == 404
    assert other.get(reverse("iot:device-detail", args=[b.pk])).status_code == 200
    # search by resident name finds only in-scope devices
    name = world.residents["A1-1/101"].name
    assert "CB-A1" in client_for("community").get(reverse("iot:device-list"), {"q": name}).content.decode()
    assert "CB-A1" not in other.get(reverse("iot:device-list"), {"q": name}).content.decode()
    # no iot.view at all
    assert client_for("grid").get(reverse("iot:device-list")).status_code == 403


def test_list_queries_do_not_grow_with_rows(world, client_for, django_assert_max_num_queries):
    for i, key in enumerate(["A1-1/101", "A1-1/102", "A1-2/101", "A2-1/101", "A2-1/102"]):
        _device(world, f"D-{i}", house=key)
    c = client_for("street")
    c.get(reverse("iot:device-list"))
    with django_assert_max_num_queries(10):
        body = c.get(reverse("iot:device-list")).content.decode()
    assert body.count('href="/devices/') >= 5


def test_list_filters_and_counts(world, client_for):
    _device(world, "CB-1")
    d = _device(world, "SMK-1", kind=DeviceKind.SMOKE)
    Device.objects.filter(pk=d.pk).update(online=True, battery=10)
    c = client_for("admin")
    body = c.get(reverse("iot:device-list"), {"online": "online"}).content.decode()
    assert "SMK-1" in body and "CB-1" not in body
    body = c.get(reverse("iot:device-list"), {"low_battery": "on"}).content.decode()
    assert "SMK-1" in body and "CB-1" not in body
    body = c.get(reverse("iot:device-list"), {"kind": "call_button"}).content.decode()
    assert "CB-1" in body and "SMK-1" not in body
    body = c.get(reverse("iot:device-list"), {"area": world.areas["B1-1"].pk}).content.decode()
    assert "CB-1" not in body


def test_create_form_good_and_bad_input(world, client_for):
    c = client_for("admin")
    url = reverse("iot:device-create")
    house = world.houses["A1-1/101"]
    bad = c.post(url, {"code": "bad code!", "kind": "smoke", "house_code": "123"})
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "letters, digits" in text and "No house with this code" in text
    assert not Device.objects.exists()
    bad = c.post(url, {"code": "S1", "kind": "smoke", "house_code": house.code, "resident": "Nobody Here"})
    assert "No resident with this name" in bad.content.decode()
    bad = c.post(url, {"code": "S1", "kind": "smoke", "house_code": house.code, "gateway_code": "GW-NONE"})
    assert "No gateway with this code" in bad.content.decode()
    bad = c.post(url, {"code": "S1", "kind": "smoke"})
    assert "Give the house" in bad.content.decode()
    assert not Device.objects.exists()
    resident = world.residents["A1-1/101"]
    ok = c.post(
        url, {"code": "S1", "kind": "smoke", "house_code": house.code, "resident": resident.name, "active": "on"}
    )
    assert ok.status_code == 302
    d = Device.objects.get(code="S1")
    assert d.house == house and d.resident == resident and d.grid_id == house.grid_id
    assert d.street_id == world.areas["A"].pk
    assert AuditRecord.objects.filter(object_type="iot.device", object_id=str(d.pk)).exists()
    dup = c.post(url, {"code": "S1", "kind": "smoke", "house_code": house.code})
    assert "already registered" in dup.content.decode()


def test_property_manages_only_its_estate(world, client_for):
    c = client_for("property")
    # A1-2 is outside estate E1: the house is not even visible to the property company
    other_house = world.houses["A1-2/101"]
    r = c.post(reverse("iot:device-create"), {"code": "P1", "kind": "smoke", "house_code": other_house.code})
    assert r.status_code == 200 and not Device.objects.filter(code="P1").exists()
    r = c.post(
        reverse("iot:device-create"), {"code": "P2", "kind": "smoke", "house_code": world.houses["A1-1/101"].code}
    )
    assert r.status_code == 302
    theirs = _device(world, "X-B", house="B1-1/101")
    assert c.get(reverse("iot:device-edit", args=[theirs.pk])).status_code == 404
    assert c.post(reverse("iot:device-credential", args=[theirs.pk])).status_code == 404
    assert client_for("community").get(reverse("iot:device-create")).status_code == 403


def test_edit_binds_gateway_and_keeps_code(world, client_for):
    gw = _device(world, "GW-1", kind=DeviceKind.GATEWAY)
    d = _device(world, "LEAK-1", kind=DeviceKind.LEAK)
    c = client_for("admin")
    r = c.post(
        reverse("iot:device-edit", args=[d.pk]),
        {"code": "CHANGED", "kind": "leak", "house_code": d.house.code, "gateway_code": "GW-1", "location": "bath"},
    )
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.code == "LEAK-1" and d.gateway == gw and d.location == "bath"
    detail = c.get(reverse("iot:device-detail", args=[gw.pk])).content.decode()
    assert "LEAK-1" in detail  # sub-devices
    # a gateway under a gateway is refused
    r = c.post(
        reverse("iot:device-edit", args=[gw.pk]),
        {"kind": "gateway", "house_code": gw.house.code, "gateway_code": "GW-1"},
    )
    assert r.status_code == 200 and "gateway" in r.content.decode()


def test_credential_shown_once_and_hash_stored(world, client_for):
    d = _device(world)
    c = client_for("admin")
    assert c.get(reverse("iot:device-credential", args=[d.pk])).status_code == 405
    r = c.post(reverse("iot:device-credential", args=[d.pk]))
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = r.content.decode()
    start = body.index('id="device-secret">') + len('id="device-secret">')
    secret = body[start : body.index("</code>", start)]
    d.refresh_from_db()
    assert secret and secret not in d.secret_hash and credentials.check_secret(d, secret)
    detail = c.get(reverse("iot:device-detail", args=[d.pk])).content.decode()
    assert secret not in detail
    # issuing again replaces the secret
    c.post(reverse("iot:device-credential", args=[d.pk]))
    d.refresh_from_db()
    assert not credentials.check_secret(d, secret)
    assert client_for("community").post(reverse("iot:device-credential", args=[d.pk])).status_code == 403


def _default_rule() -> Rule:
    from linli.iot import rules

    if hasattr(rules, "ensure_default_rules"):
        rules.ensure_default_rules()
    rule = Rule.objects.filter(device__isnull=True, kind="low_battery").first()
    if rule is None:
        rule = Rule.objects.create(
            device_kind="smoke", kind="low_battery", alarm_type="low_battery", severity="warning", params={"below": 20}
        )
    return rule


def test_rules_editor_validates(world, client_for):
    rule = _default_rule()
    c = client_for("admin")
    assert c.get(reverse("iot:rules")).status_code == 200
    url = reverse("iot:rule-edit", args=[rule.pk])
    r = c.post(url, {"severity": "warning", "params": "{not json", "enabled": "on"})
    assert "Not valid JSON" in r.content.decode()
    r = c.post(url, {"severity": "warning", "params": '{"below": 250}', "enabled": "on"})
    assert r.status_code == 200  # the rule engine refuses a battery level above 100
    rule.refresh_from_db()
    assert rule.params == {"below": 20} or rule.params.get("below") != 250
    r = c.post(url, {"severity": "minor", "params": '{"below": 15}', "enabled": "on"})
    assert r.status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"below": 15} and rule.severity == "minor"
    # a property worker may not edit defaults, but may override for their own device
    p = client_for("property")
    assert p.get(url).status_code == 403
    d = _device(world, "SMK-P", kind=DeviceKind.SMOKE)
    r = p.post(
        reverse("iot:rule-override"),
        {
            "device_code": "SMK-P",
            "kind": "low_battery",
            "alarm_type": "low_battery",
            "severity": "warning",
            "params": '{"below": 30}',
            "enabled": "on",
        },
    )
    assert r.status_code == 302
    assert Rule.objects.get(device=d).params == {"below": 30}
    out = _device(world, "SMK-B", kind=DeviceKind.SMOKE, house="B1-1/101")
    p.post(
        reverse("iot:rule-override"),
        {
            "device_code": "SMK-B",
            "kind": "low_battery",
            "alarm_type": "low_battery",
            "severity": "warning",
            "params": '{"below": 30}',
            "enabled": "on",
        },
    )
    assert not Rule.objects.filter(device=out).exists()


def test_rules_export_import(world, client_for):
    _default_rule()
    d = _device(world, "SMK-X", kind=DeviceKind.SMOKE)
    Rule.objects.create(
        device=d, device_kind="smoke", kind="low_battery", alarm_type="low_battery", params={"below": 30}
    )
    c = client_for("admin")
    r = c.get(reverse("iot:rules-export"))
    assert r.status_code == 200
    data = json.loads(r.content)
    assert any(row["device"] == "SMK-X" for row in data["rules"])
    for row in data["rules"]:
        if row["device"] == "SMK-X":
            row["params"] = {"below": 35}
    upload = SimpleUploadedFile("rules.json", json.dumps(data).encode(), content_type="application/json")
    r = c.post(reverse("iot:rules-import"), {"file": upload}, follow=True)
    assert r.status_code == 200 and "Rules imported" in r.content.decode()
    assert Rule.objects.get(device=d).params == {"below": 35}
    bad = {"format": "linli-rules", "version": 1, "rules": [{**data["rules"][0], "params": {"below": 500}}]}
    upload = SimpleUploadedFile("rules.json", json.dumps(bad).encode(), content_type="application/json")
    r = c.post(reverse("iot:rules-import"), {"file": upload}, follow=True)
    assert "row 1" in r.content.decode() and Rule.objects.get(device=d).params == {"below": 35}
    junk = SimpleUploadedFile("rules.json", b"\x00not json", content_type="application/json")
    r = c.post(reverse("iot:rules-import"), {"file": junk}, follow=True)
    assert "not a JSON rules export" in r.content.decode()
    assert client_for("property").get(reverse("iot:rules-export")).status_code == 403


def test_rejected_page_admin_only(world, client_for):
    from django.apps import apps

    model = apps.get_model("iot", "RejectedMessage")
    from django.utils import timezone

    model.objects.create(received_at=timezone.now(), source="http", device_code="NOPE", reason="unknown_device")
    r = client_for("admin").get(reverse("iot:rejected"))
    assert r.status_code == 200 and "unknown_device" in r.content.decode()
    assert client_for("property").get(reverse("iot:rejected")).status_code == 403


def test_only_platform_admins_change_life_safety_rules(world, client_for):
    # property maintains devices in its estates and may tune maintenance rules (battery, offline), but may not
    # switch off, weaken or remove the SOS rule of a resident's bracelet
    from linli.iot.rules import ensure_default_rules

    ensure_default_rules()
    type(world.users["property"]).objects.filter(pk=world.users["property"].pk).update(language="en")
    d = _device(world, "BR-P", kind=DeviceKind.BRACELET)
    p = client_for("property")
    sos = {
        "device_code": "BR-P",
        "kind": "event",
        "alarm_type": "sos",
        "severity": "critical",
        "params": '{"event": "sos"}',
    }
    r = p.post(reverse("iot:rule-override"), sos, follow=True)  # "enabled" left out: switched off
    assert "Only platform administrators change life-safety rules" in r.content.decode()
    assert not Rule.objects.filter(device=d).exists()
    battery = {**sos, "kind": "low_battery", "alarm_type": "low_battery", "severity": "warning", "enabled": "on"}
    assert p.post(reverse("iot:rule-override"), {**battery, "params": '{"below": 30}'}).status_code == 302
    assert Rule.objects.filter(device=d, alarm_type="low_battery").exists()
    # the administrator's override of the SOS rule stands; property can neither edit nor delete it
    a = client_for("admin")
    assert a.post(reverse("iot:rule-override"), {**sos, "enabled": "on"}).status_code == 302
    override = Rule.objects.get(device=d, alarm_type="sos")
    assert (
        p.post(
            reverse("iot:rule-edit", args=[override.pk]), {"severity": "minor", "params": '{"event": "sos"}'}
        ).status_code
        == 403
    )
    assert p.post(reverse("iot:rule-delete", args=[override.pk])).status_code == 403
    override.refresh_from_db()
    assert override.enabled and override.severity == "critical"


def test_edit_names_the_maintainer_from_the_units_in_scope(world, client_for):
    from linli.cases.models import HandlingUnit

    d = _device(world, "SMK-M", kind=DeviceKind.SMOKE)
    vendor = HandlingUnit.objects.create(code="vendor-a1", name="烟感厂家维保", kind="other", area=world.areas["A1"])
    away = HandlingUnit.objects.create(code="vendor-b1", name="外区维保", kind="other", area=world.areas["B1"])
    c = client_for("property")  # manages the devices of its estate in A1
    url = reverse("iot:device-edit", args=[d.pk])
    form = c.get(url).content.decode()
    assert "烟感厂家维保" in form and "外区维保" not in form  # only units in the user's area are offered
    base = {"kind": "smoke", "house_code": d.house.code}
    r = c.post(url, {**base, "maintainer": away.pk})
    assert r.status_code == 200  # a unit out of scope is not a valid choice
    d.refresh_from_db()
    assert d.maintainer_id is None
    assert c.post(url, {**base, "maintainer": vendor.pk}).status_code == 302
    d.refresh_from_db()
    assert d.maintainer == vendor
    assert "烟感厂家维保" in c.get(reverse("iot:device-detail", args=[d.pk])).content.decode()
    assert c.post(url, base).status_code == 302  # left empty: back to the property company of the estate
    d.refresh_from_db()
    assert d.maintainer_id is None
