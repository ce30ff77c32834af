"""The HTTP device API: device auth, the JSON error format, batches, gateways."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from linli.iot.models import Alarm, AlarmType, RejectedMessage, Telemetry
from linli.iot.tests.conftest import ms


def post(path: str, body, secret: str | None, raw: bytes | None = None):
    headers = {"Authorization": f"Device {secret}"} if secret else {}
    data = raw if raw is not None else json.dumps(body)
    return Client().post(f"/api/v1/{path}", data=data, content_type="application/json", headers=headers)


def test_sos_over_http_raises_an_alarm(iot):
    r = post("devices/CB-1/events", {"msg_id": "h1", "ts": ms(timezone.now()), "event": "sos"}, iot.secrets["CB-1"])
    assert r.status_code == 200, r.content
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": 0, "results": ["accepted"]}
    assert Alarm.objects.get().type == AlarmType.SOS
    again = post("devices/CB-1/events", {"msg_id": "h1", "ts": ms(timezone.now()), "event": "sos"}, iot.secrets["CB-1"])
    assert again.json()["results"] == ["duplicate"] and Alarm.objects.get().count == 1


@pytest.mark.parametrize(
    ("code", "secret_of"),
    [("CB-1", None), ("CB-1", "SM-1"), ("NOPE", "CB-1"), ("CB-1", "wrong")],
)
def test_bad_or_missing_secret_is_401_and_counted(iot, code, secret_of):
    secret = iot.secrets.get(secret_of, secret_of)
    r = post(f"devices/{code}/events", {"msg_id": "x", "ts": ms(timezone.now()), "event": "sos"}, secret)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated" and r.json()["error"]["message"]
    assert not Alarm.objects.exists()
    assert RejectedMessage.objects.filter(reason__in=["bad_secret", "unknown_device"]).count() == 1


def test_bad_payloads_are_400_and_nothing_is_stored(iot):
    now = ms(timezone.now())
    s = iot.secrets["BR-1"]
    batch = [
        {"msg_id": "ok", "ts": now, "values": {"heart_rate": 70}},
        {"msg_id": "bad", "ts": now, "values": {"heart_rate": [1]}},
        {"msg_id": "bad2", "ts": "soon", "values": {}},
    ]
    r = post("devices/BR-1/telemetry", batch, s)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "bad_payload" and set(err["fields"]) == {"1", "2"}
    assert not Telemetry.objects.exists()
    assert RejectedMessage.objects.count() == 2
    r = post("devices/BR-1/telemetry", None, s, raw=b"{oops")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
    r = post("devices/BR-1/telemetry", [], s)
    assert r.status_code == 400
    r = post(
        "devices/BR-1/telemetry",
        batch[:1],
        s,
    )
    assert r.status_code == 200 and Telemetry.objects.count() == 1


def test_error_message_in_the_request_language(iot):
    r = Client().post(
        "/api/v1/devices/BR-1/telemetry", data=b"{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 401 and "Device" in r.json()["error"]["message"]


def test_gateway_batch(iot):
    now = ms(timezone.now())
    batch = [
        {"msg_id": "g1", "ts": now, "event": "leak", "device_code": "LK-1"},
        {"msg_id": "g2", "ts": now, "event": "sos", "device_code": "BR-1"},
    ]
    r = post("gateways/GW-1/events", batch, iot.secrets["GW-1"])
    assert r.status_code == 200 and r.json()["results"] == ["accepted", "not_sub_device"]
    # a device's own secret does not open the gateway endpoint
    assert post("gateways/LK-1/events", batch, iot.secrets["LK-1"]).status_code == 401


def test_a_device_over_its_requests_per_minute_is_told_to_wait(iot, settings, monkeypatch):
    from django.core.cache import cache

    import linli.api.devices as api

    cache.clear()
    monkeypatch.setattr(api.time, "time", lambda: 1_800_000_010.0)  # 10 s into a minute, for every request
    settings.LINLI_DEVICE_API_PER_MINUTE = 3
    settings.LANGUAGE_CODE = "en"
    s = iot.secrets["BR-1"]
    codes = [
        post("devices/BR-1/telemetry", {"msg_id": f"r{i}", "ts": ms(timezone.now()), "values": {"x": i}}, s)
        for i in range(5)
    ]
    assert [r.status_code for r in codes] == [200, 200, 200, 429, 429]
    limited = codes[3].json()["error"]
    assert limited["code"] == "rate_limited" and "3 requests this minute" in limited["message"]
    assert codes[3]["Retry-After"] == "50"
    assert Telemetry.objects.count() == 3
    # another device is not held back; a secret guessed on BR-1's code is refused before it is checked
    other = {"msg_id": "o1", "ts": ms(timezone.now()), "values": {"smoke": 0}}
    assert post("devices/SM-1/telemetry", other, iot.secrets["SM-1"]).status_code == 200
    before = RejectedMessage.objects.count()
    assert post("devices/BR-1/telemetry", {"msg_id": "g", "ts": 1, "values": {}}, "guess").status_code == 429
    assert RejectedMessage.objects.count() == before
    # the next minute starts afresh; 0 turns the limit off
    monkeypatch.setattr(api.time, "time", lambda: 1_800_000_070.0)
    assert post("devices/BR-1/status", {"online": True}, s).status_code == 200
    settings.LINLI_DEVICE_API_PER_MINUTE = 0
    assert all(post("devices/BR-1/status", {"online": True}, s).status_code == 200 for _ in range(5))
