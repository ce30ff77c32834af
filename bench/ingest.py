#!/usr/bin/env python3
"""Device ingestion benchmark (issue 4): Linli's MQTT ingestion on PostgreSQL against the raw throughput of the
same Mosquitto broker, measured in the same run, and the latency from publish to the alarm on a console socket.

    DATABASE_URL=postgres://… make bench-ingest BENCH_ARGS="--messages 100000 --consumers 2"
    DATABASE_URL=postgres://… .venv/bin/python bench/ingest.py [--devices 20000] [--consumers 2] [--profile]

The database is the caller's and should be set up as in production (fsync on): the run adds the demo street and
devices to it. What runs (all on loopback, started here): Mosquitto with persistence, Redis for the
channel layer, K `manage.py mqtt_ingest` processes sharing one subscription ($share/bench/…), daphne serving the
console socket, and a console client signed in as a dispatcher of the street.

1. raw: a publisher sends M QoS 1 messages as fast as it can; a subscriber that only counts them receives them
   (QoS 1, acknowledged). Messages per second from the first publish to the last receipt. Both are bare MQTT
   clients on a socket (RawMqtt) so that the broker, not a Python client library, sets the figure.
2. linli: the same M messages published while the K consumers ingest them: validated, deduplicated on msg_id,
   stored as telemetry (monthly partitions), latest state written, rules evaluated, acknowledged after commit.
   Messages per second from the first publish to the commit of the last one; CPU seconds per process group.
3. ingest() alone, in this process: other messages in batches, validation to commit, no broker.
4. latency: background traffic at a fixed rate (default half the measured linli rate) with an SOS from a
   different call button every 0.25 s; the time from each SOS publish to its "raised" alarm on the console
   socket; p50/p99.

Traffic is the device simulator's (linli/iot/simulator.py): status heartbeats, bracelet heart rate, steps and
positions, meters, smoke and gas readings, motion sensors — about 1 in 5 messages a heartbeat. Prints the figures
and writes them as JSON under var/; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
# every process of the run (this one, the consumers, daphne) shares these settings
BENCH_ENV = {
    "LINLI_MODE": "production",
    "LINLI_SECRET_KEY": "bench-ingest-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "LINLI_FIELD_KEY": "YmVuY2gtaW5nZXN0LWZpZWxkLWtleS0zMi1ieXRlcyE=",
    "LINLI_HTTPS": "0",
    "DJANGO_SETTINGS_MODULE": "linli.settings",
}
for _k, _v in BENCH_ENV.items():
    os.environ.setdefault(_k, _v)


def _free_port() -> int:
    import socket as _socket

    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_PORT, MQTT_PORT, WEB_PORT = _free_port(), _free_port(), _free_port()
os.environ["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

PYTHON = sys.executable
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
TARGET_RATE = 5000.0
TARGET_P99_MS = 1000.0


# ---------------------------------------------------------------- helpers


def wait_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        db = cur.fetchone()[0].split(",")[0]
        cur.execute("SHOW synchronous_commit")
        sync = cur.fetchone()[0]
        cur.execute("SHOW fsync")
        fsync = cur.fetchone()[0]
    mosq = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True).stdout.splitlines()[:1]
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": f"{db} (fsync {fsync}, synchronous_commit {sync})",
        "broker": mosq[0] if mosq else "mosquitto",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError):
            pass
    return total / CLK


def pids_named(name: str) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if p.joinpath("comm").read_text().strip() == name:
                    out.append(int(p.name))
            except OSError:
                pass
    return out


# ---------------------------------------------------------------- data


def prepare(devices_wanted: int, seed: int) -> dict:
    """The demo street (houses, people, demo devices, rules, crews) plus devices up to `devices_wanted`."""
    from django.core.management import call_command

    from linli.core.generate.accounts import ensure_demo_accounts
    from linli.core.generate.devices import _device, ensure_demo_iot
    from linli.core.generate.plan import DEFAULT_DISTRICT
    from linli.core.generate.run import generate
    from linli.iot.models import Device, DeviceKind
    from linli.iot.rules import ensure_default_rules
    from linli.places.models import Area, House

    call_command("migrate", verbosity=0, interactive=False)
    code = f"{DEFAULT_DISTRICT['demo']}001000"
    street = Area.objects.filter(code=code).first()
    if street is None:
        generate("demo", seed=seed)
        street = Area.objects.get(code=code)
    ensure_demo_accounts(street)
    ensure_default_rules()
    ensure_demo_iot(street)
    have = Device.objects.count()
    if have < devices_wanted:
        rng = random.Random(seed)
        now = django.utils.timezone.now()
        plan = [
            ("XB", DeviceKind.BRACELET, "北斗手环"),
            ("XC", DeviceKind.CALL_BUTTON, "紧急呼叫按钮"),
            ("XS", DeviceKind.SMOKE, "烟感"),
            ("XW", DeviceKind.WATER_METER, "智能水表"),
            ("XA", DeviceKind.ABNORMAL, "人体感应"),
            ("XG", DeviceKind.GAS, "燃气报警器"),
        ]
        houses = list(House.objects.filter(street=street).select_related("building", "grid").order_by("code"))
        new: list[Device] = []
        round_no = 0
        while have + len(new) < devices_wanted:
            for house in houses:
                prefix, kind, name = plan[round_no % len(plan)]
                lat, lng = (house.building.lat, house.building.lng) if house.building.lat else (39.12, 117.2)
                d = _device(
                    house, f"{prefix}{round_no // len(plan)}-{house.code[6:]}", kind, name, "", None, lat, lng, rng, now
                )
                new.append(d)
                if have + len(new) >= devices_wanted:
                    break
            round_no += 1
        Device.objects.bulk_create(new, batch_size=2000)
    return {"street": street.pk, "devices": Device.objects.count()}


def traffic(n: int, seed: int, heartbeat: float = 300.0) -> tuple[list, list]:
    """(warm-up, measured): the warm-up is one heartbeat and one reading from every device, so that the state
    a running installation is in — low batteries already alarmed, positions known — is reached before timing;
    then n messages of the simulator's everyday traffic (no alarms, nobody drops offline) as (topic, payload)."""
    from linli.iot.simulator import Simulator, prepare_devices

    devices = prepare_devices(issue=False, seed=seed)
    # a telemetry rate that makes about 4 in 5 messages telemetry with one heartbeat per device per `heartbeat` s
    rate = 4 * len(devices) / heartbeat
    sim = Simulator(devices, rate=rate, alarm_every=0, offline_every=0, heartbeat=heartbeat, seed=seed, start=0.0)
    sim.next_alarm = float("inf")
    now = time.time() - n / max(rate, 1) - 60

    def wire(msgs) -> list[tuple[str, bytes]]:
        return [(m.topic, json.dumps(m.payload, separators=(",", ":")).encode()) for m in msgs if m is not None]

    warm = wire([sim.status(d, now) for d in devices] + [sim.telemetry(d, now) for d in devices])
    for d in devices:
        d.next_status = now + sim.rng.uniform(0, heartbeat)
    out: list[tuple[str, bytes]] = []
    while len(out) < n:
        now += 1.0
        out += wire(sim.tick(now))
    return warm, out[:n]


# ---------------------------------------------------------------- phase: ingest() in this process


def bench_inprocess(messages: list[tuple[str, bytes]], batch: int, profile: bool) -> dict:
    from linli.iot.ingest import Message, ingest

    msgs = [Message.from_topic(t, p) for t, p in messages]
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    accepted = 0
    for start in range(0, len(msgs), batch):
        accepted += ingest(msgs[start : start + batch]).accepted
    seconds = time.perf_counter() - t0
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    return {"messages": len(msgs), "accepted": accepted, "seconds": seconds, "rate": len(msgs) / seconds}


# ---------------------------------------------------------------- the processes


class Services:
    """Redis, Mosquitto, the ingest consumers and daphne, in a temporary directory; stopped at the end."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="linli-bench-ingest-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.consumers: list[subprocess.Popen] = []
        self.env = dict(os.environ)

    def start_redis(self) -> None:
        self.procs["redis"] = subprocess.Popen(
            [REDIS, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_port(REDIS_PORT)

    def start_broker(self) -> None:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            f"listener {MQTT_PORT} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.dir}/\nmax_inflight_messages 1000\nmax_queued_messages 0\n"
            "log_dest none\n" + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.procs["mosquitto"] = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL)
        wait_port(MQTT_PORT)

    def start_consumers(self, n: int, batch: int) -> None:
        for i in range(n):
            log = open(self.dir / f"consumer{i}.log", "w")
            env = dict(
                self.env, MQTT_URL=f"mqtt://127.0.0.1:{MQTT_PORT}/?share=bench", LINLI_MQTT_CLIENT_ID=f"bench-{i}"
            )
            self.consumers.append(
                subprocess.Popen(
                    [PYTHON, str(ROOT / "manage.py"), "mqtt_ingest", "--batch", str(batch)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = [(self.dir / f"consumer{i}.log").read_text() for i in range(n)]
            if all("subscribed" in x for x in logs):
                return
            if any(c.poll() is not None for c in self.consumers):
                raise RuntimeError("a consumer died:\n" + "\n".join(logs))
            time.sleep(0.2)
        raise RuntimeError("the consumers did not subscribe")

    def start_web(self) -> None:
        log = open(self.dir / "daphne.log", "w")
        self.procs["daphne"] = subprocess.Popen(
            [str(Path(PYTHON).parent / "daphne"), "-b", "127.0.0.1", "-p", str(WEB_PORT), "linli.asgi:application"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_port(WEB_PORT, 30)

    def stop(self) -> None:
        for p in [*self.consumers, *self.procs.values()]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.consumers, *self.procs.values()]:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


class RawMqtt:
    """A bare MQTT 3.1.1 client on a socket, so that the load generator and the counting subscriber cost next to
    nothing and the broker (not a Python client library) sets the raw figure. PUBLISH packets are encoded before
    the clock starts; QoS 1 both ways (the subscriber acknowledges every message)."""

    def __init__(self, client_id: str):
        self.sock = socket.create_connection(("127.0.0.1", MQTT_PORT))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _utf8("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big") + _utf8(client_id)
        self.sock.sendall(bytes([0x10]) + _remaining(len(body)) + body)
        if self.sock.recv(4)[:1] != b"\x20":
            raise RuntimeError("no CONNACK")
        self.acks = 0
        self.received = 0
        self.last = 0.0

    @staticmethod
    def encode(messages: list[tuple[str, bytes]]) -> list[bytes]:
        out = []
        for i, (topic, payload) in enumerate(messages):
            body = _utf8(topic) + ((i % 65535) + 1).to_bytes(2, "big") + payload
            out.append(bytes([0x32]) + _remaining(len(body)) + body)
        return out

    def publish_all(self, packets: list[bytes], window: int = 20000) -> tuple[float, float]:
        """Send, keeping at most `window` unacknowledged; returns (start, all acknowledged)."""
        reader = threading.Thread(target=self._count_acks, args=(len(packets),), daemon=True)
        reader.start()
        t0 = time.time()
        for start in range(0, len(packets), 1000):
            while start - self.acks > window:
                time.sleep(0.001)
            self.sock.sendall(b"".join(packets[start : start + 1000]))
        reader.join(600)
        return t0, time.time()

    def _count_acks(self, want: int) -> None:
        got = 0
        while self.acks < want:
            data = self.sock.recv(65536)
            if not data:
                return
            got += len(data)
            self.acks = got // 4  # PUBACK: 0x40 0x02 id id

    def subscribe(self, topic: str) -> None:
        body = (1).to_bytes(2, "big") + _utf8(topic) + bytes([1])
        self.sock.sendall(bytes([0x82]) + _remaining(len(body)) + body)

    def count_until(self, want: int, timeout: float) -> None:
        """Read PUBLISH packets, acknowledge each, until `want` arrived."""
        buf = b""
        self.sock.settimeout(timeout)
        acks = bytearray()
        while self.received < want:
            buf += self.sock.recv(1 << 20)
            i = 0
            while True:
                if len(buf) - i < 2:
                    break
                mult, length, j = 1, 0, i + 1
                while j < len(buf):
                    b = buf[j]
                    length += (b & 0x7F) * mult
                    mult *= 128
                    j += 1
                    if not b & 0x80:
                        break
                else:
                    break
                if j + length > len(buf):
                    break
                kind = buf[i] & 0xF0
                if kind == 0x30:
                    tlen = int.from_bytes(buf[j : j + 2], "big")
                    if buf[i] & 0x06:
                        acks += b"\x40\x02" + buf[j + 2 + tlen : j + 4 + tlen]
                    self.received += 1
                i = j + length
            buf = buf[i:]
            if acks:
                self.sock.sendall(bytes(acks))
                acks.clear()
            self.last = time.time()

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()


def mqtt_client(client_id: str, **kw):
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **kw)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c


def bench_raw(messages: list[tuple[str, bytes]]) -> dict:
    """Load generator → Mosquitto → a subscriber that only counts and acknowledges (QoS 1 both ways)."""
    sub = RawMqtt("bench-raw-sub")
    sub.subscribe("linli/v1/#")
    time.sleep(0.5)
    packets = RawMqtt.encode(messages)
    mosq = [MOSQ_PID()]
    cpu0, mine0 = cpu_seconds(mosq), time.process_time()
    reader = threading.Thread(target=sub.count_until, args=(len(messages), 120), daemon=True)
    reader.start()
    pub = RawMqtt("bench-raw-pub")
    t0, acked = pub.publish_all(packets)
    reader.join(600)
    seconds = sub.last - t0
    out = {
        "messages": len(messages),
        "received": sub.received,
        "seconds": round(seconds, 2),
        "rate": round(sub.received / seconds),
        "cpu_broker_s": round(cpu_seconds(mosq) - cpu0, 1),
        "cpu_clients_s": round(time.process_time() - mine0, 1),
    }
    pub.close()
    sub.close()
    return out


MOSQ_PID = lambda: 0  # noqa: E731  (set in main)


def seen_count() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM iot_seenmessage")
        return cur.fetchone()[0]


def bench_linli(services: Services, messages: list[tuple[str, bytes]]) -> dict:
    """The same messages through Linli's consumers; done when the last msg_id is committed."""
    with_id = sum(1 for _t, p in messages if b'"msg_id"' in p)
    base = seen_count()
    groups = {
        "consumers": [c.pid for c in services.consumers],
        "broker": [MOSQ_PID()],
        "postgres": pids_named("postgres"),
    }
    before = {pid: cpu_seconds([pid]) for v in groups.values() for pid in v}
    packets = RawMqtt.encode(messages)
    mine0 = time.process_time()
    pub = RawMqtt("bench-linli-pub")
    t0, acked = pub.publish_all(packets)
    t_end = None
    deadline = time.time() + 1200
    while time.time() < deadline:
        if seen_count() - base >= with_id:
            t_end = time.time()
            break
        time.sleep(0.1)
    pub.close()
    if t_end is None:
        raise RuntimeError("the consumers did not ingest every message in 20 minutes")
    groups["postgres"] = pids_named("postgres")  # with the backends the consumers opened
    seconds = t_end - t0
    cpu = {
        f"cpu_{k}_s": round(sum(cpu_seconds([pid]) - before.get(pid, 0.0) for pid in v), 1) for k, v in groups.items()
    }
    cpu["cpu_publisher_s"] = round(time.process_time() - mine0, 1)
    return {
        "messages": len(messages),
        "seconds": round(seconds, 2),
        "rate": round(len(messages) / seconds),
        "published_in_s": round(acked - t0, 2),
        **cpu,
    }


# ---------------------------------------------------------------- latency to the console


def console_cookie() -> str:
    from django.conf import settings
    from django.test import Client

    from linli.accounts.models import User

    c = Client()
    c.force_login(User.objects.get(username="dispatcher"))
    return f"{settings.SESSION_COOKIE_NAME}={c.cookies[settings.SESSION_COOKIE_NAME].value}"


class Console:
    """A console WebSocket client on a bare socket (RFC 6455, text frames only) in its own thread; records when
    each raised alarm arrives."""

    def __init__(self, cookie: str):
        import base64

        self.arrived: dict[str, float] = {}
        self.sock = socket.create_connection(("127.0.0.1", WEB_PORT))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws/dispatch/console/ HTTP/1.1\r\nHost: 127.0.0.1:{WEB_PORT}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://127.0.0.1:{WEB_PORT}\r\nCookie: {cookie}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(4096)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"the console socket was refused: {head[:200]!r}")
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        first = json.loads(self._frame())
        if first.get("type") != "hello":
            raise RuntimeError(f"unexpected first message {first}")
        threading.Thread(target=self._run, daemon=True).start()

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self) -> bytes:
        """The next text message; answers the server's pings (daphne pings every 20 s)."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            data = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping → pong, masked as client frames must be
                mask = os.urandom(4)
                self.sock.sendall(
                    bytes([0x8A, 0x80 | len(data)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data))
                )
            elif opcode == 0x8:
                raise EOFError
            elif opcode == 0x1:
                return data

    def _run(self) -> None:
        try:
            while True:
                payload = self._frame()
                at = time.time()
                msg = json.loads(payload)
                if msg.get("type") == "alarm" and msg.get("event") == "raised":
                    self.arrived.setdefault(msg["alarm"]["device"], at)
        except (EOFError, OSError, ValueError):
            return


def bench_latency(background: list[tuple[str, bytes]], rate: float, seconds: float, sos_every: float) -> dict:
    """Background traffic at `rate` msg/s with an SOS from a fresh call button every `sos_every` s."""
    from linli.iot.models import Alarm, Device, DeviceKind

    busy = set(Alarm.objects.filter(status__in=["active", "acknowledged"]).values_list("device_id", flat=True))
    buttons = [
        code
        for pk, code in Device.objects.filter(kind=DeviceKind.CALL_BUTTON, active=True).values_list("pk", "code")
        if pk not in busy
    ]
    random.Random(7).shuffle(buttons)
    console = Console(console_cookie())
    pub = mqtt_client(f"bench-latency-{os.getpid()}")
    pub.connect("127.0.0.1", MQTT_PORT)
    pub.loop_start()
    sent: dict[str, float] = {}
    start = time.time()
    i = 0
    next_sos = start + 0.5
    while time.time() - start < seconds and i < len(background):
        now = time.time()
        due = int((now - start) * rate)
        while i < min(due, len(background)):
            pub.publish(*background[i], qos=1)
            i += 1
        if now >= next_sos and buttons:
            code = buttons.pop()
            body = {"msg_id": f"bench-sos-{code}-{int(now * 1000)}", "ts": int(now * 1000), "event": "sos", "data": {}}
            sent[code] = time.time()
            pub.publish(f"linli/v1/devices/{code}/events", json.dumps(body).encode(), qos=1)
            next_sos += sos_every
        time.sleep(0.002)
    elapsed = time.time() - start
    time.sleep(3)  # the last alarms arrive
    pub.disconnect()
    pub.loop_stop()
    lat = [(console.arrived[c] - t) * 1000 for c, t in sent.items() if c in console.arrived]
    return {
        "background_rate": round(i / elapsed),
        "seconds": round(elapsed, 1),
        "sos_sent": len(sent),
        "sos_on_console": len(lat),
        "p50_ms": round(pct(lat, 0.5), 1),
        "p99_ms": round(pct(lat, 0.99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
    }


def main() -> int:
    global MOSQ_PID
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=20000)
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--consumers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--latency-rate", type=float, default=0, help="background msg/s (default: half the linli rate)")
    ap.add_argument("--latency-seconds", type=float, default=60)
    ap.add_argument("--sos-every", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--profile", action="store_true", help="only ingest() in this process, under cProfile")
    args = ap.parse_args()
    services = Services()
    try:
        services.start_redis()
        info = prepare(args.devices, args.seed)
        print(f"{info['devices']:,} devices", flush=True)
        warm, msgs = traffic(args.messages * 2 + 400000, args.seed)
        msgs, more = msgs[: args.messages], msgs[args.messages :]
        print(f"{len(msgs):,} messages generated; warming up with {len(warm):,}", flush=True)
        warmed = bench_inprocess(warm, args.batch, False)
        print("warm-up (ingest() in this process):", warmed, flush=True)
        if args.profile:
            print(bench_inprocess(msgs, args.batch, True))
            return 0
        services.start_broker()
        MOSQ_PID = lambda: services.procs["mosquitto"].pid  # noqa: E731
        raw = bench_raw(msgs)
        print("raw broker:", raw, flush=True)
        services.start_consumers(args.consumers, args.batch)
        linli = bench_linli(services, msgs)
        print("linli:", linli, flush=True)
        inproc = bench_inprocess(more[: args.messages // 2], args.batch, False)
        more = more[args.messages // 2 :]
        print("ingest() alone, one process:", inproc, flush=True)
        services.start_web()
        rate = args.latency_rate or linli["rate"] / 2
        latency = bench_latency(more, rate, args.latency_seconds, args.sos_every)
        print("latency:", latency, flush=True)
        result = {
            "machine": machine(),
            "devices": info["devices"],
            "consumers": args.consumers,
            "batch": args.batch,
            "raw": raw,
            "linli": linli,
            "inprocess": inproc,
            "latency": latency,
            "ratio_linli_to_raw": round(linli["rate"] / raw["rate"], 3),
            "ratio_to_target": round(linli["rate"] / TARGET_RATE, 2),
        }
        out = ROOT / "var" / f"bench-ingest-{dt.date.today().isoformat()}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(json.dumps(result, indent=2, ensure_ascii=False))
        print(f"written to {out}")
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
