"""The MQTT consumer of the device contract (docs/devices.md): `manage.py mqtt_ingest`.

It subscribes with QoS 1 on a persistent session (a fixed client id, clean start off, a session that outlives
a disconnect), gathers messages into batches (LINLI_INGEST_BATCH messages or 50 ms, whichever comes first),
hands each batch to linli.iot.ingest.ingest and only then acknowledges the batch's messages (paho's manual
acks). A consumer killed mid-batch therefore loses nothing: the broker redelivers what was not acknowledged and
the msg_id dedupe makes the redelivery a no-op. paho reconnects by itself, with backoff, after a broker restart.

MQTT_URL: mqtt://user:password@host:1883 (mqtts:// for TLS); query options: ?protocol=311 (default 5),
?share=GROUP to subscribe through $share/GROUP/… so that several consumers split the load (each needs its own
client id: LINLI_MQTT_CLIENT_ID or --client-id).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import signal
import ssl
import threading
import time
from urllib.parse import parse_qs, unquote, urlparse

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.iot.ingest import Message, ingest

logger = logging.getLogger("linli.iot.mqtt")

TOPICS = [
    "linli/v1/devices/+/telemetry",
    "linli/v1/devices/+/events",
    "linli/v1/devices/+/status",
    "linli/v1/gateways/+/telemetry",
    "linli/v1/gateways/+/events",
]
SESSION_EXPIRY = 7 * 24 * 3600  # the broker keeps our subscriptions and queued messages this long while we are away
BATCH_WINDOW = 0.05


@dataclasses.dataclass
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    protocol: mqtt.MQTTProtocolVersion
    share: str | None


def parse_url(url: str) -> Broker:
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT_URL must start with mqtt:// or mqtts://, not {url!r}")
    q = parse_qs(u.query)
    tls = u.scheme in ("mqtts", "ssl")
    proto = q.get("protocol", ["5"])[0]
    return Broker(
        host=u.hostname or "localhost",
        port=u.port or (8883 if tls else 1883),
        username=unquote(u.username) if u.username else None,
        password=unquote(u.password) if u.password else None,
        tls=tls,
        protocol=mqtt.MQTTv311 if proto in ("3", "311", "3.1.1") else mqtt.MQTTv5,
        share=q.get("share", [None])[0],
    )


@dataclasses.dataclass
class Stats:
    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    connects: int = 0


class Consumer:
    def __init__(self, url: str, client_id: str | None = None, batch_size: int | None = None):
        self.broker = parse_url(url)
        self.client_id = client_id or settings.LINLI_MQTT_CLIENT_ID
        self.batch_size = max(1, batch_size or settings.LINLI_INGEST_BATCH)
        self.inbox: queue.Queue = queue.Queue()
        self.stats = Stats()
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        b = self.broker
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=b.protocol,
            manual_ack=True,
            # MQTT 3.1.1 keeps the session by clean_session=False; MQTT 5 by clean_start at connect (below)
            clean_session=False if b.protocol == mqtt.MQTTv311 else None,
        )
        if b.username:
            self.client.username_pw_set(b.username, b.password)
        if b.tls:
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_inflight_messages_set(max(20, self.batch_size * 2))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # paho's network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.error("MQTT connection refused: %s", reason_code)
            return
        self.stats.connects += 1
        prefix = f"$share/{self.broker.share}/" if self.broker.share else ""
        client.subscribe([(prefix + t, 1) for t in TOPICS])
        logger.info(
            "MQTT connected to %s:%s as %s (session present: %s)",
            self.broker.host,
            self.broker.port,
            self.client_id,
            flags.session_present,
        )

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        logger.info("MQTT subscribed to %s topics", len(reason_codes))
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.subscribed.clear()
        if not self.stopping.is_set():
            logger.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        self.inbox.put((message.topic, message.payload, message.mid, message.qos, timezone.now()))

    # the consumer's own thread
    def start(self) -> None:
        props = None
        if self.broker.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY
            props.ReceiveMaximum = min(65535, max(100, self.batch_size * 2))
            self.client.connect_async(self.broker.host, self.broker.port, 30, clean_start=False, properties=props)
        else:
            self.client.connect_async(self.broker.host, self.broker.port, 30)
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping.set()

    def next_batch(self, timeout: float = 0.5) -> list:
        try:
            first = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + BATCH_WINDOW
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=left) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def process(self, batch: list) -> None:
        """Ingest until it commits, then acknowledge. A failing database is retried, never skipped."""
        messages = [Message.from_topic(t, p, at, ref=(mid, qos)) for t, p, mid, qos, at in batch]
        delay = 0.5
        while True:
            try:
                result = ingest(messages)
                break
            except Exception:
                logger.exception("ingest failed; retrying the batch in %.1f s", delay)
                close_old_connections()
                if self.stopping.wait(delay):
                    return  # not acknowledged: the broker redelivers to the next consumer
                delay = min(delay * 2, 30)
        for _t, _p, mid, qos, _at in batch:
            if qos > 0:
                self.client.ack(mid, qos)
        s = self.stats
        s.batches += 1
        s.accepted += result.accepted
        s.duplicates += result.duplicates
        s.rejected += result.rejected

    def run(self, max_seconds: float | None = None) -> Stats:
        self.start()
        end = time.monotonic() + max_seconds if max_seconds else None
        last_log = time.monotonic()
        try:
            while not self.stopping.is_set() and (end is None or time.monotonic() < end):
                batch = self.next_batch()
                if batch:
                    self.process(batch)
                if time.monotonic() - last_log > 60:
                    last_log = time.monotonic()
                    logger.info("ingest: %s", self.stats)
            # drain what already arrived, then leave
            while batch := self.next_batch(timeout=0):
                self.process(batch)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        return self.stats


def run_forever(url: str | None = None, **kw) -> Stats:
    consumer = Consumer(url or settings.MQTT_URL, **kw)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: consumer.stop())
    return consumer.run()
