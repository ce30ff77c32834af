"""Device message ingestion (docs/devices.md, the device contract v1): validate, deduplicate, store, evaluate.

`ingest(messages)` takes a batch from the MQTT consumer (linli/iot/mqtt.py) or the HTTP device API
(linli/api/devices.py) and, in one transaction: drops messages already seen (device, msg_id), stores telemetry
and events as history, updates each device's latest state in one statement, and runs the rules (raising or
clearing alarms). A malformed message, or one from an unknown device, is rejected: stored in RejectedMessage
and counted, never raised — the rest of the batch goes on. Order is the server's receive time: device clocks
may be wrong; their `ts` is kept beside it but never used for ordering or rule timing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.iot import alarms, rules
from linli.iot.models import Device, DeviceKind, RejectedMessage, SeenMessage, Telemetry

logger = logging.getLogger("linli.iot")

KINDS = ("telemetry", "event", "status")
TOPIC_KIND = {"telemetry": "telemetry", "events": "event", "status": "status"}
TOPIC_RE = re.compile(r"^linli/v1/(devices|gateways)/([A-Za-z0-9_-]{1,64})/(telemetry|events|status)$")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_PAYLOAD = 16 * 1024
MAX_VALUES = 64
MAX_STR = 200
MAX_DATA = 2048
KEEP_PAYLOAD = 2048
TS_MIN = 946684800000  # 2000-01-01
TS_MAX = 4102444800000  # 2100-01-01
ALLOWED = {
    "telemetry": {"msg_id", "ts", "values"},
    "event": {"msg_id", "ts", "event", "data"},
    "status": {"msg_id", "ts", "online", "battery", "signal"},
}
# readable reasons for the rejection codes (shown to admins and in HTTP errors)
REASONS = {
    "bad_topic": _("The topic is not one of the device contract's topics."),
    "too_large": _("The message is larger than 16 KB."),
    "bad_json": _("The message is not valid UTF-8 JSON."),
    "bad_shape": _("The message does not have the contract's shape."),
    "bad_msg_id": _("msg_id must be 1–64 letters, digits, '_', '.', ':' or '-'."),
    "bad_ts": _("ts must be a time in epoch milliseconds between 2000 and 2100."),
    "bad_values": _("values must be an object of at most 64 numbers, true/false or short texts."),
    "bad_event": _("event must be a short name (letters, digits, '_', '.', '-') and data an object under 2 KB."),
    "bad_status": _("online must be true or false, battery 0–100, signal a number."),
    "unknown_device": _("No active device has this code."),
    "not_sub_device": _("This device is not a sub-device of this gateway."),
    "bad_secret": _("The device secret is missing or wrong."),
    "error": _("The message could not be processed."),
}


class RejectedError(Exception):
    """`detail` is "<code>" or "<code>: <param>", shown in the reader's language by linli.iot.display."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code, self.detail = code, detail


@dataclass
class Message:
    """One message as received. `code` is the device (or gateway) code of the topic or URL; for gateways
    the payload names the sub-device in "device_code". `payload` is the raw bytes/str or a decoded object."""

    kind: str
    code: str
    payload: Any
    received_at: dt.datetime
    gateway: bool = False
    source: str = ""
    ref: Any = None

    @classmethod
    def from_topic(cls, topic: str, payload: Any, received_at: dt.datetime | None = None, ref: Any = None):
        at = received_at or timezone.now()
        m = TOPIC_RE.match(topic or "")
        if not m or (m[1] == "gateways" and m[3] == "status"):
            return cls(kind="", code="", payload=payload, received_at=at, source=topic[:200], ref=ref)
        return cls(TOPIC_KIND[m[3]], m[2], payload, at, gateway=m[1] == "gateways", source=topic, ref=ref)


@dataclass
class Parsed:
    index: int
    msg: Message
    device_code: str
    msg_id: str | None
    ts: dt.datetime | None
    values: dict = field(default_factory=dict)
    event: str | None = None
    data: dict | None = None
    online: bool | None = None
    battery: float | None = None
    signal: float | None = None


@dataclass
class Result:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    alarms_raised: list[int] = field(default_factory=list)
    # per input message, in input order: "accepted", "duplicate" or the rejection code
    outcomes: list[str] = field(default_factory=list)

    def merge(self, other: Result) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.alarms_raised += other.alarms_raised
        self.outcomes += other.outcomes


# ---------------------------------------------------------------- validation


def _number(v: Any) -> TypeGuard[float]:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and abs(v) < 1e15


def _ts(obj: dict, required: bool = True) -> dt.datetime | None:
    v = obj.get("ts")
    if v is None and not required:
        return None
    if not _number(v) or v != int(v) or not TS_MIN <= v < TS_MAX:
        raise RejectedError("bad_ts", f"got: {str(v)[:40]}")
    return dt.datetime.fromtimestamp(int(v) / 1000, tz=dt.UTC)


def _values(v: Any) -> dict:
    if not isinstance(v, dict) or len(v) > MAX_VALUES:
        raise RejectedError("bad_values")
    for k, x in v.items():
        if not NAME_RE.match(k):
            raise RejectedError("bad_values", f"bad_name: {k[:40]}")
        if not (isinstance(x, bool) or _number(x) or (isinstance(x, str) and len(x) <= MAX_STR)):
            raise RejectedError("bad_values", f"bad_value: {k[:64]}")
    for k, low, high in (("battery", 0, 100), ("lat", -90, 90), ("lng", -180, 180)):
        if k in v and not (_number(v[k]) and low <= v[k] <= high):
            raise RejectedError("bad_values", f"out_of_range: {k}")
    return v


def _json_error(e: ValueError) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"json_at: {e.lineno}:{e.colno}"
    return "not_utf8" if isinstance(e, UnicodeDecodeError) else str(e)[:200]


def parse(index: int, msg: Message) -> Parsed:
    """Check one message against the contract; raises RejectedError."""
    if msg.kind not in KINDS or not CODE_RE.match(msg.code or ""):
        raise RejectedError("bad_topic")
    obj = msg.payload
    if isinstance(obj, bytes | bytearray | str):
        if len(obj) > MAX_PAYLOAD:
            raise RejectedError("too_large", f"bytes: {len(obj)}")
        try:
            obj = json.loads(obj)
        except (ValueError, UnicodeDecodeError) as e:
            raise RejectedError("bad_json", _json_error(e)) from None
    elif len(json.dumps(obj, default=str)) > MAX_PAYLOAD:
        raise RejectedError("too_large")
    if not isinstance(obj, dict):
        raise RejectedError("bad_shape", "not_object")
    allowed = ALLOWED[msg.kind] | ({"device_code"} if msg.gateway else set())
    extra = sorted(set(obj) - allowed)
    if extra:
        raise RejectedError("bad_shape", "unknown_keys: " + ", ".join(extra)[:200])
    device_code = msg.code
    if msg.gateway:
        named = obj.get("device_code")
        if not isinstance(named, str) or not CODE_RE.match(named):
            raise RejectedError("bad_shape", "bad_device_code")
        device_code = named
    msg_id = obj.get("msg_id")
    if msg_id is None and msg.kind != "status":
        raise RejectedError("bad_msg_id", "missing: msg_id")
    if msg_id is not None and (not isinstance(msg_id, str) or not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", msg_id)):
        raise RejectedError("bad_msg_id", f"got: {str(msg_id)[:64]}")
    p = Parsed(index, msg, device_code, msg_id, _ts(obj, required=msg.kind != "status"))
    if msg.kind == "telemetry":
        if "values" not in obj:
            raise RejectedError("bad_shape", "missing: values")
        p.values = _values(obj["values"])
    elif msg.kind == "event":
        event, data = obj.get("event"), obj.get("data", {})
        if not isinstance(event, str) or not NAME_RE.match(event) or not isinstance(data, dict):
            raise RejectedError("bad_event")
        if len(json.dumps(data)) > MAX_DATA:
            raise RejectedError("bad_event", "data_too_large")
        p.event, p.data = event, data
    else:
        online, battery, signal = obj.get("online"), obj.get("battery"), obj.get("signal")
        if (
            (online is not None and not isinstance(online, bool))
            or (battery is not None and not (_number(battery) and 0 <= battery <= 100))
            or (signal is not None and not (_number(signal) and -200 <= signal <= 100))
        ):
            raise RejectedError("bad_status")
        p.online, p.battery, p.signal = online, battery, signal
    return p


def _payload_text(payload: Any) -> str:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload[:KEEP_PAYLOAD]).decode("utf-8", "replace")
    if isinstance(payload, str):
        return payload[:KEEP_PAYLOAD]
    try:
        return json.dumps(payload, ensure_ascii=False, default=str)[:KEEP_PAYLOAD]
    except (TypeError, ValueError):
        return repr(payload)[:KEEP_PAYLOAD]


def rejection(msg: Message, code: str, detail: str = "", device_code: str = "") -> RejectedMessage:
    return RejectedMessage(
        received_at=msg.received_at,
        source=(msg.source or msg.kind)[:200],
        device_code=(device_code or msg.code or "")[:64],
        reason=code,
        detail=str(detail)[:300],
        payload=_payload_text(msg.payload),
    )


def reject(msgs: list[tuple[Message, str, str]]) -> None:
    """Store rejections made outside ingest() (the HTTP API's bad secrets)."""
    RejectedMessage.objects.bulk_create([rejection(m, code, detail) for m, code, detail in msgs])


# ---------------------------------------------------------------- the batch


def ingest(messages: list[Message]) -> Result:
    """Process a batch; never raises for a bad message. If the batch as a whole fails (a bug, a lost
    database connection), each message is retried alone so that one poisonous message cannot block the rest;
    only a database that stays down raises (the caller then does not acknowledge and retries later)."""
    if not messages:
        return Result()
    try:
        return _ingest(messages)
    except Exception:
        logger.exception("ingest batch of %s failed; retrying one message at a time", len(messages))
    result = Result()
    for m in messages:
        try:
            result.merge(_ingest([m]))
        except Exception as e:
            logger.exception("message from %s failed", m.code)
            rejection(m, "error", repr(e)[:300]).save()
            result.rejected += 1
            result.outcomes.append("error")
    return result


def _claim(pairs: list[tuple[int, str, dt.datetime]]) -> set[tuple[int, str]]:
    """Insert (device, msg_id) into the dedupe table; return the pairs that were new."""
    table = SeenMessage._meta.db_table
    at_field = SeenMessage._meta.get_field("received_at")
    fresh: set[tuple[int, str]] = set()
    if default_connection.vendor == "postgresql":
        # three array parameters: the statement's text is the same for every batch (nothing for psycopg to parse)
        with default_connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} (device_id, msg_id, received_at) "
                "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) "
                "ON CONFLICT (device_id, msg_id) DO NOTHING RETURNING device_id, msg_id",
                [[d for d, _m, _a in pairs], [m for _d, m, _a in pairs], [a for _d, _m, a in pairs]],
            )
            return {(int(d), m) for d, m in cur.fetchall()}
    with default_connection.cursor() as cur:
        for start in range(0, len(pairs), 1000):
            chunk = pairs[start : start + 1000]
            rows = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params: list[Any] = []
            for device_id, msg_id, at in chunk:
                params += [device_id, msg_id, at_field.get_db_prep_value(at, default_connection)]
            cur.execute(
                f"INSERT INTO {table} (device_id, msg_id, received_at) VALUES {rows} "
                "ON CONFLICT (device_id, msg_id) DO NOTHING RETURNING device_id, msg_id",
                params,
            )
            fresh.update((int(d), m) for d, m in cur.fetchall())
    return fresh


LATEST_FIELDS = ["online", "last_seen_at", "last_device_ts", "battery", "signal", "state", "lat", "lng", "position_at"]


def _ingest(messages: list[Message]) -> Result:
    result = Result()
    outcomes: list[str] = [""] * len(messages)
    rejected: list[RejectedMessage] = []
    parsed: list[Parsed] = []
    for i, m in enumerate(messages):
        try:
            parsed.append(parse(i, m))
        except RejectedError as r:
            outcomes[i] = r.code
            rejected.append(rejection(m, r.code, r.detail))
    # the server's receive time orders everything (stable: a batch's own order breaks ties)
    parsed.sort(key=lambda p: p.msg.received_at)
    codes = {p.device_code for p in parsed} | {p.msg.code for p in parsed if p.msg.gateway}
    with transaction.atomic():
        # which devices exist: no lock yet, so that concurrent consumers overlap while they validate and store
        devices = {
            d.code: d
            for d in Device.objects.filter(code__in=codes, active=True).only("id", "code", "kind", "gateway_id")
        }
        ok: list[Parsed] = []
        for p in parsed:
            device = devices.get(p.device_code)
            reason = None
            if device is None:
                reason = "unknown_device"
            elif p.msg.gateway:
                gw = devices.get(p.msg.code)
                if gw is None or gw.kind != DeviceKind.GATEWAY:
                    reason = "unknown_device"
                elif device.gateway_id != gw.pk:
                    reason = "not_sub_device"
            if reason:
                outcomes[p.index] = reason
                rejected.append(rejection(p.msg, reason, device_code=p.device_code))
            else:
                ok.append(p)
        # idempotency: drop repeats inside the batch, then the ones seen before
        seen_in_batch: set[tuple[int, str]] = set()
        to_claim: list[tuple[int, str, dt.datetime]] = []
        unique: list[Parsed] = []
        for p in ok:
            if p.msg_id is None:
                unique.append(p)
                continue
            key = (devices[p.device_code].pk, p.msg_id)
            if key in seen_in_batch:
                outcomes[p.index] = "duplicate"
                continue
            seen_in_batch.add(key)
            to_claim.append((key[0], key[1], p.msg.received_at))
            unique.append(p)
        fresh = _claim(to_claim) if to_claim else set()
        fresh_msgs: list[Parsed] = []
        for p in unique:
            if p.msg_id is not None and (devices[p.device_code].pk, p.msg_id) not in fresh:
                outcomes[p.index] = "duplicate"
            else:
                fresh_msgs.append(p)

        # history
        history = []
        for p in fresh_msgs:
            if p.msg_id is None or p.msg.kind == "status":
                continue
            values = p.values if p.msg.kind == "telemetry" else {"event": p.event, "data": p.data or {}}
            history.append(
                Telemetry(
                    device_id=devices[p.device_code].pk,
                    msg_id=p.msg_id,
                    received_at=p.msg.received_at,
                    device_ts=p.ts,
                    values=values,
                )
            )
        _store_history(history)

        # latest state and rules: lock the devices that spoke (in id order, as every consumer does) and read their
        # state only now, so a device's rows are held from here to the commit and not during the steps above
        ids = {devices[p.device_code].pk for p in fresh_msgs} | {
            devices[p.msg.code].pk for p in fresh_msgs if p.msg.gateway
        }
        devices = {d.code: d for d in Device.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")}
        ruleset = rules.RuleSet(device_ids=[d.pk for d in devices.values()])
        changed: dict[int, Device] = {}
        for p in fresh_msgs:
            device = devices[p.device_code]
            _apply_latest(device, p)
            changed[device.pk] = device
            if p.msg.gateway:
                gw = devices[p.msg.code]
                if gw.last_seen_at is None or gw.last_seen_at < p.msg.received_at:
                    gw.last_seen_at, gw.online = p.msg.received_at, True
                changed[gw.pk] = gw
            state = device.state.setdefault(rules.STATE_KEY, {})
            decisions = rules.evaluate(
                ruleset.for_device(device),
                state,
                at=p.msg.received_at,
                event=p.event,
                values=p.values,
                battery=p.battery,
                online=p.online,
            )
            for d in decisions:
                if d.action == "raise":
                    alarm, created = alarms.raise_alarm(
                        device,
                        d.rule.alarm_type,
                        at=p.msg.received_at,
                        severity=d.rule.severity,
                        rule=d.rule,
                        device_ts=p.ts,
                        message=d.message,
                        data={**(d.data or {}), "msg_id": p.msg_id},
                    )
                    if created:
                        result.alarms_raised.append(alarm.pk)
                else:
                    alarms.clear_alarms(device.pk, d.rule.alarm_type, at=p.msg.received_at)
            outcomes[p.index] = "accepted"
        if changed:
            _save_latest(list(changed.values()))
        RejectedMessage.objects.bulk_create(rejected)
    result.outcomes = outcomes
    result.accepted = outcomes.count("accepted")
    result.duplicates = outcomes.count("duplicate")
    result.rejected = len(outcomes) - result.accepted - result.duplicates
    return result


def _store_history(rows: list[Telemetry]) -> None:
    """Telemetry history: COPY on PostgreSQL (several times faster than INSERT … VALUES), else bulk_create."""
    if not rows:
        return
    conn = default_connection
    if conn.vendor != "postgresql":
        Telemetry.objects.bulk_create(rows, batch_size=1000)
        return
    table = Telemetry._meta.db_table
    with conn.cursor() as cur:
        # Django's cursor wraps psycopg's; .copy() is psycopg 3's COPY FROM STDIN
        with cur.cursor.copy(f"COPY {table} (device_id, msg_id, received_at, device_ts, values) FROM STDIN") as copy:
            for t in rows:
                copy.write_row(
                    (t.device_id, t.msg_id, t.received_at, t.device_ts, json.dumps(t.values, ensure_ascii=False))
                )


PG_CASTS = {
    "online": "boolean",
    "last_seen_at": "timestamptz",
    "last_device_ts": "timestamptz",
    "battery": "integer",
    "signal": "integer",
    "state": "text",  # sent as JSON text, cast to jsonb in the SET
    "lat": "double precision",
    "lng": "double precision",
    "position_at": "timestamptz",
}


def _save_latest(devices: list[Device]) -> None:
    """One UPDATE … FROM (VALUES …) for the batch's devices (Django's bulk_update builds a CASE per field and
    row, which costs more than the rest of the batch)."""
    conn = default_connection
    pg = conn.vendor == "postgresql"
    fields = [cast(Field, Device._meta.get_field(name)) for name in LATEST_FIELDS]
    table = Device._meta.db_table
    qn = conn.ops.quote_name
    sets = ", ".join(
        f"{qn(f.column)} = v.column{i + 2}" + ("::jsonb" if pg and f.name == "state" else "")
        for i, f in enumerate(fields)
    )
    if pg:
        # one array per column: a short statement whatever the batch (a VALUES list of 500 rows × 10 placeholders
        # costs more to build and parse than to run); plain Python values, which psycopg adapts itself
        casts = ", ".join(f"%s::{PG_CASTS[f.name]}[]" for f in fields)
        names = ", ".join(["column1"] + [f"column{i + 2}" for i in range(len(fields))])
        params: list[Any] = [[d.pk for d in devices]]
        for f in fields:
            if f.name == "state":
                params.append([json.dumps(d.state or {}, ensure_ascii=False) for d in devices])
            else:
                params.append([getattr(d, f.attname) for d in devices])
        with conn.cursor() as cur:
            cur.execute(
                f"UPDATE {table} SET {sets} FROM unnest(%s::bigint[], {casts}) AS v({names}) "
                f"WHERE {table}.id = v.column1",
                params,
            )
        return
    with conn.cursor() as cur:
        for start in range(0, len(devices), 500):
            chunk = devices[start : start + 500]
            row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
            values: list[Any] = []
            for d in chunk:
                values.append(d.pk)
                values += [f.get_db_prep_save(getattr(d, f.attname), conn) for f in fields]
            cur.execute(
                f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(chunk))}) AS v "
                f"WHERE {table}.id = v.column1",
                values,
            )


def _apply_latest(device: Device, p: Parsed) -> None:
    at = p.msg.received_at
    newest = device.last_seen_at is None or device.last_seen_at <= at
    if not newest:
        return  # an older message (redelivered late): history only, the latest state stays
    device.last_seen_at, device.last_device_ts = at, p.ts
    device.online = p.online if p.online is not None else True
    values = dict(p.values)
    if p.data:
        values.update({k: v for k, v in p.data.items() if k in ("lat", "lng") and _number(v)})
    battery = p.battery if p.battery is not None else values.get("battery")
    if _number(battery):
        device.battery = max(0, min(100, round(battery)))
    signal = p.signal if p.signal is not None else values.get("signal")
    if _number(signal):
        device.signal = max(-32768, min(32767, round(signal)))
    lat, lng = values.get("lat"), values.get("lng")
    if _number(lat) and _number(lng):
        device.lat, device.lng, device.position_at = float(lat), float(lng), at
    if p.values:
        state = dict(device.state or {})
        state.update(p.values)
        device.state = state


# ---------------------------------------------------------------- housekeeping (run by check_devices)


def _month(d: dt.date, add: int) -> dt.date:
    y, m = divmod(d.month - 1 + add, 12)
    return dt.date(d.year + y, m + 1, 1)


def ensure_partitions(months_ahead: int = 2, connection=None, today: dt.date | None = None) -> list[str]:
    """PostgreSQL: create the monthly telemetry partitions from this month to `months_ahead` ahead, through
    linli_telemetry_partition (iot migration 0006), which runs with the table owner's rights: the application
    role that runs this job may not create tables itself."""
    conn = connection or default_connection
    if conn.vendor != "postgresql":
        return []
    today = today or timezone.now().astimezone(dt.UTC).date()
    created = []
    for i in range(months_ahead + 1):
        start = _month(today, i)
        try:
            with transaction.atomic(using=conn.alias), conn.cursor() as cur:
                cur.execute("SELECT linli_telemetry_partition(%s)", [start])
                name = cur.fetchone()[0]
        except Exception:  # rows for that month already sit in the default partition
            logger.exception("could not create the telemetry partition of %s", start.strftime("%Y-%m"))
            continue
        if name:
            created.append(name)
    return created


def prune_rejected(days: int = 30) -> int:
    """Rejected messages are kept 30 days for admins to look into."""
    deleted, _ = RejectedMessage.objects.filter(received_at__lt=timezone.now() - dt.timedelta(days=days)).delete()
    return deleted


def prune_seen(days: int | None = None) -> int:
    """Forget msg_ids older than LINLI_DEDUPE_DAYS (default 7): a device will not resend those."""
    days = days or settings.LINLI_DEDUPE_DAYS
    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted, _ = SeenMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted
