"""What the console, incident and rescue pages show: a place for every alarm on the map (fixed devices at their
building or grid), places naming the estate and community, people by display name, the false-alarm
confirmation over HTTP, the timeline in minutes, and the rescuer's audited call buttons."""

from __future__ import annotations

import pytest
from django.utils import timezone

from linli.core.models import AuditRecord
from linli.dispatch import services
from linli.dispatch.models import Incident, IncidentStatus
from linli.dispatch.tests.factories import make_alarm, make_device, make_rescuer
from linli.dispatch.views import since_text
from linli.iot.models import Alarm, AlarmStatus
from linli.people.models import EmergencyContact
from linli.places.models import Area, Building

pytestmark = pytest.mark.django_db

PLACE = "新华里小区 1号楼 1-101 · 新华里社区"


def call_button_alarm(world, grid="A1-1") -> Alarm:
    """A fixed call button: neither the alarm nor the device has a position."""
    alarm = make_alarm(world, grid, device=make_device(world, grid, kind="button"))
    Alarm.objects.filter(pk=alarm.pk).update(lat=None, lng=None)
    return alarm


def english(world, *names):
    for name in names:
        user = world.users[name]
        user.language = "en"
        user.save(update_fields=["language"])


def test_a_call_button_is_on_the_map_at_its_building_then_its_grid(world, client_for):
    alarm = call_button_alarm(world)
    building = world.buildings["A1-1"]
    rows = client_for("dispatcher").get("/dispatch/alarms.json").json()["alarms"]
    row = next(a for a in rows if a["id"] == alarm.pk)
    assert (row["lat"], row["lng"]) == (building.lat, building.lng) and row["located"] is False
    assert row["place"] == PLACE
    # a building without a position: the grid's center
    Building.objects.filter(pk=building.pk).update(lat=None, lng=None)
    Area.objects.filter(pk=world.areas["A1-1"].pk).update(lat=39.2, lng=117.3)
    row = next(a for a in client_for("dispatcher").get("/dispatch/alarms.json").json()["alarms"] if a["id"] == alarm.pk)
    assert (row["lat"], row["lng"]) == (39.2, 117.3)
    # a bracelet with GPS keeps its own position
    gps = make_alarm(world, "A1-2")
    row = next(a for a in client_for("dispatcher").get("/dispatch/alarms.json").json()["alarms"] if a["id"] == gps.pk)
    assert (row["lat"], row["lng"]) == (gps.lat, gps.lng) and row["located"] is True


def test_people_are_named_by_display_name(world, client_for):
    world.users["dispatcher"].display_name = "刘接警"
    world.users["dispatcher"].save(update_fields=["display_name"])
    world.users["rescuer"].display_name = "张桂兰"
    world.users["rescuer"].save(update_fields=["display_name"])
    rescuer = make_rescuer(world)
    alarm = make_alarm(world, "A1-1")
    c = client_for("dispatcher")
    c.post(f"/dispatch/alarms/{alarm.pk}/claim/")
    row = next(a for a in client_for("shift_lead").get("/dispatch/alarms.json").json()["alarms"] if a["id"] == alarm.pk)
    assert row["claimed_by"] == "刘接警"
    incident = Incident.objects.get(alarm=alarm)
    html = c.get(f"/dispatch/incidents/{incident.pk}/").content.decode()
    assert "张桂兰 · " in html and ">rescuer ·" not in html and "刘接警" in html
    assert PLACE in html
    c.post(f"/dispatch/incidents/{incident.pk}/dispatch/", {"version": incident.version, "rescuer": rescuer.pk})
    html = c.get(f"/dispatch/incidents/{incident.pk}/").content.decode()
    assert 'id="rescuer-name">张桂兰' in html
    phone = client_for("rescuer").get("/dispatch/rescue/").content.decode()
    assert PLACE in phone


def test_a_false_alarm_over_http_needs_a_note_and_the_box_ticked(world, client_for):
    english(world, "dispatcher")
    alarm = make_alarm(world, "A1-1")
    c = client_for("dispatcher")
    c.post(f"/dispatch/alarms/{alarm.pk}/claim/")
    incident = Incident.objects.get(alarm=alarm)
    url = f"/dispatch/incidents/{incident.pk}/"
    page = c.get(url).content.decode()
    assert "Record call-back outcome" in page and 'name="confirm"' in page
    no_note = c.post(url + "callback/", {"version": 1, "outcome": "false_alarm", "confirm": "1"}, follow=True)
    assert "write in the note" in no_note.content.decode()
    unconfirmed = c.post(url + "callback/", {"version": 1, "outcome": "false_alarm", "note": "pressed by mistake"})
    assert unconfirmed.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN and incident.version == 1
    done = c.post(
        url + "callback/",
        {"version": 1, "outcome": "false_alarm", "note": "pressed by mistake", "confirm": "1"},
        follow=True,
    )
    assert "Call-back outcome recorded." in done.content.decode()
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED and incident.outcome == "pressed by mistake"
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.CLOSED


def test_the_timeline_reads_minutes_and_seconds(world, client_for):
    from django.utils import translation

    with translation.override("en"):
        assert since_text(0) == "" and since_text(42) == "+42 s"
        assert since_text(172) == "+2 min 52 s" and since_text(3720) == "+1 h 2 min"
    english(world, "dispatcher")
    alarm = make_alarm(world, "A1-1", at=timezone.now() - timezone.timedelta(seconds=172))
    c = client_for("dispatcher")
    c.post(f"/dispatch/alarms/{alarm.pk}/claim/")
    incident = Incident.objects.get(alarm=alarm)
    html = c.get(f"/dispatch/incidents/{incident.pk}/").content.decode()
    assert "+2 min 5" in html and "+172 s" not in html


@pytest.fixture
def sent(world):
    """An incident in street A with a contact, dispatched to `rescuer`."""
    resident = world.resident_in("A1-1")
    contact = EmergencyContact(resident=resident, name="李小明", relation="儿子")
    contact.phone = "13912345678"
    contact.save()
    rescuer = make_rescuer(world)
    make_rescuer(world, "rescuer_b", area="B")
    d = world.users["dispatcher"]
    incident = services.claim(d, make_alarm(world, "A1-1").pk)
    incident = services.dispatch_rescuer(d, incident.pk, incident.version, rescuer.pk)
    return incident, resident, contact


def test_the_rescuer_calls_the_elder_and_contacts_after_an_audited_reveal(world, client_for, sent):
    incident, resident, contact = sent
    phone = client_for("rescuer")
    page = phone.get("/dispatch/rescue/").content.decode()
    assert resident.phone not in page and "13912345678" not in page  # masked until revealed
    assert resident.phone_masked in page and contact.phone_masked in page and "李小明" in page
    url = f"/dispatch/rescue/{incident.pk}/reveal/"
    got = phone.post(url, {"target": "resident", "purpose": "rescue call"})
    assert got.status_code == 200 and f'href="tel:{resident.phone}"' in got.content.decode()
    got = phone.post(url, {"target": str(contact.pk), "purpose": "rescue call"})
    assert 'href="tel:13912345678"' in got.content.decode()
    records = AuditRecord.objects.filter(action="reveal", user=world.users["rescuer"])
    assert {(r.object_type, r.object_id) for r in records} == {
        ("people.resident", str(resident.pk)),
        ("people.emergencycontact", str(contact.pk)),
    }
    # bad input: no purpose, an unknown or another resident's contact
    assert phone.post(url, {"target": "resident", "purpose": ""}).status_code == 400
    assert phone.post(url, {"target": "nonsense", "purpose": "rescue call"}).status_code == 404
    stranger = EmergencyContact(resident=world.resident_in("B1-1"), name="王五")
    stranger.phone = "13700000000"
    stranger.save()
    assert phone.post(url, {"target": str(stranger.pk), "purpose": "rescue call"}).status_code == 404


def test_only_the_assigned_rescuer_may_reveal_and_only_while_the_incident_is_open(world, client_for, sent):
    incident, resident, contact = sent
    url = f"/dispatch/rescue/{incident.pk}/reveal/"
    form = {"target": "resident", "purpose": "rescue call"}
    assert client_for("rescuer_b").post(url, form).status_code == 404  # another rescuer
    assert client_for("dispatcher").post(url, form).status_code == 403  # not a rescuer
    services.close(world.users["dispatcher"], incident.pk, None, "all well")
    assert client_for("rescuer").post(url, form).status_code == 404  # closed
    assert not AuditRecord.objects.filter(action="reveal", object_id=str(resident.pk)).exists()
