"""Dispatch KPIs at the edges of the period: alarms and shifts that start before it or end after it, and a period
that has not begun. Each record counts only what lies inside the period, and never less than nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.cases.kpi import Period
from linli.dispatch import kpi, roster
from linli.dispatch.models import Crew, Shift
from linli.dispatch.tests.test_kpi import DAY, at, make_alarm, make_incident
from linli.iot.models import Alarm, AlarmStatus, AlarmType, CloseReason
from linli.testing.world import make_user

pytestmark = pytest.mark.django_db
PERIOD = Period(DAY, DAY, "custom")
LATER = at(12, day=DAY + dt.timedelta(days=5))
BEFORE, AFTER = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)


def offline(world, raised: dt.datetime, *, cleared=None, closed=None, grid="A1-1") -> Alarm:
    alarm = make_alarm(world, raised, type=AlarmType.OFFLINE, grid=grid, cleared=cleared)
    if closed:
        Alarm.objects.filter(pk=alarm.pk).update(status=AlarmStatus.CLOSED, closed_at=closed, close_reason="resolved")
    return alarm


def hours(world, user="shift_lead", period=PERIOD, now=LATER) -> float:
    user = world.users[user] if isinstance(user, str) else user
    return kpi.report(user, period, "day", now=now).offline_hours


def test_offline_alarm_cleared_before_the_period_adds_nothing(world):
    offline(world, at(6), cleared=at(9))  # 3 h inside
    assert hours(world) == 3.0
    # offline 10:00–12:00 the day before, the alarm closed only the next morning: nothing in the period
    # (this subtracted 12 h from the total, which then read 0)
    offline(world, at(10, day=BEFORE), cleared=at(12, day=BEFORE), closed=at(10))
    assert hours(world) == 3.0


def test_offline_alarm_spans_are_clipped_to_the_period(world):
    offline(world, at(20, day=BEFORE), cleared=at(2, day=AFTER))  # the whole day: 24 h
    offline(world, at(23, day=AFTER), cleared=at(1, day=AFTER + dt.timedelta(days=1)))  # after: nothing
    offline(world, at(12), closed=at(13))  # closed, never cleared: until closed, 1 h
    offline(world, at(21))  # still offline: until the period's end, 3 h
    offline(world, at(8), cleared=at(8, 30, day=BEFORE))  # cleared before raised (bad clock): nothing
    assert hours(world) == 28.0
    # the period not over yet: counted until now (still offline 21:00–22:00, the long one 00:00–22:00)
    assert hours(world, now=at(22)) == 22.0 + 1.0 + 1.0
    # a period that has not begun counts nothing, whatever is open now
    assert hours(world, period=Period(AFTER, AFTER, "custom"), now=at(22)) == 0.0


def test_offline_hours_stay_in_scope(world):
    offline(world, at(6), cleared=at(9))
    offline(world, at(6), cleared=at(16), grid="B1-1")
    lead_b = make_user("lead_b", "shift_lead", area=world.areas["B"])
    assert (hours(world), hours(world, lead_b)) == (3.0, 10.0)
    assert hours(world, "nobody") == 0.0


@pytest.fixture
def crews(world):
    a = world.areas["A"]
    for c in "ABC":
        Crew.objects.create(area=a, name=f"Crew {c}")
    roster.make_roster(a, DAY, 2)
    return {(s.starts_at, s.name): s for s in Shift.objects.filter(area=a)}


def test_a_shift_running_past_the_period_counts_only_its_alarms_inside(world, crews):
    evening = crews[(at(16), Shift.Name.EVENING)]
    # the evening shift stays until 00:30 (off the hour: counted statement by statement)
    Shift.objects.filter(pk=evening.pk).update(ends_at=at(0, 30, day=AFTER))
    Shift.objects.filter(starts_at=at(0, day=AFTER)).update(starts_at=at(0, 30, day=AFTER))
    make_alarm(world, at(23, 50))
    make_alarm(world, at(0, 10, day=AFTER))  # in the evening shift, but the next day
    rep = kpi.report(world.users["shift_lead"], PERIOD, "shift", now=LATER)
    row = next(r for r in rep.rows if r.key == evening.pk)
    assert row.alarms == 1 and rep.total.alarms == 1
    assert sum(r.alarms for r in rep.rows) == rep.total.alarms
    # the next day's report has the other alarm, in no row of a shift that started that day but in its total
    nxt = kpi.report(world.users["shift_lead"], Period(AFTER, AFTER, "custom"), "shift", now=LATER)
    assert nxt.total.alarms == 1 and sum(r.alarms for r in nxt.rows) == 0


def test_an_incident_claimed_by_the_next_days_shift_is_labelled_as_that_shift(world, crews):
    night = crews[(at(0, day=AFTER), Shift.Name.NIGHT)]
    make_incident(world, at(23, 59), 120, 300, 900, shift=night)  # received 23:59, claimed after midnight
    rows = kpi.report(world.users["shift_lead"], PERIOD, "shift", now=LATER).rows
    row = next(r for r in rows if r.key == night.pk)
    assert row.incidents == 1 and row.label != str(night.pk)
    assert row.label.startswith(f"{AFTER:%Y-%m-%d} ") and row.label.endswith(night.crew.name)
    # a lead of another street sees neither the incident nor the shift
    lead_b = make_user("lead_b", "shift_lead", area=world.areas["B"])
    assert kpi.report(lead_b, PERIOD, "shift", now=LATER).rows == []


def test_alarms_and_incidents_on_the_period_edges(world, crews):
    make_incident(world, at(0), 30)  # first instant: in
    make_incident(world, at(0, day=AFTER) - dt.timedelta(microseconds=1), 30)  # last instant: in
    make_incident(world, at(0, day=AFTER), 30)  # the next day's first instant: out
    make_alarm(world, at(0, day=DAY) - dt.timedelta(microseconds=1), reason=CloseReason.TEST)  # before: out
    for by in kpi.GROUPS:
        rep = kpi.report(world.users["shift_lead"], PERIOD, by, now=LATER)
        assert (rep.total.incidents, rep.total.alarms, rep.total.false_alarms) == (2, 2, 0), by
        assert [r.label for r in rep.daily] == [f"{DAY:%Y-%m-%d}"], by
