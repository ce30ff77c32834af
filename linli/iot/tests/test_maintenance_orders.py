"""Maintenance alarms (offline, low battery, tamper) become work orders that the system dispatches to the unit
that repairs the device, and that it resolves when the device recovers before anyone has started on them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from linli.cases import services
from linli.cases.classifier.model import Suggestion
from linli.cases.models import Category, HandlingUnit, RoutingRule, Status, WorkOrder
from linli.core.models import AuditRecord
from linli.iot import alarms
from linli.iot.ingest import ingest
from linli.iot.models import Alarm, AlarmStatus, AlarmType, Device, DeviceKind
from linli.iot.tasks import check_devices
from linli.iot.tests.conftest import ms, msg
from linli.notifications.models import Notification


def site_text(text) -> str:
    """What the system writes on a timeline: the site's language (zh-hans), whoever is looking. `text` is a lazy
    string or a function returning one, evaluated in that language (not in whatever an earlier test left active)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text() if callable(text) else text)


def go_offline(device: Device, now: dt.datetime, minutes: int = 61) -> Alarm:
    Device.objects.filter(pk=device.pk).update(last_seen_at=now - dt.timedelta(minutes=minutes), online=True)
    check_devices(now)
    return Alarm.objects.get(device=device, type=AlarmType.OFFLINE, status=AlarmStatus.ACTIVE)


def come_back(device: Device, at: dt.datetime, battery: int = 80) -> None:
    ingest([msg("status", device.code, {"ts": ms(at), "online": True, "battery": battery}, at)])


def timeline(case: WorkOrder) -> list[tuple[str, str, str]]:
    return [(e.action, e.to_status, e.actor_name) for e in case.events.order_by("at", "pk")]


# ---------------------------------------------------------------- who repairs the device


def test_unit_is_the_maintainer_then_the_property_company_then_routing_then_the_community(iot):
    w = iot.world
    home = Category.objects.get(code=alarms.HOME_MAINTENANCE_CATEGORY)
    vendor = HandlingUnit.objects.create(code="vendor", name="安康设备维保公司", kind="other", area=w.areas["A"])
    # A1-1 lies in estate E1, served by p1-property: the property company (the device names no estate itself)
    assert iot.smoke.estate_id is None
    assert alarms.maintenance_unit(iot.smoke, home) == w.units["p1-property"]
    iot.smoke.maintainer = vendor
    assert alarms.maintenance_unit(iot.smoke, home) == vendor
    vendor.active = False
    vendor.save()
    assert alarms.maintenance_unit(iot.smoke, home) == w.units["p1-property"]

    # B1-1 lies in estate E2, which no property unit serves: the routing rules, then the community's unit
    civil = HandlingUnit.objects.create(code="b-civil", name="小白楼街道民政科", kind="civil", area=w.areas["B"])
    RoutingRule.objects.create(category=home, area=w.areas["B"], unit=civil)
    assert alarms.maintenance_unit(iot.bracelet_b, home) == civil  # a leaf rule for the street beats "any" in B1
    RoutingRule.objects.filter(area=w.areas["B1"]).delete()
    RoutingRule.objects.filter(unit=civil).delete()
    assert alarms.maintenance_unit(iot.bracelet_b, home) == w.units["b1-community"]
    HandlingUnit.objects.filter(pk=w.units["b1-community"].pk).update(active=False)
    assert alarms.maintenance_unit(iot.bracelet_b, home) is None


def test_category_home_devices_elderly_care_common_area_devices_repair(iot):
    w = iot.world
    camera = Device(code="CAM-1", kind=DeviceKind.CAMERA, grid=w.areas["A1-1"], estate=w.estates["E1"])
    camera.copy_areas_from_grid()
    camera.save()
    assert alarms.maintenance_category(iot.bracelet) == "0701"
    assert alarms.maintenance_category(iot.smoke) == "0701"
    assert alarms.maintenance_category(camera) == "0303"
    now = timezone.now()
    alarm = go_offline(camera, now, minutes=31)
    case = alarm.work_order
    assert case.category.code == "0303" and case.lead_unit == w.units["p1-property"]


# ---------------------------------------------------------------- dispatched by the system


def test_offline_order_is_dispatched_by_the_system_to_the_property_company(
    iot, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    w = iot.world
    # the classifier would call a smoke detector's order an elevator fault: it is not even asked
    asked = []
    monkeypatch.setattr(services, "_suggest", lambda text: asked.append(text) or Suggestion("0301", 0.23))
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        alarm = go_offline(iot.smoke, now)
    case = WorkOrder.objects.get(pk=alarm.work_order_id)
    assert (case.status, case.lead_unit, case.category.code) == (Status.DISPATCHED, w.units["p1-property"], "0701")
    assert case.suggested_category is None and case.suggestion_confidence is None and not asked
    assert case.accepted_at and case.dispatched_at and case.resolve_due and case.resolve_due > now
    system = site_text(lambda: services._actor_name(None))
    assert timeline(case) == [
        ("submit", Status.SUBMITTED, system),
        ("accept", Status.ACCEPTED, system),
        ("dispatch", Status.DISPATCHED, system),
    ]
    dispatch = case.events.get(action="dispatch")
    assert dispatch.actor is None and dispatch.note == site_text(services.AUTO_DISPATCH_NOTE)
    assert dispatch.unit == case.proposed_unit == w.units["p1-property"] and "overrode_proposal" not in dispatch.data
    assert AuditRecord.objects.filter(object_type="cases.workorder", object_id=str(case.pk)).count() >= 3

    # the property staff are told and find it on their task list; nobody asks the desk to dispatch it again
    assert Notification.objects.filter(user=w.users["property"], kind="assigned", object_id=str(case.pk)).exists()
    assert not Notification.objects.filter(kind="new_case", object_id=str(case.pk)).exists()
    page = client_for("property").get(reverse("cases:tasks")).content.decode()
    assert case.title in page
    # out of scope: the other estate's property company neither sees it nor has it on its list
    other = client_for("property_b")
    assert case.title not in other.get(reverse("cases:tasks")).content.decode()
    assert other.get(reverse("cases:case-detail", args=[case.pk])).status_code == 404


def test_order_without_a_unit_waits_on_the_desk(iot, django_capture_on_commit_callbacks):
    w = iot.world
    HandlingUnit.objects.filter(area__in=[w.areas["B1"], w.areas["B"]]).update(active=False)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        alarm = go_offline(iot.bracelet_b, now, minutes=31)
    case = alarm.work_order
    assert case.status == Status.SUBMITTED and case.lead_unit is None
    assert case.category.code == "0701" and case.suggested_category is None
    assert Notification.objects.filter(kind="new_case", object_id=str(case.pk)).exists()
    assert not Notification.objects.filter(kind="new_case", user=w.users["dispatcher"]).exists()  # street A's

    # recovered before any dispatcher took it up: closed by the system as not accepted, with the reason
    come_back(iot.bracelet_b, now + dt.timedelta(minutes=1))
    case.refresh_from_db()
    assert case.status == Status.REJECTED and case.closed_at is not None
    assert case.events.get(action="reject").note == site_text(lambda: alarms._("Device recovered"))


# ---------------------------------------------------------------- the device recovers


def test_recovery_resolves_an_order_nobody_started(iot, django_capture_on_commit_callbacks):
    now = timezone.now()
    alarm = go_offline(iot.smoke, now)
    case = alarm.work_order
    with django_capture_on_commit_callbacks(execute=True):
        come_back(iot.smoke, now + dt.timedelta(minutes=2))
    alarm.refresh_from_db()
    case.refresh_from_db()
    recovered = site_text(lambda: alarms._("Device recovered"))
    assert alarm.status == AlarmStatus.CLEARED
    assert (case.status, case.resolution, case.lead_unit) == (
        Status.RESOLVED,
        recovered,
        iot.world.units["p1-property"],
    )
    system = site_text(lambda: services._actor_name(None))
    assert timeline(case)[-2:] == [("start", Status.IN_PROGRESS, system), ("resolve", Status.RESOLVED, system)]
    assert case.events.get(action="resolve").note == recovered

    # the device drops out again: a new order, the finished one is left alone
    later = now + dt.timedelta(hours=3)
    again = go_offline(iot.smoke, later)
    assert again.work_order_id != case.pk and again.work_order.status == Status.DISPATCHED
    assert services.machine_recovered(case.pk, "x") == ""
    assert not case.events.filter(note="x").exists()


def test_recovery_only_notes_an_order_someone_works_on(iot, django_capture_on_commit_callbacks):
    w = iot.world
    now = timezone.now()
    alarm = go_offline(iot.smoke, now)
    case = services.act(w.users["property"], alarm.work_order_id, "start")
    with django_capture_on_commit_callbacks(execute=True):
        come_back(iot.smoke, now + dt.timedelta(minutes=2))
    case.refresh_from_db()
    recovered = site_text(lambda: alarms._("Device recovered"))
    assert case.status == Status.IN_PROGRESS and case.handler == w.users["property"]
    assert case.events.order_by("-at", "-pk").first().note == recovered
    told = Notification.objects.get(user=w.users["property"], kind="progress", object_id=str(case.pk))
    assert told.body == recovered

    # the same alarm again while the order is open: a note on the same order, not a second order
    later = now + dt.timedelta(hours=2)
    again = go_offline(iot.smoke, later)
    assert again.pk != alarm.pk and again.work_order_id == case.pk
    assert case.events.filter(action="comment", data__repeat=True).count() == 1
    assert WorkOrder.objects.filter(external_ref="iot:SM-1:offline").count() == 1
    # the unit finishes it as usual
    services.act(w.users["property"], case.pk, "resolve", note="换了电池")
    assert WorkOrder.objects.get(pk=case.pk).status == Status.RESOLVED


def test_low_battery_order_resolves_when_the_battery_is_back_above_the_margin(iot):
    now = timezone.now()
    ingest([msg("status", "CB-1", {"ts": ms(now), "battery": 10}, now)])
    alarm = Alarm.objects.get(type=AlarmType.LOW_BATTERY, device=iot.button)
    assert alarm.work_order.status == Status.DISPATCHED
    ingest([msg("status", "CB-1", {"ts": ms(now), "battery": 22}, now + dt.timedelta(seconds=5))])
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.ACTIVE  # wavering at the level: still low
    assert WorkOrder.objects.get(pk=alarm.work_order_id).status == Status.DISPATCHED
    ingest([msg("status", "CB-1", {"ts": ms(now), "battery": 100}, now + dt.timedelta(seconds=9))])
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.CLEARED
    assert WorkOrder.objects.get(pk=alarm.work_order_id).status == Status.RESOLVED


def test_tamper_opens_a_dispatched_order_that_a_person_closes(iot):
    now = timezone.now()
    ingest([msg("event", "SM-1", {"msg_id": "t1", "ts": ms(now), "event": "tamper"}, now)])
    alarm = Alarm.objects.get(type=AlarmType.TAMPER)
    assert not alarm.life_safety and alarm.work_order.status == Status.DISPATCHED
    assert alarm.work_order.lead_unit == iot.world.units["p1-property"]
    # a heartbeat does not undo a tampering: the order stays with the unit
    come_back(iot.smoke, now + dt.timedelta(seconds=30))
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.ACTIVE
    assert WorkOrder.objects.get(pk=alarm.work_order_id).status == Status.DISPATCHED


def test_life_safety_alarms_open_no_order(iot):
    now = timezone.now()
    ingest([msg("event", "BR-1", {"msg_id": "s1", "ts": ms(now), "event": "sos"}, now)])
    assert Alarm.objects.get(type=AlarmType.SOS).work_order is None and not WorkOrder.objects.exists()


# ---------------------------------------------------------------- failures and bad input


def test_a_failing_order_never_loses_the_alarm_or_its_clearing(iot, monkeypatch):
    now = timezone.now()
    alarm = go_offline(iot.smoke, now)

    def broken(*a, **kw):
        raise RuntimeError("cases unavailable")

    monkeypatch.setattr(services, "machine_recovered", broken)
    come_back(iot.smoke, now + dt.timedelta(minutes=2))
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.CLEARED
    assert WorkOrder.objects.get(pk=alarm.work_order_id).status == Status.DISPATCHED

    monkeypatch.setattr(services, "open_from_machine", broken)
    second = go_offline(iot.button, now)
    assert second.work_order is None


@pytest.mark.parametrize("pk", [0, -1, 10**9])
def test_recovery_of_an_unknown_order_does_nothing(world, pk):
    assert services.machine_recovered(pk, "设备已恢复") == ""


def test_a_returned_order_is_noted_and_the_desk_told(iot, django_capture_on_commit_callbacks):
    w = iot.world
    now = timezone.now()
    alarm = go_offline(iot.smoke, now)
    services.act(w.users["property"], alarm.work_order_id, "return", note="不是我们的设备")
    with django_capture_on_commit_callbacks(execute=True):
        come_back(iot.smoke, now + dt.timedelta(minutes=2))
    case = WorkOrder.objects.get(pk=alarm.work_order_id)
    assert case.status == Status.RETURNED and case.events.filter(action="comment").exists()
    told = Notification.objects.filter(kind="progress", object_id=str(case.pk)).values_list("user__username", flat=True)
    assert "street" in set(told) or "dispatcher" in set(told)
    assert "property" not in set(told)


def test_a_case_a_person_reopened_is_only_noted_when_the_device_recovers(iot):
    # the device keeps failing: the street reopens the order the system resolved; the next recovery must not
    # resolve it again behind the unit's back
    w = iot.world
    now = timezone.now()
    pk = go_offline(iot.smoke, now).work_order_id
    come_back(iot.smoke, now + dt.timedelta(minutes=2))
    assert WorkOrder.objects.get(pk=pk).status == Status.RESOLVED
    services.act(w.users["street"], pk, "reopen", note="设备反复掉线，请更换设备")
    assert go_offline(iot.smoke, now + dt.timedelta(hours=3)).work_order_id == pk
    come_back(iot.smoke, now + dt.timedelta(hours=3, minutes=2))
    case = WorkOrder.objects.get(pk=pk)
    assert case.status == Status.DISPATCHED
    assert case.events.order_by("-at", "-pk").first().action == "comment"


def test_a_case_the_unit_returned_and_the_desk_sent_on_is_only_noted(iot):
    w = iot.world
    now = timezone.now()
    pk = go_offline(iot.smoke, now).work_order_id
    services.act(w.users["property"], pk, "return", note="不是我们维保的设备")
    services.act(w.users["street"], pk, "dispatch", unit=w.units["p1-property"], note="请再看看")
    come_back(iot.smoke, now + dt.timedelta(minutes=2))
    assert WorkOrder.objects.get(pk=pk).status == Status.DISPATCHED


def test_a_failed_system_dispatch_leaves_the_order_on_the_desk(iot, monkeypatch, django_capture_on_commit_callbacks):
    # the order is kept and the dispatchers are told, as for any new case
    def broken(*args, **kwargs):
        raise RuntimeError("dispatch failed")

    monkeypatch.setattr(services, "dispatch_by_system", broken)
    with django_capture_on_commit_callbacks(execute=True):
        alarm = go_offline(iot.smoke, timezone.now())
    case = WorkOrder.objects.get(pk=alarm.work_order_id)
    assert case.status == Status.SUBMITTED and case.lead_unit_id is None
    assert Notification.objects.filter(kind="new_case", object_id=str(case.pk)).exists()
