"""The care profile (关爱档案) on the dispatch center's pages: flags only over the console broadcast, the text on
the incident page and the rescuer's page within scope, one audit record per user and incident, and the spare
key holder's number behind an audited reveal."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.models import AuditRecord
from linli.dispatch import live, services
from linli.dispatch.tests.factories import make_alarm, make_rescuer
from linli.people import services_care as care
from linli.people.models import CareProfile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_users")]

PROFILE = {
    "conditions": "高血压、糖尿病",
    "medication": "二甲双胍 每日两次",
    "allergies": "青霉素过敏",
    "mobility": "bedridden",
    "hearing_cognition": "耳背，需大声说话",
    "doctor": "社区卫生服务站 王医生",
    "key_holder_name": "李阿姨",
    "key_holder_relation": "邻居",
    "key_holder_phone": "13912345678",
    "note": "女儿在外地",
}
TEXT = ("高血压", "二甲双胍", "青霉素", "耳背", "王医生", "女儿在外地", "13912345678")


@pytest.fixture
def elder(world):
    resident = world.resident_in("A1-1")
    care.save_care_profile(None, resident, **PROFILE)
    return resident


def views_of(resident, user=None):
    qs = AuditRecord.objects.filter(
        action="reveal", object_type="people.resident", object_id=str(resident.pk), after__field="care_profile"
    )
    return qs.filter(user=user) if user is not None else qs


def test_the_console_gets_flags_only_never_the_health_text(world, client_for, elder):
    alarm = make_alarm(world, "A1-1")
    c = client_for("dispatcher")
    rows = c.get("/dispatch/alarms.json").json()["alarms"]
    row = next(a for a in rows if a["id"] == alarm.pk)
    assert row["care"] == {"mobility": "bedridden", "key": True}
    page = c.get("/dispatch/").content.decode()
    for payload in (json.dumps(rows, ensure_ascii=False), page):
        for text in TEXT:
            assert text not in payload
    assert "bedridden" in page and 'data-t-care-key="spare key"' in page  # labels for console.js
    # what the socket broadcast carries to every console of the area
    layer = get_channel_layer()
    async_to_sync(layer.group_add)(live.ALL_GROUP, "care-test-channel")
    live.push(live.console_rows([alarm.pk]), "raised")
    message = async_to_sync(layer.receive)("care-test-channel")
    assert message["alarm"]["care"] == {"mobility": "bedridden", "key": True}
    broadcast = json.dumps(message, ensure_ascii=False)
    for text in TEXT:
        assert text not in broadcast
    async_to_sync(layer.group_discard)(live.ALL_GROUP, "care-test-channel")


def test_an_alarm_without_a_profile_has_no_care_flags(world, client_for):
    alarm = make_alarm(world, "A1-2")
    rows = client_for("dispatcher").get("/dispatch/alarms.json").json()["alarms"]
    assert next(a for a in rows if a["id"] == alarm.pk)["care"] is None


def test_the_console_list_reads_profiles_without_a_query_per_alarm(world, client_for):
    for grid in ("A1-1", "A1-2", "A2-1"):
        care.save_care_profile(None, world.resident_in(grid), mobility="aid")
    c = client_for("dispatcher")
    make_alarm(world, "A1-1")
    with CaptureQueriesContext(connection) as one:
        c.get("/dispatch/alarms.json")
    make_alarm(world, "A1-2")
    make_alarm(world, "A2-1")
    with CaptureQueriesContext(connection) as three:
        rows = c.get("/dispatch/alarms.json").json()["alarms"]
    assert len(rows) == 3 and all(r["care"] == {"mobility": "aid", "key": False} for r in rows)
    assert len(three) == len(one)


def test_the_incident_page_shows_the_profile_and_audits_once_per_user_and_incident(world, client_for, elder):
    d = world.users["dispatcher"]
    incident = services.claim(d, make_alarm(world, "A1-1").pk)
    c = client_for("dispatcher")
    page = c.get(f"/dispatch/incidents/{incident.pk}/").content.decode()
    for text in ("高血压、糖尿病", "二甲双胍", "青霉素过敏", "耳背，需大声说话", "王医生", "李阿姨", "bedridden"):
        assert text in page
    assert "13912345678" not in page and "139****5678" in page  # the key holder's number stays masked
    assert 'id="care-profile"' in page
    c.get(f"/dispatch/incidents/{incident.pk}/")  # a reload (or a live refresh) is not recorded again
    rec = views_of(elder, d).get()
    assert rec.after == {"field": "care_profile", "incident": incident.pk} and f"#{incident.pk}" in rec.purpose
    # another user on the same incident: their own record
    client_for("shift_lead").get(f"/dispatch/incidents/{incident.pk}/")
    assert views_of(elder).count() == 2
    # the resident sees it in their own data
    log = client_for("resident").get("/people/me/download/").json()["access_log"]
    assert sum(1 for row in log if row["action"] == "reveal") == 2


def test_another_street_sees_neither_the_incident_nor_the_profile(world, client_for, elder):
    incident = services.claim(world.users["dispatcher"], make_alarm(world, "A1-1").pk)
    c = client_for("dispatcher_b")
    assert c.get(f"/dispatch/incidents/{incident.pk}/").status_code == 404
    rows = c.get("/dispatch/alarms.json").json()["alarms"]
    assert all(r["id"] != incident.alarm_id for r in rows)
    url = f"/dispatch/incidents/{incident.pk}/key-reveal/"
    assert c.post(url, {"purpose": "getting in"}).status_code == 404
    assert not views_of(elder).exists()
    assert not AuditRecord.objects.filter(action="reveal", object_type="people.careprofile").exists()


def test_the_dispatcher_reveals_the_key_holders_number_with_a_purpose(world, client_for, elder):
    incident = services.claim(world.users["dispatcher"], make_alarm(world, "A1-1").pk)
    c = client_for("dispatcher")
    url = f"/dispatch/incidents/{incident.pk}/key-reveal/"
    refused = c.post(url, {"purpose": "x"}).content.decode()
    assert "13912345678" not in refused and "State why" in refused
    got = c.post(url, {"purpose": "getting into the home"}).content.decode()
    assert "13912345678" in got
    profile = CareProfile.objects.get(resident=elder)
    rec = AuditRecord.objects.get(action="reveal", object_type="people.careprofile", object_id=str(profile.pk))
    assert rec.after == {"field": "key_holder_phone", "incident": incident.pk} and rec.username == "dispatcher"
    # no key holder recorded: nothing to reveal
    care.save_care_profile(None, elder, key_holder_name="")
    assert c.post(url, {"purpose": "getting into the home"}).status_code == 404


def test_an_incident_without_a_profile_says_so(world, client_for):
    incident = services.claim(world.users["dispatcher"], make_alarm(world, "A1-2").pk)
    page = client_for("dispatcher").get(f"/dispatch/incidents/{incident.pk}/").content.decode()
    assert "No care profile recorded." in page
    assert not AuditRecord.objects.filter(action="reveal").exists()


@pytest.fixture
def sent(world, elder):
    rescuer = make_rescuer(world)
    make_rescuer(world, "rescuer_b", area="B")
    d = world.users["dispatcher"]
    incident = services.claim(d, make_alarm(world, "A1-1").pk)
    return services.dispatch_rescuer(d, incident.pk, incident.version, rescuer.pk)


def test_the_rescuer_sees_the_profile_and_calls_the_key_holder_after_an_audited_reveal(world, client_for, sent, elder):
    phone = client_for("rescuer")
    page = phone.get("/dispatch/rescue/").content.decode()
    for text in ("高血压、糖尿病", "青霉素过敏", "耳背，需大声说话", "bedridden", "李阿姨"):
        assert text in page
    assert "13912345678" not in page and "139****5678" in page and 'value="keyholder"' in page
    phone.get("/dispatch/rescue/")
    assert views_of(elder, world.users["rescuer"]).count() == 1
    url = f"/dispatch/rescue/{sent.pk}/reveal/"
    got = phone.post(url, {"target": "keyholder", "purpose": "Rescue call"}).content.decode()
    assert 'href="tel:13912345678"' in got and "李阿姨" in got
    rec = AuditRecord.objects.get(action="reveal", object_type="people.careprofile")
    assert rec.after == {"field": "key_holder_phone", "incident": sent.pk} and rec.username == "rescuer"
    # another rescuer: not their incident
    assert client_for("rescuer_b").post(url, {"target": "keyholder", "purpose": "Rescue call"}).status_code == 404
    assert "高血压" not in client_for("rescuer_b").get("/dispatch/rescue/").content.decode()


def test_the_demo_gives_every_watched_resident_a_profile_once(world):
    from linli.core.generate.care_profiles import ensure_demo_care_profiles
    from linli.dispatch.tests.factories import make_device

    watched = {make_device(world, grid).resident_id for grid in ("A1-1", "A2-1")}
    make_device(world, "B1-1")  # another street
    assert ensure_demo_care_profiles(world.areas["A"]) == 2
    profiles = CareProfile.objects.filter(resident_id__in=watched)
    assert profiles.count() == 2 and all(p.conditions and p.doctor for p in profiles)
    assert not CareProfile.objects.filter(resident=world.resident_in("B1-1")).exists()
    assert ensure_demo_care_profiles(world.areas["A"]) == 0  # idempotent


def test_the_console_card_says_who_lives_alone(world, client_for):
    # 独居 on the card before anyone claims it; read with the labels of every alarm in one query
    alone = make_alarm(world, "A1-1")  # the world's 101 residents live alone
    other = make_alarm(world, "A1-2")
    other.resident = world.residents["A1-2/102"]
    other.save(update_fields=["resident"])
    c = client_for("dispatcher")
    rows = {a["id"]: a for a in c.get("/dispatch/alarms.json").json()["alarms"]}
    assert rows[alone.pk]["alone"] is True and rows[other.pk]["alone"] is False
    assert 'data-t-alone="Lives alone"' in c.get("/dispatch/").content.decode()
    layer = get_channel_layer()
    async_to_sync(layer.group_add)(live.ALL_GROUP, "alone-test-channel")
    live.push(live.console_rows([alone.pk]), "raised")
    assert async_to_sync(layer.receive)("alone-test-channel")["alarm"]["alone"] is True
    async_to_sync(layer.group_discard)(live.ALL_GROUP, "alone-test-channel")
