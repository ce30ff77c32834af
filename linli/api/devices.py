"""The HTTP device API (docs/devices.md): the MQTT contract's payloads over HTTPS, for devices and gateways
without MQTT. A device authenticates with its own secret: `Authorization: Device <secret>`.

    POST /api/v1/devices/{code}/telemetry | events | status
    POST /api/v1/gateways/{code}/telemetry | events        (each payload names its sub-device in "device_code")

The body is one payload object or a JSON array of up to 500 of them. If any payload breaks the contract the
request is refused as a whole (400, nothing stored) and each bad item is named; a wrong secret is 401. Both
are counted as rejected messages, visible to admins. A device (or gateway) code that sends more than
LINLI_DEVICE_API_PER_MINUTE requests in a minute gets 429 with Retry-After until the minute is over, before its
secret is even checked: a looping device or someone guessing secrets costs one cache increment per request.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema

from linli.api.errors import ApiError
from linli.api.schemas import answers
from linli.iot import ingest as ing
from linli.iot.credentials import check_secret
from linli.iot.display import detail_text
from linli.iot.models import Device, DeviceKind

router = Router(tags=["devices"])

MAX_ITEMS = 500
MAX_BODY = 2 * 1024 * 1024


class IngestOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    results: list[str]


def _secret(request: HttpRequest) -> str | None:
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "device" and value.strip() else None


def _wait_seconds(code: str) -> int | None:
    """Seconds until the next minute when `code` is over its requests per minute, else None (fixed window)."""
    limit = settings.LINLI_DEVICE_API_PER_MINUTE
    if limit <= 0:
        return None
    now = time.time()
    key = f"linli:iot:http:{code[:64]}:{int(now // 60)}"
    if cache.add(key, 1, timeout=120):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=120)
            count = 1
    return max(1, 60 - int(now % 60)) if count > limit else None


def _handle(request: HttpRequest, code: str, kind: str, gateway: bool) -> dict:
    wait = _wait_seconds(code)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            _(
                "This device sent more than %(n)s requests this minute. Wait %(s)s s, and send several payloads "
                "in one request (up to 500)."
            )
            % {"n": settings.LINLI_DEVICE_API_PER_MINUTE, "s": wait},
            headers={"Retry-After": str(wait)},
        )
    now = timezone.now()
    source = request.path[:200]
    probe = ing.Message(kind=kind, code=code, payload=request.body[: ing.KEEP_PAYLOAD], received_at=now, source=source)
    device = Device.objects.filter(code=code, active=True).first()
    if device is not None and gateway and device.kind != DeviceKind.GATEWAY:
        device = None
    if not check_secret(device, _secret(request)):
        ing.reject([(probe, "unknown_device" if device is None else "bad_secret", "")])
        raise ApiError(
            401, "not_authenticated", _("Unknown device or wrong device secret: send Authorization: Device <secret>.")
        )
    if len(request.body) > MAX_BODY:
        ing.reject([(probe, "too_large", f"bytes: {len(request.body)}")])
        raise ApiError(400, "too_large", _("The request is larger than 2 MB; send smaller batches."))
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        ing.reject([(probe, "bad_json", "")])
        raise ApiError(400, "bad_json", _("The body is not valid JSON.")) from None
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_ITEMS:
        ing.reject([(probe, "bad_shape", f"items: {len(items)}")])
        raise ApiError(400, "bad_shape", _("Send one payload or an array of 1 to 500 payloads."))
    messages = [ing.Message(kind, code, item, now, gateway=gateway, source=source) for item in items]
    fields: dict[str, list[str]] = {}
    bad: list[tuple[ing.Message, str, str]] = []
    for i, m in enumerate(messages):
        try:
            ing.parse(i, m)
        except ing.RejectedError as r:
            fields[str(i)] = [str(ing.REASONS[r.code])] + ([detail_text(r.detail)] if r.detail else [])
            bad.append((m, r.code, r.detail))
    if bad:
        ing.reject(bad)
        raise ApiError(400, "bad_payload", _("Some payloads break the device contract; nothing was stored."), fields)
    result = ing.ingest(messages)
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "results": result.outcomes,
    }


def _device_op(kind: str):
    def op(request: HttpRequest, code: str):
        return _handle(request, code, kind, gateway=False)

    op.__name__ = f"device_{kind}"
    return op


def _gateway_op(kind: str):
    def op(request: HttpRequest, code: str):
        return _handle(request, code, kind, gateway=True)

    op.__name__ = f"gateway_{kind}"
    return op


for _path, _kind in (("telemetry", "telemetry"), ("events", "event"), ("status", "status")):
    router.post(
        f"/devices/{{code}}/{_path}",
        response=answers(IngestOut),
        auth=None,
        url_name=f"device_{_kind}",
        summary=f"Device {_path}",
    )(_device_op(_kind))
for _path, _kind in (("telemetry", "telemetry"), ("events", "event")):
    router.post(
        f"/gateways/{{code}}/{_path}",
        response=answers(IngestOut),
        auth=None,
        url_name=f"gateway_{_kind}",
        summary=f"Gateway {_path}",
    )(_gateway_op(_kind))
