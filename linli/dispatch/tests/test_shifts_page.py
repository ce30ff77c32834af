"""The shifts page: the whole week on the roster (a lead fills what is missing), what is open now — incidents and
alarms nobody has claimed — and people by their display names."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.core.models import AuditRecord
from linli.dispatch import roster
from linli.dispatch.models import Crew, IncidentStatus, Shift
from linli.dispatch.tests.test_kpi import make_alarm, make_incident
from linli.iot.models import Alarm, AlarmStatus, AlarmType
from linli.testing.world import make_user

pytestmark = pytest.mark.django_db
URL = reverse("shifts:roster")
FILL = reverse("shifts:roster-fill")


@pytest.fixture
def center(world):
    """Street A's crews and a roster of today only (as a demo started mid-week would have)."""
    a, u = world.areas["A"], world.users
    crews = [Crew.objects.create(area=a, name=f"Crew {c}") for c in "ABC"]
    roster.make_roster(a, timezone.localdate(), 1)
    current = roster.on_duty(a, timezone.now())
    current.crew.members.add(u["dispatcher"])
    return {"crews": crews, "current": current, "week": _monday()}


def _monday() -> dt.date:
    today = timezone.localdate()
    return today - dt.timedelta(days=today.weekday())


def test_missing_days_are_shown_and_a_lead_fills_the_week(world, center, client_for):
    area, week = world.areas["A"], center["week"]
    body = client_for("dispatcher").get(URL).content.decode()
    assert body.count('class="not-on-roster"') == 18
    assert "18 shifts of this week are not on the roster yet." in _en(world, client_for, "dispatcher")
    assert FILL not in body  # a call-taker reads the roster, a lead fills it
    lead_page = client_for("shift_lead").get(URL).content.decode()
    assert FILL in lead_page
    # elder mode hides whatever is marked secondary: the week's navigation must not be
    assert 'class="button secondary"' not in lead_page and "Previous week" in _en(world, client_for, "shift_lead")
    data = {"area": area.pk, "week": f"{week:%Y-%m-%d}"}
    assert client_for("dispatcher").post(FILL, data).status_code == 403
    # another street's lead cannot fill street A's roster, nor ask for an area that is not a number
    lead_b = Client()
    lead_b.force_login(make_user("lead_b", "shift_lead", area=world.areas["B"]))
    assert lead_b.post(FILL, data).status_code == 404
    assert client_for("shift_lead").post(FILL, {"area": "1; drop", "week": data["week"]}).status_code == 404
    assert client_for("shift_lead").post(FILL, {**data, "area": "９"}).status_code == 404
    # a bad week fills nothing
    client_for("shift_lead").post(FILL, {**data, "week": "next tuesday"})
    assert Shift.objects.filter(area=area).count() == 3
    resp = client_for("shift_lead").post(FILL, data)
    assert resp.status_code == 302 and resp["Location"].endswith(f"?area={area.pk}&week={week:%Y-%m-%d}")
    first = dt.datetime.combine(week, dt.time(0), tzinfo=roster.TZ)
    week_shifts = Shift.objects.filter(area=area, starts_at__gte=first, starts_at__lt=first + dt.timedelta(days=7))
    assert week_shifts.count() == 21
    assert Shift.objects.get(pk=center["current"].pk).crew_id == center["current"].crew_id  # kept
    assert AuditRecord.objects.filter(object_type="dispatch.shift", after__created=18).exists()
    client_for("shift_lead").post(FILL, data)  # again: nothing more
    assert Shift.objects.filter(area=area).count() == 21
    body = client_for("dispatcher").get(URL).content.decode()
    assert "not-on-roster" not in body and body.count('<td class="slot') == 21
    assert body.count("16:00–24:00</span>") == 7 and "16:00–00:00" not in body  # each cell names its slot (phones)


def _en(world, client_for, who: str, url: str = URL) -> str:
    user = world.users[who]
    user.language = "en"
    user.save(update_fields=["language"])
    return client_for(who).get(url).content.decode()


def test_workload_counts_unclaimed_alarms_in_scope(world, center, client_for):
    now = timezone.now()
    make_incident(world, now, 30, status=IncidentStatus.EN_ROUTE)
    make_incident(world, now, 30, grid="B1-1", status=IncidentStatus.EN_ROUTE)  # street B
    make_alarm(world, now)  # waiting in A
    make_alarm(world, now, grid="A2-1")  # waiting in A
    make_alarm(world, now, grid="B1-1")  # waiting, but in street B
    make_alarm(world, now, type=AlarmType.OFFLINE)  # not life safety
    claimed = make_alarm(world, now)
    Alarm.objects.filter(pk=claimed.pk).update(status=AlarmStatus.ACKNOWLEDGED, claimed_by=world.users["dispatcher"])
    work = roster.workload(world.areas["A"], world.users["dispatcher"])
    assert (work.incidents, work.alarms) == (1, 2)
    body = _en(world, client_for, "dispatcher")
    assert "1 incident open." in body and "2 alarms waiting to be claimed." in body
    assert body.count(f'href="{reverse("dispatch:console")}"') >= 2  # in the on-duty box and the handover form
    # street B's call-taker sees only theirs, and none of A's
    assert roster.workload(world.areas["A"], world.users["dispatcher_b"]) == roster.Workload(0, 0)
    Alarm.objects.filter(life_safety=True, street=world.areas["A"]).update(status=AlarmStatus.CLOSED)
    assert "No alarm waiting to be claimed." in _en(world, client_for, "dispatcher")


def test_people_by_display_name_and_the_crews_lead_by_default(world, center, client_for):
    u = world.users
    u["dispatcher"].display_name = "王芳"
    u["dispatcher"].save(update_fields=["display_name"])
    u["shift_lead"].display_name = "李建国"
    u["shift_lead"].save(update_fields=["display_name"])
    crew = center["current"].crew
    Crew.objects.filter(pk=crew.pk).update(lead=u["shift_lead"])
    Shift.objects.filter(pk=center["current"].pk).update(lead=None)
    body = client_for("dispatcher").get(URL).content.decode()
    assert "<li>王芳</li>" in body
    assert "值班长: 李建国" in body  # the on-duty box and the shift's cell fall back to the crew's lead
    assert body.count("李建国") >= 2 and ">dispatcher<" not in body and ">shift_lead<" not in body
    lead_page = client_for("shift_lead").get(URL).content.decode()
    assert f'<option value="{u["dispatcher"].pk}">王芳</option>' in lead_page


def test_every_shift_names_its_hours_as_the_roster_does():
    """The current-shift card and the week's cells agree: the evening shift ends at 24:00, never "00:00" (the
    card once read 16:00–00:00 while the cells read 16:00–24:00, depending on the hour the page was opened)."""
    day = dt.date(2026, 12, 2)
    hours = [Shift(starts_at=s, ends_at=e).hours for s, e in (roster.slot_bounds(day, i) for i in range(3))]
    assert hours == ["00:00–08:00", "08:00–16:00", "16:00–24:00"]
    start, end = roster.slot_bounds(day, 2)
    assert Shift(starts_at=start.astimezone(dt.UTC), ends_at=end.astimezone(dt.UTC)).hours == "16:00–24:00"
