"""Escalation of untaken alarms without flooding the shift lead: one inbox notification per lead and alarm,
naming who (masked) and where and linking to the alarm on the console, bumped at each reminder
(LINLI_ALARM_REMIND_SECONDS) until someone claims the alarm; the console names who was told."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.dispatch import services
from linli.dispatch.models import Crew, Shift
from linli.dispatch.tests.factories import make_alarm
from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db


def escalations(alarm=None):
    rows = Notification.objects.filter(kind="escalated")
    return rows.filter(object_id=str(alarm.pk)) if alarm is not None else rows


@pytest.fixture
def timing(settings):
    settings.LINLI_ALARM_ESCALATE_SECONDS = 30
    settings.LINLI_ALARM_REMIND_SECONDS = 300
    return settings


def test_ten_minutes_untaken_is_one_notification_per_alarm_with_who_and_where(world, timing):
    now = timezone.now()
    old = make_alarm(world, "A1-1", at=now - dt.timedelta(seconds=45))
    young = make_alarm(world, "A1-2", at=now - dt.timedelta(seconds=10))
    other = make_alarm(world, "B1-1", at=now - dt.timedelta(seconds=45))
    name = world.resident_in("A1-1").name

    assert services.escalate(now) == 2  # old (street A) and other (street B: no lead there in the test world)
    note = escalations(old).get()
    assert note.user == world.users["shift_lead"]
    assert note.url == f"/dispatch/#alarm-{old.pk}"
    assert name[0] + "*" in note.title and name not in note.title + note.body  # who, masked
    assert "新华里小区 1号楼 1-101 · 新华里社区" in note.title  # where: estate, house and community
    assert "45" in note.body  # how long it has waited
    assert not escalations(other).exists()  # street A's lead hears nothing of street B

    # every minute for ten minutes, as the periodic job runs: the young one escalates once, the old one is
    # reminded at 5 and 10 minutes, and the lead still has one notification per alarm
    note_ids = {note.pk}
    for second in range(0, 601, 60):
        services.escalate(now + dt.timedelta(seconds=second))
    assert escalations().filter(user=world.users["shift_lead"]).count() == 2
    assert escalations(old).get().pk in note_ids
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.notify_count == 3 and old.escalated_at == now
    assert young.notify_count == 2  # escalated at 60 s, reminded at 360 s (the next is due at 660 s)


def test_a_reminder_bumps_the_same_notification_unread_to_the_top(world, timing):
    now = timezone.now()
    alarm = make_alarm(world, "A1-1", at=now - dt.timedelta(seconds=31))
    assert services.escalate(now) == 1
    note = escalations(alarm).get()
    Notification.objects.filter(pk=note.pk).update(read_at=now)
    # within the reminder interval nothing happens, however often the job runs
    for second in (1, 60, 299):
        assert services.escalate(now + dt.timedelta(seconds=second)) == 0
    assert escalations(alarm).get().read_at is not None
    later = now + dt.timedelta(seconds=300)
    assert services.escalate(later) == 1
    bumped = escalations(alarm).get()
    assert bumped.pk == note.pk and bumped.read_at is None and bumped.created_at == later
    assert "5" in bumped.body  # waited 5 min 31 s
    # once someone claims it, the reminders stop
    services.claim(world.users["dispatcher"], alarm.pk)
    assert services.escalate(now + dt.timedelta(seconds=3600)) == 0
    assert escalations(alarm).count() == 1


def test_the_lead_reads_it_in_their_language(world, timing):
    lead = world.users["shift_lead"]
    lead.language = "en"
    lead.save(update_fields=["language"])
    now = timezone.now()
    alarm = make_alarm(world, "A1-1", at=now - dt.timedelta(seconds=75))
    services.escalate(now)
    note = escalations(alarm).get()
    assert note.title.startswith("Not taken: ") and "1 min 15 s" in note.body


def test_a_lead_coming_on_duty_gets_their_own_at_the_next_reminder(world, timing):
    now = timezone.now()
    alarm = make_alarm(world, "B1-1", at=now - dt.timedelta(seconds=40))
    assert services.escalate(now) == 1
    assert not escalations(alarm).exists()  # nobody leads street B yet
    crew = Crew.objects.create(area=world.areas["B"], name="B crew")
    Shift.objects.create(
        area=world.areas["B"],
        crew=crew,
        name="day",
        starts_at=now,
        ends_at=now + dt.timedelta(hours=8),
        lead=world.users["street_b"],
    )
    assert services.escalate(now + dt.timedelta(seconds=60)) == 0
    assert services.escalate(now + dt.timedelta(seconds=300)) == 1
    assert list(escalations(alarm).values_list("user__username", flat=True)) == ["street_b"]


def test_the_console_says_to_whom_it_was_escalated(world, timing, client_for):
    lead = world.users["shift_lead"]
    lead.display_name = "王值班"
    lead.save(update_fields=["display_name"])
    now = timezone.now()
    alarm = make_alarm(world, "A1-1", at=now - dt.timedelta(seconds=40))
    fresh = make_alarm(world, "A1-2")
    services.escalate(now)
    rows = {a["id"]: a for a in client_for("dispatcher").get("/dispatch/alarms.json").json()["alarms"]}
    assert rows[alarm.pk]["escalated"] and rows[alarm.pk]["escalated_to"] == ["王值班"]
    assert not rows[fresh.pk]["escalated"] and rows[fresh.pk]["escalated_to"] == []
    # street B's console knows nothing of it
    assert alarm.pk not in {a["id"] for a in client_for("dispatcher_b").get("/dispatch/alarms.json").json()["alarms"]}
