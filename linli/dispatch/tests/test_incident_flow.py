"""Claiming, the call-taker's actions, the rescuer's steps, conflicts, scope and bad input."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone, translation

from linli.core.models import AuditRecord
from linli.dispatch import recommend as rec
from linli.dispatch import services
from linli.dispatch.models import Incident, IncidentStatus, Rescuer
from linli.dispatch.tests.factories import make_alarm, make_rescuer
from linli.iot.models import AlarmStatus, CloseReason
from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """These tests call the services directly and read their messages in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def alarm(world):
    return make_alarm(world, "A1-1", at=timezone.now() - dt.timedelta(seconds=40))


def test_claim_opens_the_incident_with_the_first_two_timestamps(world, alarm):
    incident = services.claim(world.users["dispatcher"], alarm.pk)
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACKNOWLEDGED and alarm.claimed_by == world.users["dispatcher"]
    assert incident.received_at == alarm.raised_at
    assert incident.acknowledged_at == alarm.acknowledged_at
    assert incident.resident == world.resident_in("A1-1") and incident.street == world.areas["A"]
    assert (incident.lat, incident.lng) == (alarm.lat, alarm.lng)
    assert [e.action for e in incident.events.all()] == ["received", "claimed"]
    assert AuditRecord.objects.filter(object_type="dispatch.incident", object_id=str(incident.pk)).exists()


def test_the_second_claim_learns_who_took_it_and_nothing_changes(world, alarm):
    services.claim(world.users["dispatcher"], alarm.pk)
    with pytest.raises(services.ConflictError, match="already taken by dispatcher"):
        services.claim(world.users["shift_lead"], alarm.pk)
    assert Incident.objects.filter(alarm=alarm).count() == 1
    # claiming one's own alarm again just returns the incident
    assert services.claim(world.users["dispatcher"], alarm.pk).alarm_id == alarm.pk


def test_claim_out_of_scope_or_without_permission_is_404(world, alarm):
    for name in ("dispatcher_b", "grid", "rescuer"):
        with pytest.raises(Http404):
            services.claim(world.users[name], alarm.pk)
    assert not Incident.objects.exists()


def test_a_closed_alarm_cannot_be_claimed(world, alarm):
    alarm.status = AlarmStatus.CLOSED
    alarm.save()
    with pytest.raises(services.ConflictError, match="no longer waiting"):
        services.claim(world.users["dispatcher"], alarm.pk)


def test_recommend_picks_the_nearest_available_on_duty_rescuer(world, alarm):
    incident = services.claim(world.users["dispatcher"], alarm.pk)
    near = make_rescuer(world, "rescuer", at=(39.1251, 117.2051))
    far = make_rescuer(world, "street", at=(39.1400, 117.2300))  # any user can be a rescuer row
    make_rescuer(world, "rescuer_b", area="B", at=(39.1250, 117.2050))  # nearest, but serves street B
    make_rescuer(world, "community", at=(39.1250, 117.2050), status=Rescuer.Status.OFF_DUTY)
    got = rec.candidates_for(incident)
    assert [c.rescuer for c in got] == [near, far]
    assert got[0].minutes < got[1].minutes and got[0].km < 0.05
    # travel time: start-up + road distance at the mode's speed
    minutes = rec.travel_minutes(far, incident.lat, incident.lng)
    km = rec.km_between(far.lat, far.lng, incident.lat, incident.lng)
    assert minutes == pytest.approx(rec.START_MINUTES + km * rec.ROAD_FACTOR / rec.SPEED_KMH["ebike"] * 60)
    # a car beats an e-bike a bit further away under Linli's policy, not under straight-line
    Rescuer.objects.filter(pk=far.pk).update(travel=Rescuer.Travel.CAR)
    near.travel = Rescuer.Travel.FOOT
    near.lat, near.lng = 39.1330, 117.2150
    near.save()
    assert rec.recommend(incident, "straight").rescuer == near
    assert rec.recommend(incident).rescuer == far


def test_the_whole_incident_from_claim_to_completion(world, alarm):
    d = world.users["dispatcher"]
    rescuer = make_rescuer(world)
    incident = services.claim(d, alarm.pk)
    incident = services.record_callback(d, incident.pk, incident.version, "needs_help", "fell in the kitchen")
    assert incident.status == IncidentStatus.CALLED_BACK and incident.called_back_at
    incident = services.dispatch_rescuer(d, incident.pk, incident.version, rescuer.pk)
    rescuer.refresh_from_db()
    assert rescuer.status == Rescuer.Status.ASSIGNED and incident.dispatched_at
    assert incident.recommended_rescuer == rescuer
    note = Notification.objects.get(user=world.users["rescuer"])
    assert note.url == "/dispatch/rescue/"

    r = world.users["rescuer"]
    assert services.my_incident(r) == incident
    incident = services.rescuer_step(r, incident.pk, incident.version, "accept")
    assert incident.status == IncidentStatus.EN_ROUTE and incident.en_route_at
    incident = services.rescuer_step(r, incident.pk, incident.version, "on_scene")
    incident = services.rescuer_handover(r, incident.pk, incident.version, "120")
    assert incident.handover_to == "120" and incident.handed_over_at
    incident = services.rescuer_complete(r, incident.pk, incident.version, "taken to hospital by 120")
    assert incident.status == IncidentStatus.COMPLETED
    chain = [
        incident.received_at,
        incident.acknowledged_at,
        incident.called_back_at,
        incident.dispatched_at,
        incident.en_route_at,
        incident.on_scene_at,
        incident.handed_over_at,
        incident.closed_at,
    ]
    assert all(chain) and chain == sorted(chain)
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLOSED and alarm.close_reason == CloseReason.RESOLVED
    rescuer.refresh_from_db()
    assert rescuer.status == Rescuer.Status.AVAILABLE
    assert services.my_incident(r) is None


def test_a_false_alarm_closes_alarm_and_incident(world, alarm):
    d = world.users["dispatcher"]
    incident = services.claim(d, alarm.pk)
    # never silently: a note saying why and an explicit confirmation, or nothing is written
    with pytest.raises(ValidationError, match="write in the note"):
        services.record_callback(d, incident.pk, incident.version, "false_alarm", "  ", confirmed=True)
    with pytest.raises(ValidationError, match="confirm"):
        services.record_callback(d, incident.pk, incident.version, "false_alarm", "pressed by mistake")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN and incident.version == 1 and not incident.callback
    incident = services.record_callback(
        d, incident.pk, incident.version, "false_alarm", "pressed by mistake", confirmed=True
    )
    assert incident.status == IncidentStatus.CLOSED and incident.closed_at
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLOSED and alarm.close_reason == CloseReason.FALSE_ALARM
    assert alarm.close_note == "pressed by mistake"
    with pytest.raises(services.ConflictError, match="already closed"):
        services.record_callback(d, incident.pk, incident.version, "ok")


def test_a_stale_version_is_refused_and_nothing_is_written(world, alarm):
    d = world.users["dispatcher"]
    incident = services.claim(d, alarm.pk)
    services.record_callback(d, incident.pk, incident.version, "needs_help")
    with pytest.raises(services.ConflictError, match="Someone else changed this incident"):
        services.record_callback(d, incident.pk, incident.version, "false_alarm", "a test", confirmed=True)
    incident.refresh_from_db()
    assert incident.callback == "needs_help" and incident.status == IncidentStatus.CALLED_BACK


def test_bad_input_is_refused_clearly(world, alarm):
    d = world.users["dispatcher"]
    incident = services.claim(d, alarm.pk)
    with pytest.raises(ValidationError, match="Choose what the call-back found"):
        services.record_callback(d, incident.pk, incident.version, "maybe")
    with pytest.raises(ValidationError, match="Choose who took the person over"):
        services.record_handover(d, incident.pk, incident.version, "999")
    with pytest.raises(ValidationError, match="Write what happened"):
        services.close(d, incident.pk, incident.version, "  ")
    out = make_rescuer(world, "rescuer_b", area="B")
    with pytest.raises(ValidationError, match="Choose a rescuer of your center"):
        services.dispatch_rescuer(d, incident.pk, incident.version, out.pk)
    busy = make_rescuer(world, status=Rescuer.Status.EN_ROUTE)
    with pytest.raises(services.ConflictError, match="cannot be sent"):
        services.dispatch_rescuer(d, incident.pk, incident.version, busy.pk)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN and incident.version == 1


def test_out_of_scope_incident_actions_are_404(world, alarm):
    incident = services.claim(world.users["dispatcher"], alarm.pk)
    with pytest.raises(Http404):
        services.record_callback(world.users["dispatcher_b"], incident.pk, None, "ok")
    with pytest.raises(Http404):
        services.rescuer_step(world.users["rescuer"], incident.pk, None, "accept")  # not their incident


def test_rescuer_steps_out_of_order_are_refused(world, alarm):
    d = world.users["dispatcher"]
    make_rescuer(world)
    incident = services.claim(d, alarm.pk)
    incident = services.dispatch_rescuer(d, incident.pk, incident.version, world.users["rescuer"].rescuer.pk)
    r = world.users["rescuer"]
    with pytest.raises(ValidationError, match="Write what happened"):
        services.rescuer_complete(r, incident.pk, incident.version, "")
    incident = services.rescuer_step(r, incident.pk, incident.version, "accept")
    with pytest.raises(services.ConflictError, match="does not fit now"):
        services.rescuer_step(r, incident.pk, incident.version, "accept")
    with pytest.raises(services.ConflictError, match="Finish your current incident"):
        services.set_duty(r, False)


def test_duty_and_position(world):
    make_rescuer(world, status=Rescuer.Status.OFF_DUTY, at=None)
    r = world.users["rescuer"]
    assert services.set_duty(r, True).status == Rescuer.Status.AVAILABLE
    me = services.share_position(r, "39.1", "117.2")
    assert (me.lat, me.lng) == (39.1, 117.2) and me.position_at
    with pytest.raises(ValidationError, match="could not be read"):
        services.share_position(r, "north", "117")
    with pytest.raises(ValidationError, match="could not be read"):
        services.share_position(r, "95", "117")
    with pytest.raises(Http404):
        services.share_position(world.users["dispatcher"], "39", "117")


# ---------------------------------------------------------------- escalation


# The cadence (one notification per lead and alarm, bumped at each reminder) is in test_escalation_notify.py.


# ---------------------------------------------------------------- the race, on PostgreSQL


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_call_takers_race_for_one_alarm_and_one_wins(world):
    if connection.vendor != "postgresql":
        pytest.skip("a real race needs PostgreSQL's row locks and concurrent connections")
    alarm = make_alarm(world, "A1-1")
    users = [world.users["dispatcher"], world.users["shift_lead"]] * 3
    barrier = threading.Barrier(len(users))
    results: list = []

    def go(user):
        from django.db import connection as conn

        try:
            barrier.wait()
            results.append(("won", services.claim(user, alarm.pk).pk))
        except services.ConflictError as exc:
            results.append(("lost", exc.messages[0]))
        finally:
            conn.close()

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Incident.objects.filter(alarm=alarm).count() == 1
    winners = Incident.objects.get(alarm=alarm).call_taker
    lost = [r for r in results if r[0] == "lost"]
    assert lost and all(winners.username in msg for _, msg in lost)


def test_escalation_reaches_the_lead_of_the_shift_on_duty_and_the_console(
    world, settings, django_capture_on_commit_callbacks
):
    from linli.dispatch.models import Crew, Shift
    from linli.iot.signals import alarm_changed

    settings.LINLI_ALARM_ESCALATE_SECONDS = 30
    now = timezone.now()
    crew = Crew.objects.create(area=world.areas["B"], name="B crew")
    Shift.objects.create(
        area=world.areas["B"],
        crew=crew,
        name="day",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=7),
        lead=world.users["street_b"],
    )
    alarm = make_alarm(world, "B1-1", at=now - dt.timedelta(seconds=31))
    heard = []

    def listen(sender, alarm_ids, event, **kw):
        heard.append((event, alarm_ids))

    alarm_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.escalate(now) == 1
    finally:
        alarm_changed.disconnect(listen)
    assert set(Notification.objects.filter(kind="escalated").values_list("user__username", flat=True)) == {"street_b"}
    assert ("escalated", [alarm.pk]) in heard
