"""Dispatch KPIs on a small hand-built set of incidents: exact numbers, scope, the page and the .xlsx export."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from linli.cases.kpi import Period
from linli.dispatch import kpi, roster
from linli.dispatch.models import Crew, Incident, IncidentStatus, Shift
from linli.iot.models import Alarm, AlarmStatus, AlarmType, CloseReason, Device, DeviceKind, Severity
from linli.testing.world import make_user

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 10)
pytestmark = pytest.mark.django_db
_seq = itertools.count(1)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SH)


def make_device(world, grid: str = "A1-1", *, online: bool = True, kind: str = DeviceKind.BRACELET) -> Device:
    d = Device(code=f"KPI-{next(_seq)}", kind=kind, grid=world.areas[grid], online=online)
    d.copy_areas_from_grid()
    d.save()
    return d


def make_alarm(world, raised: dt.datetime, *, grid="A1-1", type=AlarmType.SOS, reason="", cleared=None) -> Alarm:
    dev = make_device(world, grid)
    life = type != AlarmType.OFFLINE
    a = Alarm(
        device=dev,
        type=type,
        severity=Severity.CRITICAL,
        life_safety=life,
        status=AlarmStatus.CLOSED if reason else (AlarmStatus.CLEARED if cleared else AlarmStatus.ACTIVE),
        grid=dev.grid,
        community=dev.community,
        street=dev.street,
        district=dev.district,
        city=dev.city,
        raised_at=raised,
        last_at=raised,
        close_reason=reason,
        cleared_at=cleared,
    )
    a.save()
    return a


def make_incident(
    world,
    received: dt.datetime,
    ack: float,
    dispatch: float | None = None,
    scene: float | None = None,
    *,
    grid="A1-1",
    reason="",
    callback="",
    shift=None,
    status=IncidentStatus.COMPLETED,
) -> Incident:
    alarm = make_alarm(world, received, grid=grid, reason=reason)

    def later(s):
        return None if s is None else received + dt.timedelta(seconds=s)

    return Incident.objects.create(
        alarm=alarm,
        status=status,
        call_taker=world.users["dispatcher"],
        shift=shift,
        callback=callback,
        grid=alarm.grid,
        community=alarm.community,
        street=alarm.street,
        district=alarm.district,
        city=alarm.city,
        received_at=received,
        acknowledged_at=later(ack),
        dispatched_at=later(dispatch),
        on_scene_at=later(scene),
    )


@pytest.fixture
def incidents(world):
    a = world.areas["A"]
    for c in "ABC":
        Crew.objects.create(area=a, name=f"Crew {c}")
    roster.make_roster(a, DAY, 1)
    day = Shift.objects.get(area=a, name=Shift.Name.DAY)
    evening = Shift.objects.get(area=a, name=Shift.Name.EVENING)
    make_incident(world, at(10), 30, 120, 600, shift=day)
    make_incident(world, at(10, 5), 60, 180, 1200, shift=day)
    make_incident(world, at(11), 90, 240, 900, grid="A2-1", shift=day)
    make_incident(
        world,
        at(12),
        120,
        reason=CloseReason.FALSE_ALARM,
        callback=Incident.Callback.FALSE_ALARM,
        shift=day,
        status=IncidentStatus.CLOSED,
    )
    make_incident(world, at(20), 40, 100, 1000, shift=evening)
    make_alarm(world, at(3), reason=CloseReason.TEST)  # night, closed as a test
    # not counted for street A: another street, another day, and a maintenance alarm
    make_incident(world, at(10), 5, 10, 20, grid="B1-1")
    make_incident(world, at(10, day=DAY + dt.timedelta(days=1)), 500, 600, 3000)
    # offline: 06:00–09:00 inside the day, 22:00 the day before – 01:00 (one hour inside)
    make_alarm(world, at(6), type=AlarmType.OFFLINE, cleared=at(9))
    make_alarm(world, at(22, day=DAY - dt.timedelta(days=1)), type=AlarmType.OFFLINE, cleared=at(1))
    make_device(world, online=False)
    make_device(world, "B1-1", online=False)
    return {"day": day, "evening": evening}


PERIOD = Period(DAY, DAY, "custom")


def test_arithmetic_for_the_day(world, incidents):
    rep = kpi.report(world.users["shift_lead"], PERIOD, "day", now=at(23, day=DAY + dt.timedelta(days=5)))
    assert len(rep.rows) == 1 and rep.rows[0].label == "2026-03-10"
    t = rep.total
    assert (t.alarms, t.false_alarms, t.incidents, t.on_scene, t.within) == (6, 2, 5, 4, 3)
    assert t.false_rate == pytest.approx(2 / 6) and t.within_share == pytest.approx(0.75)
    approx = pytest.approx
    assert (t.ack.mean, t.ack.median, t.ack.p90) == (approx(68, abs=0.01), approx(60, abs=0.01), approx(108, abs=0.01))
    assert (t.dispatch.mean, t.dispatch.median, t.dispatch.p90) == (
        approx(160, abs=0.01),
        approx(150, abs=0.01),
        approx(222, abs=0.01),
    )
    assert (t.scene.mean, t.scene.median, t.scene.p90) == (
        approx(925, abs=0.01),
        approx(950, abs=0.01),
        approx(1140, abs=0.01),
    )
    assert rep.rows[0].incidents == 5 and rep.rows[0].scene.p90 == approx(1140, abs=0.01)
    # the offline device in street A (not the one in B), and 3 + 1 offline hours in the day
    assert rep.offline_now == 1
    assert rep.offline_hours == 4.0
    assert t.within_text == "75.0%" and t.false_text == "33.3%"


def test_by_shift_type_month_and_roster_shift(world, incidents):
    user = world.users["shift_lead"]
    kinds = {r.key: r for r in kpi.report(user, PERIOD, "kind").rows}
    assert [r for r in kinds] == ["night", "day", "evening"]
    assert (kinds["night"].alarms, kinds["night"].false_alarms, kinds["night"].incidents) == (1, 1, 0)
    assert (kinds["day"].alarms, kinds["day"].incidents, kinds["day"].within) == (4, 4, 2)
    assert kinds["evening"].scene.mean == pytest.approx(1000, abs=0.01)
    months = kpi.report(user, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), "month").rows
    assert [(r.label, r.incidents) for r in months] == [("2026-03", 6)]
    shifts = kpi.report(user, PERIOD, "shift").rows
    assert [(r.alarms, r.false_alarms, r.incidents) for r in shifts] == [(1, 1, 0), (4, 1, 4), (1, 0, 1)]
    assert shifts[1].key == incidents["day"].pk and "Crew" in shifts[1].label
    assert shifts[1].ack.median == pytest.approx(75, abs=0.01)


def test_scope(world, incidents):
    # a call-taker of street B holds no dispatch.lead: nothing at all
    assert kpi.report(world.users["dispatcher_b"], PERIOD).total.incidents == 0
    lead_b = make_user("lead_b", "shift_lead", area=world.areas["B"])
    rep = kpi.report(lead_b, PERIOD)
    assert (rep.total.incidents, rep.total.alarms, rep.offline_now) == (1, 1, 1)
    assert rep.total.scene.mean == pytest.approx(20, abs=0.01)
    # street A's roster is not theirs: only their incident, which no shift claimed
    assert [(r.key, r.incidents) for r in kpi.report(lead_b, PERIOD, "shift").rows] == [(None, 1)]


def test_page_and_export(world, incidents, client_for):
    url = reverse("shifts:kpi") + "?period=custom&start=2026-03-10&end=2026-03-10"
    assert client_for("dispatcher").get(url).status_code == 403
    assert client_for("dispatcher_b").get(url).status_code == 403
    for by in ("day", "month", "shift", "kind", "bogus"):
        page = client_for("shift_lead").get(url + f"&by={by}")
        assert page.status_code == 200
    body = client_for("shift_lead").get(url).content.decode()
    assert "75.0%" in body and "echarts.min.js" in body and 'id="kpi-chart"' in body
    assert "cdn" not in body.lower()
    bad = client_for("shift_lead").get(reverse("shifts:kpi") + "?period=custom&start=2026-13-01")
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    resp = client_for("shift_lead").get(reverse("shifts:kpi-export") + "?period=custom&start=2026-03-10&end=2026-03-10")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.content))
    assert len(wb.sheetnames) == 4
    day = wb[wb.sheetnames[0]]
    assert day["A3"].value == "2026-03-10" and day["B3"].value == 6 and day["C3"].value == 5
    assert client_for("dispatcher").get(reverse("shifts:kpi-export")).status_code == 403


def test_queries_do_not_grow_with_incidents(world, incidents):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = world.users["shift_lead"]
    kpi.report(user, PERIOD, "day")  # warm the user's scope cache
    counts = {}
    for extra in (0, 30):
        for i in range(extra):
            make_incident(world, at(9, i), 30, 60, 600 + i, shift=incidents["day"])
        for by in ("day", "shift"):
            with CaptureQueriesContext(connection) as ctx:
                kpi.report(user, PERIOD, by)
            counts[(extra, by)] = len(ctx.captured_queries)
    assert counts[(0, "day")] == counts[(30, "day")] and counts[(0, "shift")] == counts[(30, "shift")]
    assert counts[(30, "shift")] <= 20
