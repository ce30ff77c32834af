"""The device simulator: contract-valid payloads, a timely first SOS and no flood, and end to end over HTTP
(test client and a live server) and MQTT (a real Mosquitto) it creates telemetry and alarms."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from linli.iot import simulator
from linli.iot.ingest import Message, RejectedError, parse
from linli.iot.models import Alarm, AlarmType, Device
from linli.iot.simulator import ClientTransport, SimDevice, Simulator

KINDS = [
    "call_button",
    "bracelet",
    "smoke",
    "gas",
    "leak",
    "water_meter",
    "power_meter",
    "abnormal",
    "gateway",
    "camera",
]


def _fleet(n_each: int = 3) -> list[SimDevice]:
    devices = []
    for kind in KINDS:
        for i in range(n_each):
            devices.append(SimDevice(code=f"{kind[:3].upper()}-{i}", kind=kind, lat=39.12, lng=117.2))
    for d in devices:
        if d.kind == "leak":
            d.gateway = "GAT-0"  # leak sensors talk through the first gateway
    devices[0].clock_reset = True
    devices[1].skew_ms = -5 * 3600 * 1000
    return devices


def _drive(sim: Simulator, start: float, seconds: int) -> list[tuple[float, simulator.Outgoing]]:
    out: list[tuple[float, simulator.Outgoing]] = []
    for s in range(seconds):
        now = start + s
        out.extend((now, m) for m in sim.tick(now, 1.0))
    return out


def test_payloads_follow_the_contract():
    start = time.time()
    sim = Simulator(_fleet(), rate=5, alarm_every=120, first_alarm_after=25, offline_every=60, seed=3, start=start)
    sent = _drive(sim, start, 900)
    assert len(sent) > 1000
    ids = []
    for now, m in sent:
        at = dt.datetime.fromtimestamp(now, tz=dt.UTC)
        parsed = parse(0, Message.from_topic(m.topic, json.dumps(m.payload).encode(), at))  # raises if invalid
        if m.channel != "status":
            ids.append(m.payload["msg_id"])
            assert isinstance(m.payload["ts"], int)
        if m.gateway:
            assert parsed.device_code == m.payload["device_code"] != m.code
    assert len(ids) == len(set(ids)), "msg_id must be unique"
    channels = Counter(m.channel for _t, m in sent)
    assert channels["status"] and channels["telemetry"] and channels["events"]
    # some devices dropped offline (last will) and came back
    assert any(m.channel == "status" and m.payload["online"] is False for _t, m in sent)
    # wrong clocks: a device reset to 2000 and one five hours behind
    by_device = {m.device: (t, m.payload["ts"]) for t, m in sent}
    skews = {code: ts / 1000 - t for code, (t, ts) in by_device.items()}
    assert any(s < -20 * 365 * 86400 for s in skews.values())
    assert any(-5 * 3600 - 5 < s < -5 * 3600 + 5 for s in skews.values())
    # bracelets report heart rate and a position near home; meters only go up
    totals = [m.payload["values"]["water_total"] for _t, m in sent if "water_total" in m.payload.get("values", {})]
    by_meter: dict = {}
    for _t, m in sent:
        if "water_total" in m.payload.get("values", {}):
            by_meter.setdefault(m.code, []).append(m.payload["values"]["water_total"])
    assert totals and all(seq == sorted(seq) for seq in by_meter.values())


def test_first_sos_soon_then_no_flood():
    start = 1_800_000_000.0
    sim = Simulator(_fleet(), rate=2, alarm_every=180, first_alarm_after=25, seed=5, start=start)
    events = [(t - start, m) for t, m in _drive(sim, start, 3600) if m.channel == "events"]
    first_t, first = events[0]
    assert 20 <= first_t <= 40 and first.payload["event"] == "sos"
    assert first.device.startswith(("CAL", "BRA"))
    # about one life-safety alarm every three minutes: an hour brings a handful, not a flood
    assert 8 <= len(events) <= 40, len(events)
    assert {m.payload["event"] for _t, m in events} <= {"sos", "fall", "smoke", "gas", "leak"}


def test_a_low_battery_is_charged_again():
    start = 1_800_000_000.0
    fleet = [SimDevice(code=f"BRA-{i}", kind="bracelet", lat=39.12, lng=117.2) for i in range(5)]
    for d in fleet:
        d.battery = 12.0
    sim = Simulator(fleet, rate=0, alarm_every=10**9, offline_every=10**9, heartbeat=60, seed=4, start=start)
    levels: dict[str, list[int]] = {}
    for _t, m in _drive(sim, start, 3600):
        if m.channel == "status":
            levels.setdefault(m.device, []).append(m.payload["battery"])
    # every bracelet reports its low level first, and is charged (and draining again slowly) within the hour
    assert all(seq[0] < 20 and 100 in seq and seq[-1] > 90 for seq in levels.values()), levels
    assert len(levels) == 5


def test_command_refuses_bad_arguments(db):
    with pytest.raises(CommandError):
        call_command("simulate_devices", "--transport", "http", "--url", "ftp://x", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("simulate_devices", "--sos-every", "0", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No active devices"):
        call_command("simulate_devices", "--url", "http://127.0.0.1:9", stdout=io.StringIO())


def _fake_clock():
    state = {"now": time.time()}
    return (lambda: state["now"]), (lambda s: state.__setitem__("now", state["now"] + max(s, 1.0)))


@pytest.mark.django_db
def test_end_to_end_through_the_device_api(iot, client):
    from django.apps import apps

    sims = simulator.prepare_devices(issue=True, seed=1)
    codes = {d.code for d in sims}
    assert {"CB-1", "BR-1", "GW-1", "LK-1"} <= codes
    clock, sleep = _fake_clock()
    sim = Simulator(sims, rate=1.5, alarm_every=30, first_alarm_after=5, heartbeat=20, seed=2, start=clock())
    transport = ClientTransport(client, simulator.secrets_of(sims))
    stats = simulator.run(sim, transport, duration=60, clock=clock, sleep=sleep)
    assert stats.failed == 0 and stats.sent > 60
    assert stats.alarms and stats.alarms[0][2] == "sos"
    telemetry = apps.get_model("iot", "Telemetry")
    assert telemetry.objects.count() >= stats.by_channel["telemetry"] * 0.99
    assert Alarm.objects.filter(type=AlarmType.SOS, device__code=stats.alarms[0][1]).exists()
    assert Device.objects.filter(last_seen_at__isnull=False).count() >= len(sims) - 1
    assert not apps.get_model("iot", "RejectedMessage").objects.exists()
    # the registry shows what arrived
    client.force_login(iot.world.users["admin"])
    page = client.get(reverse("iot:device-detail", args=[Device.objects.get(code="BR-1").pk])).content.decode()
    assert 'id="device-telemetry"' in page and "heart_rate" in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_command_over_http_against_a_live_server(iot, live_server):
    out = io.StringIO()
    before = Alarm.objects.count()
    call_command(
        "simulate_devices",
        "--url",
        live_server.url,
        "--duration",
        "4",
        "--first-sos",
        "1",
        "--rate",
        "5",
        stdout=out,
    )
    text = out.getvalue()
    assert "sos    from" in text and "(refused)" not in text, text
    assert "(0 refused or failed)" in text, text
    assert Alarm.objects.count() > before
    assert Device.objects.filter(last_seen_at__gte=timezone.now() - dt.timedelta(minutes=1)).exists()


def test_mqtt_transport_publishes_qos1_to_a_real_broker(tmp_path):
    import paho.mqtt.client as mqtt

    from linli.iot.tests.mosquitto import Mosquitto

    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        got: list[tuple[str, dict]] = []
        done = threading.Event()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-test-sub")

        def on_message(_c, _u, message):
            got.append((message.topic, json.loads(message.payload)))
            if len(got) >= 3:
                done.set()

        sub.on_message = on_message
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe("linli/v1/#", qos=1)
        sub.loop_start()
        time.sleep(0.2)
        transport = simulator.MqttTransport(broker.url)
        sim = Simulator([SimDevice("CB-9", "call_button"), SimDevice("BR-9", "bracelet", lat=39.1, lng=117.2)], seed=1)
        now = time.time()
        msgs = [
            sim.status(sim.devices[0], now),
            sim.event(sim.devices[0], now, "sos"),
            sim.telemetry(sim.devices[1], now),
        ]
        assert all(transport.send(m) for m in msgs if m is not None)
        assert done.wait(5)
        transport.close()
        sub.loop_stop()
        sub.disconnect()
        topics = {t for t, _p in got}
        assert "linli/v1/devices/CB-9/events" in topics and "linli/v1/devices/CB-9/status" in topics
        for topic, payload in got:
            try:
                parse(0, Message.from_topic(topic, json.dumps(payload), timezone.now()))
            except RejectedError as exc:  # pragma: no cover - shows what was wrong
                pytest.fail(f"{topic}: {exc.code} {exc.detail}")
    finally:
        broker.stop()
