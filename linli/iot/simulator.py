"""A device simulator: realistic traffic from the devices in the database, over HTTP or MQTT.

It follows the device contract (docs/devices.md, DESIGN.md §5) exactly: every telemetry and event message has a
unique `msg_id` and a `ts` in epoch milliseconds; status messages say online/battery/signal. What it sends:

- status heartbeats from every device about once a minute (spread out), with battery and signal;
- telemetry by type: bracelets heart rate, steps and a position near home; water and electricity meters
  totals that only go up; smoke and gas detectors their readings; motion/door sensors activity; gateways
  their sub-devices' count;
- life-safety events: the first SOS `first_alarm_after` seconds after start (call buttons are what elderly
  people use most), then one every `alarm_every` seconds on average, never more than 5/3 of it apart (300 s
  at the default 180 s) — SOS, falls (bracelets), smoke, gas, leaks — not a flood;
- devices dropping offline now and then (a last-will status `online: false`, then silence) and coming back;
- batteries running down, and a low one charged or changed within a dozen heartbeats or so (the low-battery
  alarm and its work order then clear);
- a few devices with a wrong clock (hours off, or reset to 2000-01-01): the server keeps its receive time.

The simulator needs each device's secret for HTTP: `prepare_devices(issue=True)` issues fresh secrets and
keeps them in memory (the demo does this; a real installation's devices keep theirs).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("linli.simulator")

LIFE_SAFETY_EVENTS = {
    # device type: (event, weight)
    "call_button": [("sos", 6)],
    "bracelet": [("sos", 3), ("fall", 2)],
    "smoke": [("smoke", 1)],
    "gas": [("gas", 1)],
    "leak": [("leak", 1)],
}
CLOCK_RESET_MS = 946_684_800_000  # 2000-01-01: a device whose clock was never set


@dataclass
class SimDevice:
    code: str
    kind: str
    secret: str = ""
    lat: float | None = None
    lng: float | None = None
    gateway: str = ""  # the gateway's code when the device talks through one
    skew_ms: int = 0  # how wrong the device's clock is
    clock_reset: bool = False
    battery: float = 100.0
    online: bool = True
    back_at: float = 0.0  # when an offline device comes back
    next_status: float = 0.0
    totals: dict[str, float] = field(default_factory=dict)
    boot: float = field(default_factory=time.time)

    def ts(self, now: float) -> int:
        if self.clock_reset:
            return CLOCK_RESET_MS + int((now - self.boot) * 1000)
        return int(now * 1000) + self.skew_ms


@dataclass
class Outgoing:
    """One message: the device (or gateway) code in the topic, the channel and the JSON payload."""

    code: str
    channel: str  # telemetry | events | status
    payload: dict
    gateway: bool = False
    device: str = ""  # the sub-device's code for gateway messages

    @property
    def topic(self) -> str:
        root = "gateways" if self.gateway else "devices"
        return f"linli/v1/{root}/{self.code}/{self.channel}"


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    alarms: list[tuple[float, str, str]] = field(default_factory=list)  # (time, device, event)
    by_channel: dict[str, int] = field(default_factory=dict)


LOW_BATTERY = 20  # the default low-battery rule's level (linli/iot/defaults.py)
RECHARGE_CHANCE = 0.08  # per heartbeat below it: a bracelet put on its charger, a battery changed


class Simulator:
    """Decides what each device says at each tick. Pure: no I/O, so tests drive it with a fake clock."""

    def __init__(
        self,
        devices: list[SimDevice],
        *,
        rate: float = 2.0,
        alarm_every: float = 180.0,
        first_alarm_after: float = 25.0,
        offline_every: float = 300.0,
        heartbeat: float = 240.0,
        seed: int | None = None,
        start: float | None = None,
    ):
        self.devices = devices
        self.by_code = {d.code: d for d in devices}
        self.rate = rate
        self.alarm_every = alarm_every
        self.offline_every = offline_every
        self.heartbeat = heartbeat
        self.rng = random.Random(seed)
        self.start = time.time() if start is None else start
        self.next_alarm = self.start + first_alarm_after
        self.next_offline = self.start + self._exp(offline_every) if offline_every > 0 else math.inf
        self.serial = itertools.count(1)
        self.run_id = uuid.uuid4().hex[:8]
        for d in devices:
            d.next_status = self.start + self.rng.uniform(0, heartbeat)
            d.boot = self.start - self.rng.uniform(3600, 86400)
        # the first SOS comes from a call button (what elderly people use most), else a bracelet
        callers = [d for d in devices if d.kind == "call_button"] or [d for d in devices if d.kind == "bracelet"]
        self.first_caller = self.rng.choice(callers) if callers else None
        self.first_done = False

    def alarm_gap(self) -> float:
        """Seconds to the next life-safety alarm: `alarm_every` on average, never under half of it nor over 5/3 of
        it (90–300 s at the default 180 s), so a demo walker never waits a quarter of an hour for the next one,
        as an exponential gap now and then makes them. Triangular, its peak at 5/6 of the mean."""
        mean = self.alarm_every
        if mean <= 0:
            return math.inf
        return self.rng.triangular(mean / 2, mean * 5 / 3, mean * 5 / 6)

    def _exp(self, mean: float) -> float:
        return self.rng.expovariate(1.0 / mean) if mean > 0 else math.inf

    def _msg_id(self) -> str:
        return f"sim-{self.run_id}-{next(self.serial)}"

    def _wrap(self, d: SimDevice, channel: str, payload: dict) -> Outgoing:
        if d.gateway and channel != "status":
            return Outgoing(d.gateway, channel, {**payload, "device_code": d.code}, gateway=True, device=d.code)
        return Outgoing(d.code, channel, payload, device=d.code)

    def status(self, d: SimDevice, now: float, online: bool = True) -> Outgoing:
        payload: dict[str, Any] = {"ts": d.ts(now), "online": online, "battery": round(d.battery)}
        payload["signal"] = self.rng.randint(-105, -60)
        return Outgoing(d.code, "status", payload, device=d.code)

    def telemetry(self, d: SimDevice, now: float) -> Outgoing | None:
        values = self.values(d, now)
        if not values:
            return None
        return self._wrap(d, "telemetry", {"msg_id": self._msg_id(), "ts": d.ts(now), "values": values})

    def event(self, d: SimDevice, now: float, name: str) -> Outgoing:
        data: dict[str, Any] = {}
        if d.kind == "bracelet" and d.lat is not None and d.lng is not None:
            data = {"lat": round(d.lat + self.rng.uniform(-0.0008, 0.0008), 6), "lng": round(d.lng, 6)}
        if name in ("smoke", "gas"):
            data["level"] = round(self.rng.uniform(15, 60), 1)
        return self._wrap(d, "events", {"msg_id": self._msg_id(), "ts": d.ts(now), "event": name, "data": data})

    def values(self, d: SimDevice, now: float) -> dict[str, Any]:
        r = self.rng
        hour = time.localtime(now).tm_hour
        if d.kind == "bracelet":
            d.totals["steps"] = d.totals.get("steps", r.randint(0, 2000)) + (r.randint(0, 60) if 7 <= hour < 21 else 0)
            out: dict[str, Any] = {"heart_rate": r.randint(58, 96), "steps": int(d.totals["steps"])}
            if d.lat is not None and d.lng is not None:
                out["lat"] = round(d.lat + r.uniform(-0.0015, 0.0015), 6)
                out["lng"] = round(d.lng + r.uniform(-0.0015, 0.0015), 6)
            out["battery"] = round(d.battery)
            return out
        if d.kind == "water_meter":
            d.totals["water_total"] = d.totals.get("water_total", r.uniform(50, 400)) + r.choice([0, 0, 0.01, 0.02])
            return {"water_total": round(d.totals["water_total"], 3)}
        if d.kind == "power_meter":
            d.totals["power_total"] = d.totals.get("power_total", r.uniform(500, 4000)) + r.uniform(0, 0.05)
            return {"power_total": round(d.totals["power_total"], 3)}
        if d.kind == "smoke":
            return {"smoke": round(r.uniform(0, 3), 2), "temperature": round(r.uniform(18, 27), 1)}
        if d.kind == "gas":
            return {"gas_lel": round(r.uniform(0, 2), 2)}
        if d.kind == "leak":
            return {"leak": False}
        if d.kind == "abnormal":
            return {"motion": r.random() < (0.6 if 7 <= hour < 22 else 0.1), "door": r.random() < 0.1}
        if d.kind == "gateway":
            return {"sub_devices": sum(1 for x in self.devices if x.gateway == d.code), "uptime": int(now - d.boot)}
        if d.kind == "gate":
            return {"passes": r.randint(0, 12)}
        if d.kind == "call_button":
            return {}  # a call button only sends heartbeats and presses
        if d.kind == "camera":
            return {"people": r.randint(0, 8)}
        return {}

    def tick(self, now: float, dt_seconds: float = 1.0) -> list[Outgoing]:
        """Everything the devices say between now - dt_seconds and now."""
        out: list[Outgoing] = []
        live = [d for d in self.devices if d.online]
        for d in self.devices:
            if not d.online and now >= d.back_at:
                d.online = True
                d.next_status = now
            if d.online and now >= d.next_status:
                d.battery = max(1.0, d.battery - self.rng.uniform(0, 0.05))
                if d.battery < LOW_BATTERY and self.rng.random() < RECHARGE_CHANCE:
                    d.battery = 100.0  # charged, or the maintainer changed the battery
                out.append(self.status(d, now))
                d.next_status = now + self.rng.uniform(0.9, 1.1) * self.heartbeat
        # telemetry: on average `rate` messages per second over the online devices
        n = self._poisson(self.rate * dt_seconds)
        for d in self.rng.sample(live, min(n, len(live))) if live else []:
            msg = self.telemetry(d, now)
            if msg is not None:
                out.append(msg)
        if now >= self.next_alarm:
            msg = self._alarm(now)
            if msg is not None:
                out.append(msg)
            self.next_alarm = now + self.alarm_gap()
        if now >= self.next_offline:
            candidates = [d for d in live if d.kind not in ("call_button",)]
            if candidates:
                d = self.rng.choice(candidates)
                d.online = False
                d.back_at = now + self.rng.uniform(120, 900)
                out.append(self.status(d, now, online=False))  # what the broker sends as the last will
            self.next_offline = now + self._exp(self.offline_every)
        return out

    def _alarm(self, now: float) -> Outgoing | None:
        if not self.first_done and self.first_caller is not None:
            self.first_done = True
            d = self.first_caller
            d.online = True
            return self.event(d, now, "sos")
        self.first_done = True
        choices = [(d, ev, w) for d in self.devices for ev, w in LIFE_SAFETY_EVENTS.get(d.kind, [])]
        if not choices:
            return None
        d, ev, _w = self.rng.choices(choices, weights=[w for *_x, w in choices])[0]
        d.online = True
        return self.event(d, now, ev)

    def _poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1


# -- transports ------------------------------------------------------------------------------------------


class HttpTransport:
    """POSTs each message to the HTTP device API with the device's (or gateway's) secret."""

    def __init__(self, base_url: str, secrets: dict[str, str], timeout: float = 5.0):
        self.base = base_url.rstrip("/")
        self.secrets = secrets
        self.timeout = timeout

    def url(self, msg: Outgoing) -> str:
        root = "gateways" if msg.gateway else "devices"
        return f"{self.base}/api/v1/{root}/{msg.code}/{msg.channel}"

    def send(self, msg: Outgoing) -> bool:
        body = json.dumps(msg.payload).encode()
        request = urllib.request.Request(  # noqa: S310 - http(s) URL checked by the command
            self.url(msg),
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Device {self.secrets.get(msg.code, '')}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                return 200 <= response.status < 300
        except urllib.error.HTTPError as exc:
            log.warning(
                "simulator: %s %s -> %s %s", msg.topic, msg.payload.get("msg_id", ""), exc.code, exc.read()[:200]
            )
            return False
        except (urllib.error.URLError, OSError) as exc:
            log.warning("simulator: %s: %s", self.url(msg), exc)
            return False

    def close(self) -> None:
        pass


class ClientTransport:
    """Posts through a Django test client (tests without a live server)."""

    def __init__(self, client, secrets: dict[str, str]):
        self.client, self.secrets = client, secrets

    def send(self, msg: Outgoing) -> bool:
        root = "gateways" if msg.gateway else "devices"
        response = self.client.post(
            f"/api/v1/{root}/{msg.code}/{msg.channel}",
            data=json.dumps(msg.payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Device {self.secrets.get(msg.code, '')}",
        )
        return 200 <= response.status_code < 300

    def close(self) -> None:
        pass


class MqttTransport:
    """Publishes with QoS 1 to the broker at mqtt://[user:password@]host:port."""

    def __init__(self, url: str, client_id: str = ""):
        from urllib.parse import urlparse

        import paho.mqtt.client as mqtt

        parts = urlparse(url)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"linli-sim-{uuid.uuid4().hex[:6]}"
        )
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
        self.client.loop_start()

    def send(self, msg: Outgoing) -> bool:
        info = self.client.publish(msg.topic, json.dumps(msg.payload), qos=1)
        return info.rc == 0

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# -- loading devices and running ------------------------------------------------------------------------


def prepare_devices(
    *, limit: int | None = None, issue: bool = True, codes: Iterable[str] | None = None, seed: int | None = None
) -> list[SimDevice]:
    """The active devices in the database as simulated devices, with fresh secrets kept in memory when `issue`.

    Issuing replaces each device's secret: only for the demo and for test databases.
    """
    from django.db import transaction

    from linli.iot.models import Device

    rng = random.Random(seed)
    qs = Device.objects.filter(active=True).select_related("house__building", "gateway", "grid").order_by("code")
    if codes is not None:
        qs = qs.filter(code__in=list(codes))
    if limit:
        # call buttons and bracelets first, so even a small run has someone to press SOS
        qs = qs.order_by(_kind_first(), "code")[:limit]
    out = []
    with transaction.atomic():  # hundreds of secrets: one commit
        out = _load(qs, rng, issue)
    return out


def _load(qs, rng: random.Random, issue: bool) -> list[SimDevice]:
    from linli.iot.credentials import issue_secret

    out = []
    for device in qs:
        building = device.house.building if device.house_id else None
        lat = device.lat or (building.lat if building else None) or device.grid.lat
        lng = device.lng or (building.lng if building else None) or device.grid.lng
        d = SimDevice(
            code=device.code,
            kind=device.kind,
            lat=lat,
            lng=lng,
            gateway=device.gateway.code if device.gateway_id else "",
            battery=float(device.battery if device.battery is not None else rng.randint(30, 100)),
        )
        roll = rng.random()
        if roll < 0.04:
            d.clock_reset = True
        elif roll < 0.10:
            d.skew_ms = rng.choice([-1, 1]) * rng.randint(3600, 36 * 3600) * 1000
        if issue:
            d.secret = issue_secret(device)  # a gateway's secret also signs its sub-devices' messages
        out.append(d)
    return out


def _kind_first():
    from django.db.models import Case, IntegerField, Value, When

    return Case(
        When(kind="call_button", then=Value(0)),
        When(kind="bracelet", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def secrets_of(devices: list[SimDevice]) -> dict[str, str]:
    return {d.code: d.secret for d in devices if d.secret}


def run(
    sim: Simulator,
    transport,
    *,
    duration: float | None = None,
    stop: threading.Event | None = None,
    tick: float = 1.0,
    on_message: Callable[[Outgoing, bool], None] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] | None = None,
) -> Stats:
    """Drive the simulator in real time until `duration` seconds passed or `stop` is set."""
    stats = Stats()
    stop = stop or threading.Event()
    wait = sleep or stop.wait
    began = clock()
    while not stop.is_set() and (duration is None or clock() - began < duration):
        now = clock()
        for msg in sim.tick(now, tick):
            ok = transport.send(msg)
            stats.sent += ok
            stats.failed += not ok
            stats.by_channel[msg.channel] = stats.by_channel.get(msg.channel, 0) + 1
            if msg.channel == "events":
                stats.alarms.append((now, msg.device, msg.payload["event"]))
                log.info("simulator: %s %s", msg.device, msg.payload["event"])
            if on_message is not None:
                on_message(msg, ok)
        wait(max(0.0, tick - (clock() - now)))
    transport.close()
    return stats


class QuietDeviceApi(logging.Filter):
    """Drops the access-log lines of the device API, so the demo's console stays readable."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return "/api/v1/devices/" not in text and "/api/v1/gateways/" not in text


def start_in_thread(
    base_url: str,
    *,
    rate: float = 1.0,
    alarm_every: float = 180.0,
    first_alarm_after: float = 25.0,
    wait_for_server: float = 60.0,
) -> tuple[threading.Thread, threading.Event]:
    """The demo's simulator: issue secrets now, wait until the server answers, then run until stopped."""
    devices = prepare_devices(issue=True)
    stop = threading.Event()

    def main() -> None:
        deadline = time.time() + wait_for_server
        while not stop.is_set() and time.time() < deadline:
            try:
                urllib.request.urlopen(base_url.rstrip("/") + "/healthz", timeout=2).close()  # noqa: S310
                break
            except (urllib.error.URLError, OSError):
                stop.wait(0.5)
        sim = Simulator(devices, rate=rate, alarm_every=alarm_every, first_alarm_after=first_alarm_after)
        run(sim, HttpTransport(base_url, secrets_of(devices)), stop=stop)

    thread = threading.Thread(target=main, name="linli-simulator", daemon=True)
    thread.start()
    return thread, stop
