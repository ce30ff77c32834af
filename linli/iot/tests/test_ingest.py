"""Ingestion: validation and rejection, idempotency, latest state, server time, gateways."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from linli.iot.ingest import Message, ingest
from linli.iot.models import Alarm, AlarmStatus, AlarmType, Device, RejectedMessage, Telemetry
from linli.iot.tests.conftest import ms, msg


def sos(code: str, msg_id: str, at=None, ts=None):
    at = at or timezone.now()
    return msg("event", code, json.dumps({"msg_id": msg_id, "ts": ts or ms(at), "event": "sos"}).encode(), at)


def test_sos_raises_one_alarm_and_repeats_are_counted(iot):
    r = ingest([sos("BR-1", "m1")])
    assert r.accepted == 1 and len(r.alarms_raised) == 1
    alarm = Alarm.objects.get()
    assert (alarm.type, alarm.status, alarm.life_safety) == (AlarmType.SOS, AlarmStatus.ACTIVE, True)
    assert alarm.resident == iot.world.resident_in("A1-1") and alarm.grid == iot.world.areas["A1-1"]
    assert alarm.street == iot.world.areas["A1-1"].street
    ingest([sos("BR-1", "m2")])
    alarm.refresh_from_db()
    assert Alarm.objects.count() == 1 and alarm.count == 2


def test_same_msg_id_twice_is_a_no_op(iot):
    now = timezone.now()
    t = msg("telemetry", "BR-1", {"msg_id": "t1", "ts": ms(now), "values": {"heart_rate": 70}}, now)
    r1 = ingest([t, t])
    r2 = ingest([t])
    assert (r1.accepted, r1.duplicates, r2.accepted, r2.duplicates) == (1, 1, 0, 1)
    assert Telemetry.objects.filter(device=iot.bracelet).count() == 1
    ingest([sos("BR-1", "s1")])
    ingest([sos("BR-1", "s1"), sos("BR-1", "s1")])
    assert Alarm.objects.get().count == 1


def test_bad_messages_are_rejected_counted_and_the_batch_goes_on(iot):
    now = timezone.now()
    good = msg("telemetry", "BR-1", {"msg_id": "ok", "ts": ms(now), "values": {"heart_rate": 70}})
    bad = [
        msg("telemetry", "BR-1", b"{not json"),
        msg("telemetry", "NOPE-1", {"msg_id": "a", "ts": ms(now), "values": {}}),
        msg("telemetry", "BR-1", {"msg_id": "b", "ts": ms(now), "values": {"heart_rate": {"nested": 1}}}),
        msg("telemetry", "BR-1", {"msg_id": "c", "ts": "yesterday", "values": {}}),
        msg("telemetry", "BR-1", {"msg_id": "d", "ts": -5, "values": {}}),
        msg("telemetry", "BR-1", b"{" + b" " * 20000 + b"}"),
        msg("telemetry", "BR-1", {"msg_id": "e", "ts": ms(now), "values": {}, "extra": 1}),
        msg("telemetry", "BR-1", {"ts": ms(now), "values": {}}),
        msg("event", "BR-1", {"msg_id": "f", "ts": ms(now), "event": ["sos"]}),
        msg("status", "BR-1", {"ts": ms(now), "online": "yes"}),
        msg("telemetry", "BR-1", b"[1, 2]"),
        msg("telemetry", "BR-1", b"\xff\xfe"),
        Message.from_topic("linli/v1/devices/BR-1/other", b"{}"),
    ]
    r = ingest([bad[0], good, *bad[1:]])
    assert r.accepted == 1 and r.rejected == len(bad)
    assert r.outcomes[:3] == ["bad_json", "accepted", "unknown_device"]
    reasons = list(RejectedMessage.objects.order_by("pk").values_list("reason", flat=True))
    assert sorted(reasons) == sorted(o for o in r.outcomes if o != "accepted")
    assert {"bad_values", "bad_ts", "too_large", "bad_shape", "bad_msg_id", "bad_event", "bad_status"} <= set(reasons)
    big = RejectedMessage.objects.get(reason="too_large")
    assert len(big.payload) == 2048
    assert Telemetry.objects.count() == 1


def test_inactive_device_is_unknown(iot):
    Device.objects.filter(pk=iot.smoke.pk).update(active=False)
    r = ingest([sos("SM-1", "x")])
    assert r.outcomes == ["unknown_device"] and not Alarm.objects.exists()


def test_wrong_device_clock_keeps_server_time_and_order(iot):
    t0 = timezone.now()
    # the device thinks it is 2001; then a message received later claims an earlier device time
    a = msg("telemetry", "BR-1", {"msg_id": "a", "ts": 978400000000, "values": {"heart_rate": 70}}, t0)
    b = msg(
        "telemetry",
        "BR-1",
        {"msg_id": "b", "ts": 978390000000, "values": {"heart_rate": 80}},
        t0 + dt.timedelta(seconds=1),
    )
    ingest([b, a])  # delivered out of order in the batch
    d = Device.objects.get(pk=iot.bracelet.pk)
    assert d.last_seen_at == t0 + dt.timedelta(seconds=1)
    assert d.state["heart_rate"] == 80  # the later receive time wins, whatever the device's clock said
    assert d.last_device_ts.year == 2001
    row = Telemetry.objects.get(msg_id="a")
    assert row.received_at == t0 and row.device_ts.year == 2001


def test_latest_state_battery_and_position(iot):
    now = timezone.now()
    ingest(
        [
            msg(
                "telemetry",
                "BR-1",
                {"msg_id": "p", "ts": ms(now), "values": {"lat": 39.12, "lng": 117.2, "signal": -70}},
                now,
            ),
            msg("status", "BR-1", {"ts": ms(now), "online": True, "battery": 55}, now),
        ]
    )
    d = Device.objects.get(pk=iot.bracelet.pk)
    assert (d.online, d.battery, d.signal, d.lat, d.lng) == (True, 55, -70, 39.12, 117.2)
    ingest([msg("status", "BR-1", {"ts": ms(now), "online": False}, now + dt.timedelta(seconds=1))])
    assert not Device.objects.get(pk=iot.bracelet.pk).online


def test_gateway_sub_device(iot):
    now = timezone.now()
    ok = msg("event", "GW-1", {"msg_id": "g1", "ts": ms(now), "event": "leak", "device_code": "LK-1"}, gateway=True)
    not_sub = msg("event", "GW-1", {"msg_id": "g2", "ts": ms(now), "event": "sos", "device_code": "BR-1"}, gateway=True)
    r = ingest([ok, not_sub])
    assert r.outcomes == ["accepted", "not_sub_device"]
    assert Alarm.objects.get().device == iot.leak
    assert Device.objects.get(pk=iot.gateway.pk).online


def test_low_battery_opens_a_work_order_and_clears(iot):
    now = timezone.now()
    ingest([msg("status", "SM-1", {"ts": ms(now), "battery": 10}, now)])
    alarm = Alarm.objects.get(type=AlarmType.LOW_BATTERY)
    assert not alarm.life_safety and alarm.work_order is not None
    assert alarm.work_order.category.code == "0701"  # a smoke detector in a home: elderly-care equipment
    ingest([msg("status", "SM-1", {"ts": ms(now), "battery": 90}, now + dt.timedelta(seconds=5))])
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLEARED


def test_dedupe_table_is_pruned_by_age(iot):
    from linli.iot.ingest import prune_seen
    from linli.iot.models import SeenMessage

    old = timezone.now() - dt.timedelta(days=8)
    ingest([sos("BR-1", "old", at=old), sos("BR-1", "new")])
    assert prune_seen(7) == 1
    assert list(SeenMessage.objects.values_list("msg_id", flat=True)) == ["new"]
