"""The demo's dispatch history (linli/core/generate/dispatch_history.py): weeks of incidents with whole timestamp
chains, claimed by the crew on duty, that make the KPI page meaningful; written once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from linli.cases.kpi import Period
from linli.core.generate.dispatch_history import WEEKS_BACK, ensure_dispatch_history
from linli.dispatch import kpi
from linli.dispatch.models import Crew, Incident, IncidentEvent, IncidentStatus, Rescuer, Shift
from linli.dispatch.tests.test_kpi import SH, make_device
from linli.iot.models import OPEN_ALARM, Alarm, DeviceKind
from linli.testing.world import make_user

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 12, 15, 30, tzinfo=SH)  # a Thursday
MONDAY = dt.date(2026, 3, 9)


@pytest.fixture
def street(world):
    a = world.areas["A"]
    for i, c in enumerate("ABC"):
        crew = Crew.objects.create(area=a, name=f"Crew {c}")
        for j in range(2):
            crew.members.add(make_user(f"taker{i}{j}", "dispatcher", area=a))
        Rescuer.objects.create(user=make_user(f"resc{i}", "rescuer", area=a), area=a, crew=crew)
    for i in range(12):
        make_device(world, ("A1-1", "A1-2", "A2-1")[i % 3], kind=(DeviceKind.BRACELET, DeviceKind.SMOKE)[i % 2])
    make_device(world, "B1-1")  # another street: never in street A's history
    return a


def test_history_has_whole_chains_by_the_crew_on_duty(world, street):
    history = ensure_dispatch_history(street, now=NOW)
    first = MONDAY - dt.timedelta(weeks=WEEKS_BACK)
    # the roster: from four weeks back to the end of next week, each crew with a lead, each shift too
    days = (MONDAY + dt.timedelta(days=14) - first).days
    assert Shift.objects.filter(area=street).count() == history.shifts == 3 * days
    assert not Crew.objects.filter(area=street, lead__isnull=True).exists() and history.leads == 3
    assert not Shift.objects.filter(area=street, lead__isnull=True).exists()
    # about eight alarms a day over four and a half weeks, all closed, all in street A, none in the last two hours
    alarms = Alarm.objects.filter(life_safety=True)
    assert 150 < history.alarms == alarms.count() < 400
    assert not alarms.exclude(street=street).exists() and not alarms.filter(status__in=OPEN_ALARM).exists()
    assert not alarms.filter(raised_at__gt=NOW - dt.timedelta(hours=2)).exists()
    assert alarms.filter(raised_at__lt=dt.datetime.combine(first + dt.timedelta(days=2), dt.time(0), tzinfo=SH))
    incidents = list(Incident.objects.select_related("shift__crew", "alarm"))
    assert len(incidents) == history.incidents > 100
    for i in incidents:
        chain = [i.received_at, i.acknowledged_at, i.called_back_at, i.dispatched_at, i.en_route_at, i.on_scene_at]
        times = [t for t in chain if t is not None] + [i.closed_at]
        assert times == sorted(times) and i.alarm.raised_at == i.received_at, i.pk
        assert i.shift.starts_at <= i.received_at < i.shift.ends_at
        assert i.shift.crew.members.filter(pk=i.call_taker_id).exists()
        if i.rescuer_id:
            assert i.status == IncidentStatus.COMPLETED and i.rescuer.crew_id == i.shift.crew_id
        events = list(IncidentEvent.objects.filter(incident=i).order_by("at", "pk").values_list("action", flat=True))
        assert events[:2] == ["received", "claimed"] and events[-1] == "closed"
    # the KPIs say something: many days, most on scene within 18 minutes, some false alarms, devices offline
    lead = make_user("lead_hist", "shift_lead", area=street)
    rep = kpi.report(lead, Period(first, MONDAY + dt.timedelta(days=3), "custom"), "day", now=NOW)
    assert len(rep.daily) >= 28
    assert 0.6 < rep.total.within_share < 1 and 0.05 < rep.total.false_rate < 0.4
    assert rep.total.scene.p90 > rep.total.scene.median > rep.total.ack.median > 0
    assert rep.offline_hours > 0 and history.offline > 0
    shifts = kpi.report(lead, Period(MONDAY, MONDAY, "custom"), "shift", now=NOW).rows
    assert len(shifts) == 3 and all("Crew" in r.label for r in shifts)


def test_history_is_written_once(world, street):
    ensure_dispatch_history(street, now=NOW)
    counts = (Alarm.objects.count(), Incident.objects.count(), IncidentEvent.objects.count(), Shift.objects.count())
    assert ensure_dispatch_history(street, now=NOW + dt.timedelta(days=1)).shifts == 0  # the same week
    again = ensure_dispatch_history(street, now=NOW + dt.timedelta(days=7))
    assert (again.alarms, again.incidents, again.leads) == (0, 0, 0)
    assert again.shifts == 21  # a week later the roster reaches a week further; nothing else is written
    assert (Alarm.objects.count(), Incident.objects.count(), IncidentEvent.objects.count()) == counts[:3]


def test_no_devices_no_history(world):
    street = world.areas["B"]
    history = ensure_dispatch_history(street, now=NOW)
    assert history.alarms == 0 and not Incident.objects.exists()
    assert Shift.objects.filter(area=street).exists()  # the roster is made all the same


def test_kpi_page_says_what_it_counts(world, street, client_for):
    ensure_dispatch_history(street, now=NOW)
    user = world.users["shift_lead"]
    user.language = "en"
    user.save(update_fields=["language"])
    body = client_for("shift_lead").get(reverse("shifts:kpi") + "?period=custom&start=2026-02-09&end=2026-03-12")
    text = body.content.decode()
    assert "counted by the time the alarm was received" in text and "cases counted by" not in text
    assert "device offline-hours within the period" in text
