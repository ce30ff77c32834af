"""The console, incident and rescue pages over HTTP: permissions, scope (404), messages, the reveal flow."""

from __future__ import annotations

import pytest

from linli.core.models import AuditRecord
from linli.dispatch.models import Incident, IncidentStatus
from linli.dispatch.tests.factories import make_alarm, make_rescuer
from linli.people.models import EmergencyContact

pytestmark = pytest.mark.django_db


def test_console_needs_the_permission_and_shows_only_its_scope(world, client_for):
    mine = make_alarm(world, "A1-1")
    theirs = make_alarm(world, "B1-1")
    make_alarm(world, "A1-2", type="offline", severity="minor")
    assert client_for("grid").get("/dispatch/").status_code == 403
    page = client_for("dispatcher").get("/dispatch/")
    assert page.status_code == 200
    assert [a["id"] for a in page.context["alarms"]] == [mine.pk]
    data = client_for("dispatcher").get("/dispatch/alarms.json").json()
    assert [a["id"] for a in data["alarms"]] == [mine.pk]
    assert [a["id"] for a in client_for("dispatcher_b").get("/dispatch/alarms.json").json()["alarms"]] == [theirs.pk]


def test_claim_redirects_to_the_incident_and_the_loser_is_told_who_won(world, client_for):
    alarm = make_alarm(world, "A1-1")
    response = client_for("dispatcher").post(f"/dispatch/alarms/{alarm.pk}/claim/")
    incident = Incident.objects.get(alarm=alarm)
    assert response.status_code == 302 and response.url == f"/dispatch/incidents/{incident.pk}/"
    lead = world.users["shift_lead"]
    lead.language = "en"
    lead.save(update_fields=["language"])
    lost = client_for("shift_lead").post(f"/dispatch/alarms/{alarm.pk}/claim/", follow=True)
    assert "already taken by dispatcher" in lost.content.decode()
    assert client_for("dispatcher_b").post(f"/dispatch/alarms/{alarm.pk}/claim/").status_code == 404


def test_incident_page_shows_person_contacts_and_the_chain(world, client_for):
    resident = world.resident_in("A1-1")
    contact = EmergencyContact(resident=resident, name="李小明", relation="son")
    contact.phone = "13912345678"
    contact.save()
    alarm = make_alarm(world, "A1-1")
    client = client_for("dispatcher")
    client.post(f"/dispatch/alarms/{alarm.pk}/claim/")
    incident = Incident.objects.get(alarm=alarm)
    page = client.get(f"/dispatch/incidents/{incident.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert resident.name in html and 'id="living-alone"' in html
    assert "13912345678" not in html and contact.phone_masked in html
    assert client_for("dispatcher_b").get(f"/dispatch/incidents/{incident.pk}/").status_code == 404
    # reveal: audited, with a purpose; too short a purpose is refused
    bad = client.post(f"/dispatch/incidents/{incident.pk}/contacts/{contact.pk}/reveal/", {"purpose": "x"})
    assert bad.status_code == 400
    ok = client.post(f"/dispatch/incidents/{incident.pk}/contacts/{contact.pk}/reveal/", {"purpose": "call the son"})
    assert "13912345678" in ok.content.decode()
    assert AuditRecord.objects.filter(action="reveal", object_id=str(contact.pk), purpose="call the son").exists()


def test_actions_over_http_with_conflict_and_bad_input_messages(world, client_for):
    alarm = make_alarm(world, "A1-1")
    rescuer = make_rescuer(world)
    client = client_for("dispatcher")
    client.post(f"/dispatch/alarms/{alarm.pk}/claim/")
    incident = Incident.objects.get(alarm=alarm)
    url = f"/dispatch/incidents/{incident.pk}/"
    page = client.get(url)
    assert page.context["recommended"].rescuer == rescuer
    client.post(url + "callback/", {"version": 1, "outcome": "needs_help", "note": "fell"})
    stale = client.post(url + "dispatch/", {"version": 1, "rescuer": rescuer.pk}, follow=True)
    assert [m.level_tag for m in stale.context["messages"]] == ["success", "error"]  # the call-back, the conflict
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CALLED_BACK and incident.rescuer is None
    client.post(url + "dispatch/", {"version": incident.version, "rescuer": rescuer.pk})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.DISPATCHED and incident.rescuer == rescuer
    assert client.post(url + "explode/", {"version": incident.version}).status_code == 400
    assert client_for("dispatcher_b").post(url + "close/", {"version": incident.version}).status_code == 404

    # the rescuer's phone page
    phone = client_for("rescuer")
    page = phone.get("/dispatch/rescue/")
    assert page.status_code == 200 and page.context["incident"] == incident
    act = f"/dispatch/rescue/{incident.pk}/"
    phone.post(act + "accept/", {"version": incident.version})
    phone.post(act + "on_scene/", {"version": incident.version + 1})
    phone.post(act + "complete/", {"version": incident.version + 2, "outcome": "all well"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.COMPLETED and incident.on_scene_at and incident.en_route_at
    assert client_for("rescuer_b").post(act + "accept/", {"version": 1}).status_code == 404
    assert client_for("dispatcher").get("/dispatch/rescue/").status_code == 403


def test_rescuer_duty_and_position_posts(world, client_for):
    make_rescuer(world, status="off_duty", at=None)
    phone = client_for("rescuer")
    phone.post("/dispatch/rescue/duty/", {"on": "1"})
    world.users["rescuer"].rescuer.refresh_from_db()
    assert world.users["rescuer"].rescuer.status == "available"
    ok = phone.post("/dispatch/rescue/position/", {"lat": "39.12", "lng": "117.2"}, HTTP_ACCEPT="application/json")
    assert ok.json()["ok"]
    bad = phone.post("/dispatch/rescue/position/", {"lat": "x"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and bad.json()["error"]


def test_console_map_draws_the_grids_of_its_own_area_only(world, client_for):
    # without map tiles the console draws the user's grids under the alarms, read from the places map's data,
    # which is scoped: street A's dispatcher gets A's grids, none of B's
    from django.urls import reverse

    page = client_for("dispatcher").get("/dispatch/").content.decode()
    url = reverse("places:map-data")
    assert f'data-outline="{url}"' in page
    grids = {f["properties"]["name"] for f in client_for("dispatcher").get(url).json()["features"]}
    assert world.areas["A1-1"].name in grids and world.areas["B1-1"].name not in grids


def test_console_map_draws_no_outline_for_an_area_too_large(world, client_for, monkeypatch):
    from linli.dispatch import views

    monkeypatch.setattr(views, "OUTLINE_MAX_GRIDS", 1)  # street A has more grids than that
    assert 'data-outline=""' in client_for("dispatcher").get("/dispatch/").content.decode()
