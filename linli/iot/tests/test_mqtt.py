"""End to end through a real Mosquitto started by the test, with `manage.py mqtt_ingest` as a subprocess:
an SOS becomes an alarm within a second; a broker restart during a QoS 1 burst loses nothing; a consumer killed
mid-batch (kill -9) loses nothing and raises no duplicate alarm once restarted."""

from __future__ import annotations

import json
import os
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from linli.iot.tests.mosquitto import MOSQUITTO, ConsumerProcess, Mosquitto, TestDatabase

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="mosquitto is not installed (apt-get install mosquitto)"),
]


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def env(iot, broker, tmp_path):
    db = TestDatabase(tmp_path)
    consumers: list[ConsumerProcess] = []

    def consumer() -> ConsumerProcess:
        c = ConsumerProcess(broker.url, db)
        consumers.append(c)
        return c

    yield broker, db, consumer
    for c in consumers:
        c.stop()


def publisher(port: int) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", clean_session=False)
    c.reconnect_delay_set(min_delay=1, max_delay=1)
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def wait_until(fn, timeout: float, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(step)
    return fn()


def telemetry(i: int) -> bytes:
    return json.dumps({"msg_id": f"t{i}", "ts": int(time.time() * 1000), "values": {"heart_rate": 70}}).encode()


def test_sos_becomes_an_alarm_within_a_second(env):
    broker, db, consumer = env
    consumer().wait_subscribed()
    pub = publisher(broker.port)
    start = time.monotonic()
    sos = {"msg_id": "sos-1", "ts": int(time.time() * 1000), "event": "sos", "data": {"lat": 39.12, "lng": 117.2}}
    pub.publish("linli/v1/devices/BR-1/events", json.dumps(sos), qos=1)
    found = wait_until(lambda: db.scalar("SELECT COUNT(*) FROM iot_alarm WHERE type = 'sos'"), 2)
    elapsed = time.monotonic() - start
    pub.loop_stop()
    assert found == 1
    assert elapsed < 1.0, f"alarm after {elapsed:.2f} s"
    # a malformed message on the way is rejected and counted, and the consumer goes on
    pub = publisher(broker.port)
    pub.publish("linli/v1/devices/BR-1/telemetry", b"{broken", qos=1)
    pub.publish("linli/v1/devices/BR-1/telemetry", telemetry(1), qos=1)
    # the SOS is in the history too
    assert wait_until(lambda: db.scalar("SELECT COUNT(*) FROM iot_telemetry") == 2, 3)
    assert db.scalar("SELECT COUNT(*) FROM iot_rejectedmessage WHERE reason = 'bad_json'") == 1, db.scalar(
        "SELECT GROUP_CONCAT(reason || detail) FROM iot_rejectedmessage"
    )
    pub.loop_stop()


def test_broker_restart_during_a_burst_loses_nothing(env):
    broker, db, consumer = env
    c = consumer()
    c.wait_subscribed()
    pub = publisher(broker.port)
    n = 600
    infos = [pub.publish("linli/v1/devices/BR-1/telemetry", telemetry(i), qos=1) for i in range(n // 2)]
    broker.stop()
    broker.start()
    infos += [pub.publish("linli/v1/devices/BR-1/telemetry", telemetry(i), qos=1) for i in range(n // 2, n)]
    for info in infos:
        info.wait_for_publish(10)
    wait_until(lambda: db.scalar("SELECT COUNT(*) FROM iot_telemetry") >= n, 15, 0.1)
    pub.loop_stop()
    assert db.scalar("SELECT COUNT(*) FROM iot_telemetry") == n, "".join(c.lines[-40:])
    assert c.subscriptions >= 2  # it reconnected and subscribed again


def test_consumer_killed_mid_batch_loses_nothing_and_duplicates_no_alarm(env):
    broker, db, consumer = env
    first = consumer()
    first.wait_subscribed()
    pub = publisher(broker.port)
    n = 2000
    infos = []
    for i in range(n):
        infos.append(pub.publish("linli/v1/devices/BR-1/telemetry", telemetry(i), qos=1))
        if i == n // 4:
            sos = {"msg_id": "sos-k", "ts": int(time.time() * 1000), "event": "sos"}
            infos.append(pub.publish("linli/v1/devices/CB-1/events", json.dumps(sos), qos=1))
    for info in infos:
        info.wait_for_publish(10)
    wait_until(lambda: db.scalar("SELECT COUNT(*) FROM iot_telemetry") > 0, 10, 0.005)
    first.kill()  # kill -9, most likely inside a batch
    stored_at_kill = db.scalar("SELECT COUNT(*) FROM iot_telemetry")
    second = consumer()
    second.wait_subscribed()
    wait_until(lambda: db.scalar("SELECT COUNT(*) FROM iot_telemetry") > n, 20, 0.1)
    pub.loop_stop()
    assert stored_at_kill < n, "the consumer finished before it was killed; the test proves nothing"
    assert db.scalar("SELECT COUNT(*) FROM iot_telemetry") == n + 1  # and the SOS
    assert db.scalar("SELECT COUNT(*) FROM iot_alarm WHERE type = 'sos'") == 1
    assert db.scalar("SELECT SUM(count) FROM iot_alarm WHERE type = 'sos'") == 1
