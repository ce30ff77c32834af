"""Outside channels: pass inbox notifications on to SMS, WeChat or a log.

A channel is a small object with a `name` and `send(notification) -> DeliveryResult`. The channels in
use are listed by dotted path in settings.LINLI_NOTIFY_CHANNELS and loaded once per process.

Which messages leave Linli: only the kinds in OUTSIDE_KINDS (a new assignment, an overdue or escalated
case, a request to rate); everything else stays in the in-app inbox. Users have no phone number or
WeChat id in Linli's account table (a resident's phone is sealed in the registry), so a channel hands
the gateway the user's id and username and the gateway, run by the deployment, resolves them to a phone
number or an OpenID. A gateway that cannot reach the user answers {"status": "skipped"}; we record that.

Nothing claims more than it did: the logging channel records "logged", a webhook records "sent" only on
a 2xx answer from the gateway, "failed" with the reason otherwise (docs/jobs.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from linli.notifications.models import Delivery, Notification

logger = logging.getLogger("linli.notify")

Kind = Notification.Kind
OUTSIDE_KINDS = frozenset({Kind.ASSIGNED, Kind.OVERDUE, Kind.ESCALATED, Kind.RATE})
MAX_ATTEMPTS = 3
# After this many unreachable-gateway errors in one run, leave the rest for the retry job.
GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # a Delivery.Status value
    detail: str = ""


class Channel:
    """One way out of Linli. Subclasses set `name` (≤ 20 characters, stored on each Delivery)."""

    name = ""
    kinds: frozenset[str] = OUTSIDE_KINDS

    def send(self, notification: Notification) -> DeliveryResult:
        raise NotImplementedError

    def check(self) -> list[str]:
        """Configuration problems, as sentences (shown by `manage.py check`)."""
        return []


class LoggingChannel(Channel):
    """Development: writes the message to the "linli.notify" logger. It reaches nobody."""

    name = "log"

    def send(self, notification: Notification) -> DeliveryResult:
        logger.info(
            "notify user=%s (%s) kind=%s title=%s url=%s",
            notification.user_id,
            notification.user.username,
            notification.kind,
            notification.title,
            notification.url,
        )
        return DeliveryResult(Delivery.Status.LOGGED, "written to the linli.notify log")


class GatewayUnreachableError(Exception):
    """The gateway did not answer (connection refused, timeout): worth trying again later."""


class HttpWebhookChannel(Channel):
    """POSTs the notification as JSON to a gateway the deployment runs (the SMS or WeChat provider's
    adapter lives there). Configured by <prefix>_URL and <prefix>_TOKEN, read from settings or else
    the environment; the token is sent as "Authorization: Bearer …"."""

    name = "webhook"
    prefix = "LINLI_NOTIFY_WEBHOOK"
    timeout = 5.0

    def __init__(self, url: str | None = None, token: str | None = None):
        self.url = url if url is not None else _setting(f"{self.prefix}_URL")
        self.token = token if token is not None else _setting(f"{self.prefix}_TOKEN")

    def check(self) -> list[str]:
        if not self.url:
            return [f"{type(self).__name__} is listed in LINLI_NOTIFY_CHANNELS but {self.prefix}_URL is empty."]
        if not self.url.startswith(("http://", "https://")):
            return [f"{self.prefix}_URL must start with http:// or https://."]
        return []

    def payload(self, n: Notification) -> dict:
        return {
            "id": n.pk,
            "channel": self.name,
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "url": _absolute(n.url),
            "object": {"type": n.object_type, "id": n.object_id},
            "created_at": n.created_at.isoformat() if n.created_at else None,
            "user": {
                "id": n.user_id,
                "username": n.user.username,
                "name": str(n.user),
                "language": getattr(n.user, "language", ""),
            },
        }

    def send(self, notification: Notification) -> DeliveryResult:
        problems = self.check()
        if problems:
            return DeliveryResult(Delivery.Status.FAILED, problems[0])
        data = json.dumps(self.payload(notification), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": f"linli-{notification.pk}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # check() allowed only http(s) URLs, taken from settings
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, body = response.status, response.read(2000)
        except urllib.error.HTTPError as exc:
            return DeliveryResult(Delivery.Status.FAILED, f"gateway answered HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GatewayUnreachableError(f"gateway unreachable: {reason}") from exc
        if not 200 <= status < 300:  # urllib raises on ≥ 400; a 1xx/3xx final answer is no acceptance
            return DeliveryResult(Delivery.Status.FAILED, f"gateway answered HTTP {status}")
        answer = _json_or_none(body)
        if isinstance(answer, dict) and answer.get("status") == "skipped":
            return DeliveryResult(Delivery.Status.SKIPPED, str(answer.get("detail") or "skipped by the gateway"))
        return DeliveryResult(Delivery.Status.SENT, f"gateway answered HTTP {status}")


class WebhookSmsChannel(HttpWebhookChannel):
    name = "sms"
    prefix = "LINLI_SMS_GATEWAY"


class WebhookWeChatChannel(HttpWebhookChannel):
    name = "wechat"
    prefix = "LINLI_WECHAT_GATEWAY"


def _setting(key: str) -> str:
    value = getattr(settings, key, None)
    return str(value if value is not None else os.environ.get(key, "")).strip()


def _absolute(url: str) -> str:
    base = _setting("LINLI_PUBLIC_URL").rstrip("/")
    return f"{base}{url}" if base and url.startswith("/") else url


def _json_or_none(body: bytes):
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


@cache
def configured() -> tuple[Channel, ...]:
    """The channels of settings.LINLI_NOTIFY_CHANNELS, instantiated once per process."""
    out = []
    for path in settings.LINLI_NOTIFY_CHANNELS:
        try:
            cls = import_string(path.strip())
        except ImportError as exc:
            raise ImproperlyConfigured(f"LINLI_NOTIFY_CHANNELS: cannot import {path!r}: {exc}") from exc
        channel = cls()
        if not isinstance(channel, Channel) or not channel.name or len(channel.name) > 20:
            raise ImproperlyConfigured(f"LINLI_NOTIFY_CHANNELS: {path!r} is not a Channel with a short name.")
        out.append(channel)
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured(f"LINLI_NOTIFY_CHANNELS: two channels share a name: {names}")
    return tuple(out)


@receiver(setting_changed)
def _forget_channels(setting, **kwargs):
    if setting.startswith("LINLI_NOTIFY") or setting.endswith("_GATEWAY_URL") or setting.endswith("_GATEWAY_TOKEN"):
        configured.cache_clear()


def deliver(notifications, channels: tuple[Channel, ...] | None = None) -> dict[str, int]:
    """Pass each notification of an outside kind on through every configured channel, at most once.

    Idempotent: a (notification, channel) pair is claimed by inserting its Delivery row (unique) before
    the channel is called, so a second call, a retried job or a concurrent worker never sends it again.
    A failed pair is tried again, up to MAX_ATTEMPTS in all. Returns counts by status.
    """
    channels = configured() if channels is None else channels
    counts: dict[str, int] = {}
    items = [n for n in notifications if n.kind in OUTSIDE_KINDS]
    if not items or not channels:
        return counts
    existing = {
        (d["notification_id"], d["channel"]): d
        for d in Delivery.objects.filter(notification__in=[n.pk for n in items]).values(
            "pk", "notification_id", "channel", "status", "attempts"
        )
    }
    for channel in channels:
        unreachable = 0
        for n in items:
            if n.kind not in channel.kinds or unreachable >= GIVE_UP_AFTER:
                continue
            delivery_id = _claim(n, channel.name, existing.get((n.pk, channel.name)))
            if delivery_id is None:
                continue
            try:
                result = _send(channel, n)
            except GatewayUnreachableError as exc:
                unreachable += 1
                result = DeliveryResult(Delivery.Status.FAILED, str(exc))
            Delivery.objects.filter(pk=delivery_id).update(
                status=result.status, detail=result.detail[:300], at=timezone.now()
            )
            status = str(result.status)
            counts[status] = counts.get(status, 0) + 1
        if unreachable >= GIVE_UP_AFTER:
            logger.warning("channel %s: gateway unreachable, the rest is left for the retry job", channel.name)
    return counts


def _claim(n: Notification, channel: str, row: Mapping[str, Any] | None) -> int | None:
    """The id of a Delivery row this worker now owns (status pending), or None if it is not ours to send."""
    if row is None:
        try:
            with transaction.atomic():
                return Delivery.objects.create(notification=n, channel=channel, status=Delivery.Status.PENDING).pk
        except IntegrityError:  # another worker claimed it first
            return None
    if row["status"] != Delivery.Status.FAILED or row["attempts"] >= MAX_ATTEMPTS:
        return None
    won = Delivery.objects.filter(pk=row["pk"], status=Delivery.Status.FAILED, attempts=row["attempts"]).update(
        status=Delivery.Status.PENDING, attempts=F("attempts") + 1
    )
    return row["pk"] if won else None


def _send(channel: Channel, n: Notification) -> DeliveryResult:
    if not n.user.is_active:
        return DeliveryResult(Delivery.Status.SKIPPED, "the account is disabled")
    try:
        return channel.send(n)
    except GatewayUnreachableError:
        raise
    except Exception as exc:  # a broken channel must not stop the others; the row says why
        logger.exception("channel %s failed on notification %s", channel.name, n.pk)
        return DeliveryResult(Delivery.Status.FAILED, f"{type(exc).__name__}: {exc}"[:300])


def deliver_pending(*, window: dt.timedelta = dt.timedelta(hours=24), limit: int = 2000) -> dict[str, int]:
    """Catch up: deliver recent notifications that no worker has passed on yet (written in bulk by the
    deadline sweep, or whose job was lost) and retry failed ones. Older than `window` is left alone: a
    day-old "case overdue" SMS would mislead more than help. Racing the notification's own job is
    harmless: whoever claims the Delivery row first sends it."""
    now = timezone.now()
    counts: dict[str, int] = {}
    for channel in configured():
        settled = Delivery.objects.filter(notification=OuterRef("pk"), channel=channel.name).exclude(
            status=Delivery.Status.FAILED, attempts__lt=MAX_ATTEMPTS
        )
        batch = list(
            Notification.objects.filter(kind__in=channel.kinds, created_at__gte=now - window)
            .exclude(Exists(settled))
            .select_related("user")
            .order_by("created_at")[:limit]
        )
        for status, n in deliver(batch, channels=(channel,)).items():
            counts[status] = counts.get(status, 0) + n
    return counts
