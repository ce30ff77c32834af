"""Outside channels: the logging channel claims nothing, the webhook says "sent" only on a 2xx, nothing
is handed over twice, and nothing leaves before (or without) the commit."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest
from django.db import transaction
from django.test import override_settings

from linli.notifications import channels, checks
from linli.notifications.models import Delivery, Notification
from linli.notifications.services import notify

pytestmark = pytest.mark.django_db

LOG = "linli.notifications.channels.LoggingChannel"
SMS = "linli.notifications.channels.WebhookSmsChannel"


def note(user, kind="assigned", **kw) -> Notification:
    return Notification.objects.create(user=user, kind=kind, title=kw.pop("title", "新工单"), url="/cases/1/", **kw)


def sms(gateway, **extra):
    return override_settings(
        LINLI_NOTIFY_CHANNELS=[SMS], LINLI_SMS_GATEWAY_URL=gateway.url, LINLI_SMS_GATEWAY_TOKEN="s3cret", **extra
    )


@override_settings(LINLI_NOTIFY_CHANNELS=[LOG])
def test_logging_channel_records_logged_never_sent(world, caplog):
    n = note(world.users["grid"], title="请处理工单 WO-1")
    with caplog.at_level(logging.INFO, logger="linli.notify"):
        counts = channels.deliver([n])
    assert counts == {"logged": 1}
    d = Delivery.objects.get(notification=n)
    assert (d.channel, d.status, d.attempts) == ("log", Delivery.Status.LOGGED, 1)
    assert not Delivery.objects.filter(status=Delivery.Status.SENT).exists()
    assert "请处理工单 WO-1" in caplog.text and "grid" in caplog.text


@override_settings(LINLI_NOTIFY_CHANNELS=[LOG])
def test_only_kinds_that_matter_leave_the_inbox(world):
    kept = [note(world.users["grid"], kind=k) for k in ("progress", "due_soon", "new_case", "returned")]
    sent = [note(world.users["grid"], kind=k) for k in ("assigned", "overdue", "escalated", "rate")]
    channels.deliver(kept + sent)
    assert not Delivery.objects.filter(notification__in=kept).exists()
    assert Delivery.objects.filter(notification__in=sent, status="logged").count() == 4


def test_webhook_2xx_is_sent_once(world, gateway):
    n = note(world.users["grid"])
    with sms(gateway, LINLI_PUBLIC_URL="https://linli.example.org"):
        assert channels.deliver([n]) == {"sent": 1}
        assert channels.deliver([n]) == {}  # a second run hands nothing over again
        channels.deliver(Notification.objects.filter(pk=n.pk))
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Idempotency-Key"] == f"linli-{n.pk}"
    body = request["json"]
    assert body["user"] == {"id": n.user_id, "username": "grid", "name": str(n.user), "language": n.user.language}
    assert (body["kind"], body["title"], body["channel"]) == ("assigned", "新工单", "sms")
    assert body["url"] == "https://linli.example.org/cases/1/"
    d = Delivery.objects.get(notification=n)
    assert (d.channel, d.status, d.attempts) == ("sms", "sent", 1)


def test_webhook_500_is_failed_with_the_reason_and_retried(world, gateway):
    n = note(world.users["grid"])
    gateway.status = 500
    with sms(gateway):
        assert channels.deliver([n]) == {"failed": 1}
        d = Delivery.objects.get(notification=n)
        assert d.status == "failed" and "HTTP 500" in d.detail

        gateway.status = 202
        assert channels.deliver([n]) == {"sent": 1}
        assert channels.deliver([n]) == {}
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("sent", 2)
    assert len(gateway.requests) == 2


def test_webhook_failures_stop_after_max_attempts(world, gateway):
    n = note(world.users["grid"])
    gateway.status = 503
    with sms(gateway):
        for _ in range(channels.MAX_ATTEMPTS + 2):
            channels.deliver([n])
    assert len(gateway.requests) == channels.MAX_ATTEMPTS
    assert Delivery.objects.get(notification=n).attempts == channels.MAX_ATTEMPTS


def test_gateway_may_say_it_cannot_reach_the_user(world, gateway):
    n = note(world.users["resident"], kind="rate")
    gateway.answer = {"status": "skipped", "detail": "no phone number on file"}
    with sms(gateway):
        channels.deliver([n])
    d = Delivery.objects.get(notification=n)
    assert (d.status, d.detail) == ("skipped", "no phone number on file")


def test_disabled_account_is_skipped_without_calling_the_gateway(world, gateway):
    user = world.users["grid"]
    n = note(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    with sms(gateway):
        channels.deliver(Notification.objects.filter(pk=n.pk).select_related("user"))
    assert Delivery.objects.get(notification=n).status == "skipped"
    assert gateway.requests == []


def test_unreachable_gateway_fails_fast_and_leaves_the_rest_for_later(world):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    items = [note(world.users["grid"]) for _ in range(5)]
    with override_settings(LINLI_NOTIFY_CHANNELS=[SMS], LINLI_SMS_GATEWAY_URL=url):
        assert channels.deliver(items) == {"failed": channels.GIVE_UP_AFTER}
    rows = Delivery.objects.filter(notification__in=items)
    assert rows.count() == channels.GIVE_UP_AFTER
    assert all("unreachable" in d.detail for d in rows)


def test_catch_up_delivers_bulk_written_notices_within_a_day(world, gateway):
    fresh = Notification.objects.bulk_create([Notification(user=world.users["grid"], kind="overdue", title="超期")])[0]
    old = note(world.users["grid"], kind="overdue")
    Notification.objects.filter(pk=old.pk).update(created_at=old.created_at - dt.timedelta(days=2))
    with sms(gateway):
        assert channels.deliver_pending() == {"sent": 1}
        assert channels.deliver_pending() == {}
    assert [r["json"]["id"] for r in gateway.requests] == [fresh.pk]
    assert not Delivery.objects.filter(notification=old).exists()


def test_notify_passes_on_only_after_commit(world, django_capture_on_commit_callbacks):
    grid = world.users["grid"]
    with override_settings(LINLI_NOTIFY_CHANNELS=[LOG]):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            try:
                with transaction.atomic():
                    notify([grid], "assigned", "回滚的工单")
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
        assert callbacks == []
        assert not Notification.objects.filter(title="回滚的工单").exists()
        assert not Delivery.objects.exists()

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                (n,) = notify([grid, grid], "assigned", "新工单")
            assert not Delivery.objects.exists()  # not before the commit
        assert len(callbacks) == 1
    assert Delivery.objects.get(notification=n).status == "logged"


def test_notify_of_an_inbox_only_kind_queues_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify([world.users["grid"]], "progress", "进展")
    assert callbacks == []


def test_misconfigured_channels_fail_the_system_checks():
    with override_settings(LINLI_NOTIFY_CHANNELS=[SMS], LINLI_SMS_GATEWAY_URL=""):
        assert [m.id for m in checks.channels_configured()] == ["linli.E302"]
    with override_settings(LINLI_NOTIFY_CHANNELS=[SMS], LINLI_SMS_GATEWAY_URL="ftp://gw/"):
        assert [m.id for m in checks.channels_configured()] == ["linli.E302"]
    with override_settings(LINLI_NOTIFY_CHANNELS=["linli.notifications.channels.NoSuchChannel"]):
        assert [m.id for m in checks.channels_configured()] == ["linli.E301"]
    with override_settings(LINLI_NOTIFY_CHANNELS=[LOG, LOG]):
        assert [m.id for m in checks.channels_configured()] == ["linli.E301"]
    with override_settings(LINLI_NOTIFY_CHANNELS=[LOG]):
        assert checks.channels_configured() == []
        assert checks.channels_reach_people() == []
        with override_settings(PRODUCTION=True):
            assert [m.id for m in checks.channels_reach_people()] == ["linli.W301"]
