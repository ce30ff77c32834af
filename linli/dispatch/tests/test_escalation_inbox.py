"""A shift lead's "not taken" notification is settled (marked read) once the alarm is claimed, closed or cleared:
the inbox no longer asks them to act on an alarm that someone is handling."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.dispatch import services
from linli.dispatch.tests.factories import make_alarm
from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db


def unread(alarm):
    return Notification.objects.filter(kind="escalated", object_id=str(alarm.pk), read_at__isnull=True)


def test_claiming_settles_the_leads_notification_and_only_that_alarms(
    world, settings, django_capture_on_commit_callbacks
):
    settings.LINLI_ALARM_ESCALATE_SECONDS = 30
    now = timezone.now()
    taken = make_alarm(world, "A1-1", at=now - dt.timedelta(seconds=45))
    waiting = make_alarm(world, "A1-2", at=now - dt.timedelta(seconds=45))
    services.escalate(now)
    assert unread(taken).count() == 1 and unread(waiting).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.claim(world.users["dispatcher"], taken.pk)
    assert unread(taken).count() == 0
    assert unread(waiting).count() == 1  # still nobody on it: the lead must still see it


def test_other_alarm_events_leave_the_notification_alone(world, settings):
    from linli.dispatch import escalation_inbox

    settings.LINLI_ALARM_ESCALATE_SECONDS = 30
    alarm = make_alarm(world, "A1-1", at=timezone.now() - dt.timedelta(seconds=45))
    services.escalate(timezone.now())
    escalation_inbox.on_alarm_changed(None, alarm_ids=[alarm.pk], event="repeated")
    assert unread(alarm).count() == 1
    escalation_inbox.on_alarm_changed(None, alarm_ids=[alarm.pk], event="cleared")
    assert unread(alarm).count() == 0
