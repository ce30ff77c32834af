"""The history page /dispatch/history/: scope, every filter, bad input, pagination, the 18-minute flag, the tab of
alarms closed without an incident, and a query-count guard."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import User
from linli.dispatch.models import Incident, IncidentStatus
from linli.dispatch.tests.factories import make_alarm, make_rescuer
from linli.iot.models import AlarmStatus, AlarmType, CloseReason

pytestmark = pytest.mark.django_db
URL = "/dispatch/history/"


def make_incident(
    world,
    grid: str = "A1-1",
    *,
    ago: dt.timedelta = dt.timedelta(hours=2),
    type: str = AlarmType.SOS,
    ack: float = 30,
    dispatch: float | None = None,
    scene: float | None = None,
    status: str = IncidentStatus.COMPLETED,
    callback: str = "",
    handover_to: str = "",
    close_reason: str = CloseReason.RESOLVED,
    rescuer=None,
) -> Incident:
    """An incident received `ago` before now, with its chain in seconds after that."""
    received = timezone.now() - ago
    alarm = make_alarm(world, grid, type=type, at=received, announce=False)
    closed = status in (IncidentStatus.COMPLETED, IncidentStatus.CLOSED)
    alarm.status = AlarmStatus.CLOSED if closed else AlarmStatus.ACKNOWLEDGED
    alarm.close_reason = close_reason if closed else ""
    alarm.save()

    def later(seconds):
        return None if seconds is None else received + dt.timedelta(seconds=seconds)

    return Incident.objects.create(
        alarm=alarm,
        status=status,
        call_taker=world.users["dispatcher"],
        rescuer=rescuer,
        callback=callback,
        handover_to=handover_to,
        resident=alarm.resident,
        house=alarm.house,
        grid=alarm.grid,
        community=alarm.community,
        street=alarm.street,
        district=alarm.district,
        city=alarm.city,
        received_at=received,
        acknowledged_at=later(ack),
        dispatched_at=later(dispatch),
        on_scene_at=later(scene),
        closed_at=later(3600) if closed else None,
    )


def ids(response, kind: str = "incident") -> list[int]:
    return [int(n) for n in re.findall(rf'<tr id="{kind}-(\d+)"', response.content.decode())]


def get(client, **params):
    return client.get(URL, params)


@pytest.fixture
def english(world):
    User.objects.update(language="en")


@pytest.fixture
def some(world):
    """Street A: a completed rescue on time, a late one, a false alarm, a handover to 120, an open incident,
    a test; street B: one incident."""
    rescuer = make_rescuer(world)
    return {
        "on_time": make_incident(world, "A1-1", dispatch=120, scene=17 * 60, rescuer=rescuer),
        "late": make_incident(world, "A1-2", type=AlarmType.FALL, dispatch=300, scene=19 * 60, rescuer=rescuer),
        "false": make_incident(
            world,
            "A2-1",
            callback=Incident.Callback.FALSE_ALARM,
            status=IncidentStatus.CLOSED,
            close_reason="false_alarm",
        ),
        "handed": make_incident(world, "A1-1", type=AlarmType.SMOKE, handover_to="120", dispatch=60, scene=500),
        "open": make_incident(world, "A2-1", status=IncidentStatus.DISPATCHED, dispatch=90, rescuer=rescuer),
        "test": make_incident(world, "A1-2", status=IncidentStatus.CLOSED, close_reason=CloseReason.TEST),
        "closed": make_incident(world, "A1-1", status=IncidentStatus.CLOSED),
        "b": make_incident(world, "B1-1", dispatch=60, scene=600),
    }


def test_permission_and_scope(world, client_for, some):
    for name in ("grid", "admin", "rescuer", "nobody"):
        assert client_for(name).get(URL).status_code == 403, name
    assert Client().get(URL).status_code == 302  # to the sign-in page
    a = {i.pk for key, i in some.items() if key != "b"}
    mine = get(client_for("dispatcher"))
    assert mine.status_code == 200 and set(ids(mine)) == a
    assert set(ids(get(client_for("shift_lead")))) == a
    # the other street's call-taker sees none of street A's incidents, only their own
    assert ids(get(client_for("dispatcher_b"))) == [some["b"].pk]
    # nor can they pick street A as a filter
    other = get(client_for("dispatcher_b"), area=world.areas["A"].pk)
    assert ids(other) == [some["b"].pk] and 'role="alert"' in other.content.decode()


def test_newest_first_and_default_period_of_seven_days(world, client_for, some):
    old = make_incident(world, "A1-1", ago=dt.timedelta(days=10))
    page = get(client_for("dispatcher"))
    assert old.pk not in ids(page)
    received = [Incident.objects.get(pk=pk).received_at for pk in ids(page)]
    assert received == sorted(received, reverse=True)
    assert old.pk in ids(get(client_for("dispatcher"), period="30"))
    today = timezone.localdate()
    custom = get(client_for("dispatcher"), period="custom", start=str(today - dt.timedelta(days=11)), end=str(today))
    assert old.pk in ids(custom)


def test_filters(world, client_for, some):
    c = client_for("dispatcher")

    def only(**params) -> set[int]:
        response = get(c, **params)
        assert response.status_code == 200 and 'role="alert"' not in response.content.decode(), params
        return set(ids(response))

    pk = {key: i.pk for key, i in some.items()}
    assert only(status=IncidentStatus.DISPATCHED) == {pk["open"]}
    assert only(status="open_any") == {pk["open"]}
    assert only(status=IncidentStatus.CLOSED) == {pk["false"], pk["test"], pk["closed"]}
    assert only(type=AlarmType.FALL) == {pk["late"]}
    assert only(type=AlarmType.SMOKE) == {pk["handed"]}
    assert only(outcome="completed") == {pk["on_time"], pk["late"]}
    assert only(outcome="handed_over") == {pk["handed"]}
    assert only(outcome="false_alarm") == {pk["false"]}
    assert only(outcome="test") == {pk["test"]}
    assert only(outcome="closed") == {pk["closed"]}
    assert only(area=world.areas["A2"].pk) == {pk["false"], pk["open"]}
    assert only(area=world.areas["A"].pk) == set(pk.values()) - {pk["b"]}
    assert only(late="1") == {pk["late"]}
    assert only(late="1", type=AlarmType.SOS) == set()
    # free text: the resident's name (part of it) or the device code
    name = world.resident_in("A2-1").name
    assert only(text=name[2:6]) == {pk["false"], pk["open"]}
    assert only(text=some["late"].alarm.device.code.lower()) == {pk["late"]}
    assert only(text="nobody by this name") == set()


def test_rows_show_times_outcome_and_the_18_minute_flag(world, client_for, some, english):
    html = get(client_for("dispatcher")).content.decode()
    row = {
        key: re.search(rf'<tr id="incident-{i.pk}">(.*?)</tr>', html, re.S).group(1)
        for key, i in some.items()
        if key != "b"
    }
    assert 'class="num late">19.0' in row["late"] and "over 18 minutes" in row["late"]
    card = re.search(rf'<li class="case-row due-overdue" id="card-incident-{some["late"].pk}">(.*?)</li>', html, re.S)
    assert card and 'class="late">To scene (min): 19.0' in card.group(1)
    assert "late" not in row["on_time"] and ">17.0<" in row["on_time"] and ">2.0<" in row["on_time"]
    assert ">0.5<" in row["on_time"]  # 30 s to acknowledge
    assert "handed over to 120 ambulance" in row["handed"]
    assert "false alarm" in row["false"] and "test" in row["test"] and "closed without rescue" in row["closed"]
    assert "rescuer dispatched" in row["open"] and "completed" in row["on_time"]
    assert f'href="{reverse("dispatch:incident", args=[some["late"].pk])}"' in row["late"]
    resident = world.resident_in("A1-1")
    assert resident.name in row["on_time"] and "years" in row["on_time"]
    assert str(world.users["dispatcher"]) in row["on_time"] and "rescuer" in row["on_time"]
    # never an ID or phone number, not even masked
    assert resident.phone not in html and resident.id_number not in html and resident.phone_masked not in html


def test_bad_input_gets_a_message_not_an_error(world, client_for, some, english):
    c = client_for("dispatcher")
    cases = {
        "Enter dates as YYYY-MM-DD": {"period": "custom", "start": "2026-13-01"},
        "The start date is after the end date": {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"},
        "Unknown period": {"period": "fortnight"},
        "Unknown state": {"status": "bogus"},
        "Unknown alarm type": {"type": "offline"},
        "Unknown outcome": {"outcome": "cleared"},
        "not one of yours": {"area": "abc"},
    }
    for message, params in cases.items():
        response = get(c, **params)
        html = response.content.decode()
        assert response.status_code == 200 and 'role="alert"' in html and message in html, params
    # a dropped filter shows everything else
    assert set(ids(get(c, status="bogus"))) == {i.pk for k, i in some.items() if k != "b"}
    assert get(c, area=str(world.areas["B"].pk)).status_code == 200
    assert get(c, page="x").status_code == 200 and get(c, page="999").status_code == 200
    assert get(c, tab="nonsense").status_code == 200
    assert get(c, text="x" * 500).status_code == 200


def test_pagination(world, client_for):
    made = [make_incident(world, "A1-1", ago=dt.timedelta(minutes=5 * n + 1)) for n in range(120)]
    c = client_for("dispatcher")
    first = get(c)
    assert ids(first) == [i.pk for i in made[:50]]
    assert first.context["page"].paginator.num_pages == 3
    assert ids(get(c, page="2")) == [i.pk for i in made[50:100]]
    last = get(c, page="3")
    assert ids(last) == [i.pk for i in made[100:]]
    assert ids(get(c, page="999")) == [i.pk for i in made[100:]]
    # the pager keeps the filters
    html = get(c, type=AlarmType.SOS, late="", page="2").content.decode()
    assert "type=sos" in html and "page=3" in html


def test_query_count_does_not_grow_with_the_rows(world, client_for, some):
    c = client_for("dispatcher")
    get(c)  # warm the session
    with CaptureQueriesContext(connection) as few:
        get(c, text="", status="")
    for n in range(30):
        make_incident(
            world, "A1-2", ago=dt.timedelta(minutes=n + 1), rescuer=some["on_time"].rescuer, dispatch=9, scene=99
        )
    with CaptureQueriesContext(connection) as many:
        get(c)
    assert len(many) == len(few)
    incident_queries = [q["sql"] for q in many.captured_queries if 'FROM "dispatch_incident"' in q["sql"]]
    assert len(incident_queries) == 2  # one count, one page


def test_alarms_closed_without_an_incident(world, client_for, some, english):
    now = timezone.now()

    def closed(grid, reason="", cleared=False, type=AlarmType.SOS):
        alarm = make_alarm(world, grid, type=type, at=now - dt.timedelta(hours=1), announce=False)
        alarm.status = AlarmStatus.CLEARED if cleared else AlarmStatus.CLOSED
        alarm.close_reason = reason
        alarm.closed_at = None if cleared else now
        alarm.cleared_at = now if cleared else None
        alarm.closed_by = None if cleared else world.users["dispatcher"]
        alarm.close_note = "pressed by the grandson"
        alarm.save()
        return alarm

    false = closed("A1-1", CloseReason.FALSE_ALARM)
    test = closed("A1-2", CloseReason.TEST, type=AlarmType.SMOKE)
    cleared = closed("A2-1", cleared=True)
    handled = closed("A1-1", CloseReason.RESOLVED)
    closed("B1-1", CloseReason.FALSE_ALARM)
    make_alarm(world, "A1-1", announce=False)  # still open
    make_alarm(world, "A1-2", type="offline", severity="minor", announce=False)  # not life safety
    c = client_for("dispatcher")
    page = get(c, tab="alarms")
    html = page.content.decode()
    # incidents' alarms (closed as handled or false alarm above) are not repeated here
    assert set(ids(page, "alarm")) == {false.pk, test.pk, cleared.pk, handled.pk}
    assert "pressed by the grandson" in html and "cleared by the device" in html and 'aria-current="page"' in html
    assert ids(get(c, tab="alarms", outcome="false_alarm"), "alarm") == [false.pk]
    assert ids(get(c, tab="alarms", outcome="test"), "alarm") == [test.pk]
    assert ids(get(c, tab="alarms", outcome="cleared"), "alarm") == [cleared.pk]
    assert ids(get(c, tab="alarms", outcome="resolved"), "alarm") == [handled.pk]
    assert ids(get(c, tab="alarms", type=AlarmType.SMOKE), "alarm") == [test.pk]
    assert ids(get(c, tab="alarms", text=test.device.code), "alarm") == [test.pk]
    assert set(ids(get(c, tab="alarms", area=world.areas["A1"].pk), "alarm")) == {false.pk, test.pk, handled.pk}
    assert len(ids(get(client_for("dispatcher_b"), tab="alarms"), "alarm")) == 1
    bad = get(c, tab="alarms", outcome="completed").content.decode()
    assert "Unknown outcome" in bad


def test_nav_english_phone_and_elder_mode(world, client_for, some, english):
    html = client_for("dispatcher").get(URL).content.decode()
    assert '<a href="/dispatch/history/" class="secondary" aria-current="page">Dispatch history</a>' in html
    # a table on wide screens, the same rows as cards on phones and in elder mode (CSS picks one)
    assert 'name="viewport"' in html and 'class="table-wrap history-table"' in html
    assert re.findall(r'id="card-incident-(\d+)"', html) == re.findall(r'<tr id="incident-(\d+)"', html)
    assert "@media (max-width: 700px)" in html and "html.elder .history .history-cards" in html
    for label in ("Period", "State", "Alarm type", "Outcome", "Street or community", "Resident name or device code"):
        assert f">{label}</label>" in html, label
    assert "Over 18 minutes to scene" in html and "cannot be searched" in html
    assert "/dispatch/history/" not in client_for("grid").get("/").content.decode()
    User.objects.filter(username="dispatcher").update(elder_mode=True)
    elder = client_for("dispatcher").get(URL)
    assert elder.status_code == 200 and 'class="elder"' in elder.content.decode()
    assert ids(elder) and 'class="num late"' in elder.content.decode()
