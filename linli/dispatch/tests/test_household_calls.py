"""A home device bound to nobody (a smoke, gas or leak detector): the incident page and the rescuer's page offer
the people living at that house, masked, behind an audited reveal, with their emergency contacts. Also the
incident's readings in words, the elder's number with the emergency purpose, the rescuer's next step as the
one primary button and the call-back outcome on the rescuer's card."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.idnumber import make_id_number
from linli.core.models import AuditRecord
from linli.dispatch import services
from linli.dispatch.tests.factories import make_alarm, make_device, make_rescuer
from linli.iot.models import Telemetry
from linli.people import services as people
from linli.people.models import Occupancy, Resident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_users")]


def add_resident(world, name: str, phone: str, relation: str, seq: int, status: str = "active") -> Resident:
    born = dt.date(1961, 7, 10 + seq)
    r = people.save_resident(
        None,
        house=world.house_in("A1-1"),
        relation=relation,
        name=name,
        id_number=make_id_number("120103", born, 700 + seq, "M"),
        phone=phone,
    )
    if status != "active":
        Resident.objects.filter(pk=r.pk).update(status=status)
    return r


@pytest.fixture
def home(world):
    """House A1-1/101: its resident (lives), a tenant with a daughter as contact, someone only registered there
    and someone who moved out; a smoke detector bound to the house, to nobody."""
    tenant = add_resident(world, "租户赵", "13911112222", Occupancy.Relation.TENANT, 1)
    people.save_emergency_contact(None, tenant, name="赵女儿", phone="13733334444", relation="女儿")
    add_resident(world, "户在人不在", "13955556666", Occupancy.Relation.REGISTERED_ELSEWHERE, 2)
    add_resident(world, "已搬走", "13977778888", Occupancy.Relation.LIVES, 3, status="moved_out")
    device = make_device(world, "A1-1", kind="smoke")
    device.resident = None
    device.save(update_fields=["resident"])
    return {"tenant": tenant, "elder": world.resident_in("A1-1"), "device": device}


@pytest.fixture
def incident(world, home):
    alarm = make_alarm(world, "A1-1", type="smoke", device=home["device"])
    return services.claim(world.users["dispatcher"], alarm.pk)


def page_of(client, incident) -> str:
    return client.get(f"/dispatch/incidents/{incident.pk}/").content.decode()


def test_the_household_is_who_lives_there(world, home, incident):
    people_there = services.household_of(incident)
    assert [r.name for r in people_there] == [home["elder"].name, "租户赵"]  # living there first, then tenants
    assert people_there[1].home_relation == str(Occupancy.Relation.TENANT.label)
    # an alarm naming its person has no household list: the person and their contacts are on the card
    sos = services.claim(world.users["dispatcher"], make_alarm(world, "A1-1").pk)
    assert services.household_of(sos) == []


def test_the_incident_page_lists_the_household_masked_with_an_emergency_purpose(world, client_for, home, incident):
    page = page_of(client_for("dispatcher"), incident)
    assert "The device is not bound to a person. People living at this address:" in page
    assert "租户赵" in page and "139****2222" in page and "13911112222" not in page
    assert "赵女儿" in page and "137****4444" in page and "13733334444" not in page
    assert "户在人不在" not in page and "已搬走" not in page
    assert page.count('value="Emergency call-back"') >= 3  # two occupants and the contact


def test_revealing_an_occupant_and_their_contact_is_audited(world, client_for, home, incident):
    c = client_for("dispatcher")
    url = f"/dispatch/incidents/{incident.pk}/occupant-reveal/"
    tenant = home["tenant"]
    short = c.post(url, {"resident": tenant.pk, "purpose": "x"})
    assert short.status_code == 400 and "13911112222" not in short.content.decode()
    got = c.post(url, {"resident": tenant.pk, "purpose": "Emergency call-back"})
    assert got.status_code == 200 and "13911112222" in got.content.decode()
    rec = AuditRecord.objects.get(action="reveal", object_type="people.resident", object_id=str(tenant.pk))
    assert rec.purpose == "Emergency call-back" and rec.after == {"field": "phone"}
    contact = tenant.emergency_contacts.get()
    got = c.post(f"/dispatch/incidents/{incident.pk}/contacts/{contact.pk}/reveal/", {"purpose": "Emergency call-back"})
    assert "13733334444" in got.content.decode()
    assert AuditRecord.objects.filter(action="reveal", object_type="people.emergencycontact").count() == 1


def test_only_the_household_and_only_in_scope(world, client_for, home, incident):
    c = client_for("dispatcher")
    url = f"/dispatch/incidents/{incident.pk}/occupant-reveal/"
    away = Resident.objects.get(name="户在人不在")
    other = world.resident_in("A1-2")  # in the dispatcher's scope, but not living here
    for pk in (away.pk, other.pk, "x", ""):
        assert c.post(url, {"resident": pk, "purpose": "Emergency call-back"}).status_code == 404
    stranger = people.save_emergency_contact(None, other, name="外人", phone="13600000000")
    assert (
        c.post(f"/dispatch/incidents/{incident.pk}/contacts/{stranger.pk}/reveal/", {"purpose": "Emergency call-back"})
    ).status_code == 404
    # another street's dispatcher: not their incident
    b = client_for("dispatcher_b")
    assert b.get(f"/dispatch/incidents/{incident.pk}/").status_code == 404
    assert b.post(url, {"resident": home["tenant"].pk, "purpose": "Emergency call-back"}).status_code == 404
    assert not AuditRecord.objects.filter(action="reveal", object_type="people.resident").exists()


@pytest.fixture
def sent(world, incident):
    rescuer = make_rescuer(world)
    make_rescuer(world, "rescuer_b", area="B")
    return services.dispatch_rescuer(world.users["dispatcher"], incident.pk, incident.version, rescuer.pk)


def test_the_rescuer_calls_the_household_after_an_audited_reveal(world, client_for, home, sent):
    phone = client_for("rescuer")
    page = phone.get("/dispatch/rescue/").content.decode()
    tenant = home["tenant"]
    assert "租户赵" in page and "139****2222" in page and "13911112222" not in page
    assert f'value="occupant-{tenant.pk}"' in page and "赵女儿" in page and "户在人不在" not in page
    url = f"/dispatch/rescue/{sent.pk}/reveal/"
    got = phone.post(url, {"target": f"occupant-{tenant.pk}", "purpose": "Rescue call"}).content.decode()
    assert 'href="tel:13911112222"' in got and "租户赵" in got
    rec = AuditRecord.objects.get(action="reveal", object_type="people.resident", object_id=str(tenant.pk))
    assert rec.after == {"field": "phone", "incident": sent.pk} and rec.username == "rescuer"
    contact = tenant.emergency_contacts.get()
    got = phone.post(url, {"target": contact.pk, "purpose": "Rescue call"}).content.decode()
    assert 'href="tel:13733334444"' in got
    # nobody outside the house, no "resident" when there is none, and not for another rescuer
    away = Resident.objects.get(name="户在人不在")
    for target in (f"occupant-{away.pk}", f"occupant-{world.resident_in('A1-2').pk}", "resident", "occupant-x"):
        assert phone.post(url, {"target": target, "purpose": "Rescue call"}).status_code == 404, target
    other = client_for("rescuer_b")
    assert other.post(url, {"target": f"occupant-{tenant.pk}", "purpose": "Rescue call"}).status_code == 404
    assert "租户赵" not in other.get("/dispatch/rescue/").content.decode()
    assert phone.post(url, {"target": f"occupant-{tenant.pk}", "purpose": "x"}).status_code == 400
    assert AuditRecord.objects.filter(action="reveal", object_type="people.resident").count() == 1


def test_readings_are_in_words_not_python(world, client_for, home, incident):
    now = timezone.now()
    device = home["device"]
    messages = ({"event": "smoke", "data": {"smoke": 44.2}}, {"event": "sos", "data": {}}, {"battery": 80})
    for i, values in enumerate(messages):
        Telemetry.objects.create(device=device, received_at=now - dt.timedelta(seconds=i), values=values)
    page = page_of(client_for("dispatcher"), incident)
    readings = page.split('id="readings"')[1].split("</ul>")[0]
    assert "event=" not in readings and "data=" not in readings and "{" not in readings
    assert "Smoke" in readings and "SOS" in readings and "Battery" in readings and "80" in readings


def test_the_elders_number_has_the_emergency_purpose(world, client_for):
    incident = services.claim(world.users["dispatcher"], make_alarm(world, "A1-1").pk)
    page = page_of(client_for("dispatcher"), incident)
    phone = page.split('id="reveal-phone"')[1].split("</dd>")[0]
    assert 'value="Emergency call-back"' in phone and "e.g. confirming identity" not in phone


def _buttons(page: str) -> dict[str, str]:
    out = {}
    for key in ("accept", "on-scene"):
        if f'id="{key}"' in page:
            out[key] = page.split(f'id="{key}"')[0].rsplit("<button", 1)[1]
    return out


def test_only_the_next_step_is_the_primary_button_and_the_callback_outcome_shows(world, client_for):
    rescuer = make_rescuer(world)
    d = world.users["dispatcher"]
    incident = services.claim(d, make_alarm(world, "A1-1").pk)
    incident = services.record_callback(d, incident.pk, incident.version, "no_answer", "rang twice")
    incident = services.dispatch_rescuer(d, incident.pk, incident.version, rescuer.pk)
    phone = client_for("rescuer")
    page = phone.get("/dispatch/rescue/").content.decode()
    buttons = _buttons(page)
    assert "primary" in buttons["accept"] and "primary" not in buttons["on-scene"]
    callback = page.split('id="callback"')[1].split("</p>")[0]
    assert str(incident.get_callback_display()) in callback and "rang twice" in callback
    services.rescuer_step(world.users["rescuer"], incident.pk, incident.version, "accept")
    buttons = _buttons(phone.get("/dispatch/rescue/").content.decode())
    assert "accept" not in buttons and "primary" in buttons["on-scene"]
