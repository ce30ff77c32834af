"""Alarm lifecycle (raise, repeat, clear, close) and the periodic device check."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from linli.core.models import AuditRecord
from linli.iot import alarms
from linli.iot.ingest import ingest
from linli.iot.models import Alarm, AlarmStatus, AlarmType, Device
from linli.iot.signals import alarm_changed
from linli.iot.tasks import check_devices
from linli.iot.tests.conftest import ms, msg


@pytest.fixture
def events():
    got: list[tuple[list[int], str]] = []

    def receiver(sender, alarm_ids, event, **kw):
        got.append((alarm_ids, event))

    alarm_changed.connect(receiver)
    yield got
    alarm_changed.disconnect(receiver)


def sos(code="BR-1", msg_id="s1", at=None):
    at = at or timezone.now()
    return msg("event", code, {"msg_id": msg_id, "ts": ms(at), "event": "sos"}, at)


def test_raise_repeat_close_and_raise_again(iot, events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ingest([sos(msg_id="a")])
        ingest([sos(msg_id="b")])
    alarm = Alarm.objects.get()
    assert events == [([alarm.pk], "raised"), ([alarm.pk], "repeated")]
    assert AuditRecord.objects.filter(object_type="iot.alarm", object_id=str(alarm.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        alarms.close_alarm(iot.world.users["dispatcher"], alarm.pk, "false_alarm", "pressed by a grandchild")
    alarm.refresh_from_db()
    assert (alarm.status, alarm.close_reason, alarm.closed_by) == (
        AlarmStatus.CLOSED,
        "false_alarm",
        iot.world.users["dispatcher"],
    )
    assert events[-1] == ([alarm.pk], "closed")
    ingest([sos(msg_id="c")])
    assert Alarm.objects.filter(status=AlarmStatus.ACTIVE).count() == 1 and Alarm.objects.count() == 2


def test_close_checks_reason_permission_and_area(iot):
    ingest([sos(msg_id="a")])
    alarm = Alarm.objects.get()
    with pytest.raises(ValidationError):
        alarms.close_alarm(iot.world.users["dispatcher"], alarm.pk, "false_alarm", "")
    with pytest.raises(ValidationError):
        alarms.close_alarm(iot.world.users["dispatcher"], alarm.pk, "bogus")
    with pytest.raises(Http404):
        alarms.close_alarm(iot.world.users["dispatcher_b"], alarm.pk, "resolved")
    with pytest.raises(PermissionDenied):
        alarms.close_alarm(iot.world.users["resident"], alarm.pk, "resolved")
    alarms.close_alarm(iot.world.users["dispatcher"], alarm.pk, "resolved")
    with pytest.raises(ValidationError):
        alarms.close_alarm(iot.world.users["dispatcher"], alarm.pk, "resolved")


def test_raise_falls_back_to_counting_on_a_conflict(iot):
    now = timezone.now()
    first, created = alarms.raise_alarm(iot.smoke, AlarmType.SMOKE, at=now, severity="critical")
    second, created2 = alarms.raise_alarm(iot.smoke, AlarmType.SMOKE, at=now, severity="critical")
    assert created and not created2 and first.pk == second.pk and second.count == 2


def test_offline_detection_work_order_and_recovery(iot):
    now = timezone.now()
    Device.objects.filter(pk=iot.smoke.pk).update(last_seen_at=now - dt.timedelta(minutes=61), online=True)
    Device.objects.filter(pk=iot.button.pk).update(last_seen_at=now - dt.timedelta(minutes=50), online=True)
    result = check_devices(now)
    assert result["offline"] == 1
    alarm = Alarm.objects.get(type=AlarmType.OFFLINE)
    assert alarm.device == iot.smoke and alarm.work_order is not None and not alarm.life_safety
    assert not Device.objects.get(pk=iot.smoke.pk).online
    assert check_devices(now + dt.timedelta(minutes=1))["offline"] == 0  # once, not every minute
    ingest([msg("status", "SM-1", {"ts": ms(now), "online": True, "battery": 80}, now + dt.timedelta(minutes=2))])
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLEARED and Device.objects.get(pk=iot.smoke.pk).online


def test_inactivity_only_for_a_resident_living_alone(iot):
    base = timezone.now().replace(hour=22, minute=0)  # 06:00 in Asia/Shanghai: 12 h later is still day
    ingest([msg("event", "AB-1", {"msg_id": "m", "ts": ms(base), "event": "motion"}, base)])
    assert check_devices(base + dt.timedelta(hours=11))["inactivity"] == 0
    assert check_devices(base + dt.timedelta(hours=12, minutes=1))["inactivity"] == 1
    alarm = Alarm.objects.get(type=AlarmType.INACTIVITY)
    assert alarm.life_safety and alarm.resident == iot.world.resident_in("A1-1")
    # not living alone: no alarm however long
    other = Device.objects.get(pk=iot.abnormal.pk)
    other.pk, other.code, other.resident = None, "AB-2", iot.world.residents["A1-1/102"]
    other.state = {}
    other.save()
    assert check_devices(base + dt.timedelta(days=3))["inactivity"] == 0


def test_meter_idle_for_an_elderly_resident_living_alone(iot):
    r = iot.world.resident_in("A1-1")
    type(r).objects.filter(pk=r.pk).update(birth_date=dt.date(1940, 5, 1))
    base = timezone.now()
    ingest([msg("telemetry", "WM-1", {"msg_id": "w1", "ts": ms(base), "values": {"water_total": 12.5}}, base)])
    later = base + dt.timedelta(hours=20)
    ingest([msg("telemetry", "WM-1", {"msg_id": "w2", "ts": ms(later), "values": {"water_total": 12.5}}, later)])
    assert check_devices(base + dt.timedelta(hours=23))["meter_idle"] == 0
    assert check_devices(base + dt.timedelta(hours=25))["meter_idle"] == 1
    assert Alarm.objects.get(type=AlarmType.WATER_IDLE).device == iot.meter
