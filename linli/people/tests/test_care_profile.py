"""The care profile (关爱档案) on the resident's page: who may edit and see it, encryption at rest, audit,
bad input, scope, and the resident's own data export."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.urls import reverse

from linli.accounts.models import ApiToken
from linli.core.models import AuditRecord
from linli.people import services_care as care
from linli.people.models import CareProfile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_users")]

FULL = {
    "conditions": "高血压、糖尿病、心脏病史",
    "medication": "硝苯地平 每日早晚各一片",
    "allergies": "青霉素过敏",
    "mobility": "aid",
    "hearing_cognition": "耳背，需大声说话",
    "doctor": "新华里社区卫生服务站 王医生",
    "key_holder_name": "李阿姨",
    "key_holder_relation": "邻居",
    "key_holder_phone": "13912345678",
    "note": "独居，女儿在外地",
}
SECRETS = ("高血压", "硝苯地平", "青霉素", "耳背", "王医生", "13912345678", "女儿在外地")


def edit_url(resident) -> str:
    return reverse("people:resident-edit", args=[resident.pk]) + "?section=care"


def detail_url(resident) -> str:
    return reverse("people:resident-detail", args=[resident.pk])


def reveal_url(resident) -> str:
    return reverse("people:resident-reveal", args=[resident.pk])


@pytest.fixture
def elder(world):
    return world.resident_in("A1-1")


@pytest.fixture
def profiled(world, elder):
    return care.save_care_profile(world.users["grid"], elder, **FULL)


def raw_row(profile) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM people_careprofile WHERE id = %s", [profile.pk])
        return " ".join(str(v) for v in cursor.fetchone())


def test_grid_worker_records_a_profile_encrypted_and_audited_without_the_words(world, client_for, elder):
    c = client_for("grid")
    form = c.get(edit_url(elder))
    assert form.status_code == 200 and "Known conditions" in form.content.decode()
    response = c.post(edit_url(elder), FULL)
    assert response.status_code == 302 and response["Location"].endswith(f"{detail_url(elder)}#care")
    profile = CareProfile.objects.get(resident=elder)
    assert profile.conditions == FULL["conditions"] and profile.mobility == "aid"
    assert profile.key_holder_phone == "13912345678"
    row = raw_row(profile)
    for secret in SECRETS:
        assert secret not in row  # encrypted at rest
    created = AuditRecord.objects.get(action="create", object_type="people.careprofile", object_id=str(profile.pk))
    logged = json.dumps(created.after, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in logged
    assert created.after["conditions"].startswith("sealed#") and created.after["key_holder_phone"] == "139****5678"
    assert created.username == "grid"


def test_a_change_of_health_text_is_audited_as_a_change(world, elder, profiled):
    care.save_care_profile(world.users["grid"], elder, conditions="高血压")
    update = AuditRecord.objects.filter(action="update", object_type="people.careprofile").latest("seq")
    assert set(update.after) == {"conditions"} and "高血压" not in json.dumps(update.after, ensure_ascii=False)
    assert update.before["conditions"] != update.after["conditions"]


def test_the_resident_page_shows_the_profile_only_after_a_stated_purpose(world, client_for, elder, profiled):
    c = client_for("grid")
    page = c.get(detail_url(elder)).content.decode()
    assert 'id="care"' in page and "Show care profile" in page
    for secret in SECRETS:
        assert secret not in page
    assert not AuditRecord.objects.filter(action="reveal", object_id=str(elder.pk)).exists()
    # no purpose: nothing shown, nothing recorded
    refused = c.post(reveal_url(elder), {"field": "care_profile", "purpose": "x"}, headers={"HX-Request": "true"})
    assert "高血压" not in refused.content.decode() and "State why" in refused.content.decode()
    assert not AuditRecord.objects.filter(action="reveal", object_id=str(elder.pk)).exists()
    shown = c.post(reveal_url(elder), {"field": "care_profile", "purpose": "preparing a home visit"})
    body = shown.content.decode()
    assert shown.status_code == 200 and "高血压" in body and "walks with an aid" in body
    assert "13912345678" not in body and "139****5678" in body  # the key holder's phone stays masked
    rec = AuditRecord.objects.get(action="reveal", object_type="people.resident", object_id=str(elder.pk))
    assert rec.after == {"field": "care_profile"} and rec.purpose == "preparing a home visit"


def test_roles_without_reveal_see_neither_the_profile_nor_the_button(world, client_for, elder, profiled):
    c = client_for("property")  # people.view in its estate, no people.reveal
    page = c.get(detail_url(elder)).content.decode()
    assert 'id="care"' not in page and "Care profile" not in page  # not even that there is one
    assert c.post(reveal_url(elder), {"field": "care_profile", "purpose": "curious about it"}).status_code == 403
    assert c.get(edit_url(elder)).status_code == 403
    # street staff may reveal but not change residents: they see it, they cannot edit it
    street = client_for("street")
    assert "Edit care profile" not in street.get(detail_url(elder)).content.decode()
    assert street.get(edit_url(elder)).status_code == 403
    assert street.post(edit_url(elder), {**FULL, "conditions": "改了"}).status_code == 403
    assert CareProfile.objects.get(resident=elder).conditions == FULL["conditions"]


def test_out_of_scope_is_404_and_nothing_is_saved_or_shown(world, client_for, elder, profiled):
    c = client_for("grid_b")
    assert c.get(edit_url(elder)).status_code == 404
    assert c.post(edit_url(elder), {**FULL, "conditions": "改了"}).status_code == 404
    assert c.post(reveal_url(elder), {"field": "care_profile", "purpose": "a home visit"}).status_code == 404
    assert CareProfile.objects.get(resident=elder).conditions == FULL["conditions"]
    assert not AuditRecord.objects.filter(action="reveal", object_id=str(elder.pk)).exists()
    # the service checks scope too, not only the view
    with pytest.raises(Exception) as exc:
        care.save_care_profile(world.users["grid_b"], elder, conditions="改了")
    assert type(exc.value).__name__ == "Http404"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("conditions", "病" * 201, "at most 200 characters"),
        ("note", "x" * 501, "at most 500 characters"),
        ("key_holder_phone", "12345", "11-digit mobile number"),
        ("mobility", "flying", "Select a valid choice"),
    ],
)
def test_bad_input_names_the_problem_and_saves_nothing(world, client_for, elder, field, value, message):
    response = client_for("grid").post(edit_url(elder), {**FULL, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CareProfile.objects.filter(resident=elder).exists()
    assert not AuditRecord.objects.filter(object_type="people.careprofile").exists()


def test_the_service_refuses_bad_input_too(world, elder):
    from django.core.exceptions import ValidationError

    grid = world.users["grid"]
    with pytest.raises(ValidationError) as exc:
        care.save_care_profile(grid, elder, allergies="x" * 101, mobility="flying")
    assert set(exc.value.error_dict) == {"allergies", "mobility"}
    with pytest.raises(ValidationError) as exc:
        care.save_care_profile(grid, elder, key_holder_phone="13912345678")
    assert set(exc.value.error_dict) == {"key_holder_name"}
    with pytest.raises(ValidationError):
        care.save_care_profile(grid, elder, blood_type="A")
    assert not CareProfile.objects.filter(resident=elder).exists()


def test_the_key_holders_phone_is_never_in_the_form_and_empty_keeps_it(world, client_for, elder, profiled):
    c = client_for("grid")
    form = c.get(edit_url(elder)).content.decode()
    assert "13912345678" not in form and "Leave empty to keep 139****5678." in form
    assert "高血压" in form  # the health text is filled in to edit it: that viewing is audited
    rec = AuditRecord.objects.get(action="reveal", object_id=str(elder.pk))
    assert rec.after == {"field": "care_profile", "editing": True} and rec.purpose == "care profile opened for editing"
    c.post(edit_url(elder), {**FULL, "key_holder_phone": "", "allergies": "无已知过敏"})
    profile = CareProfile.objects.get(resident=elder)
    assert profile.key_holder_phone == "13912345678" and profile.allergies == "无已知过敏"
    # no key holder any more: the phone goes with the name
    c.post(edit_url(elder), {**FULL, "key_holder_name": "", "key_holder_phone": ""})
    profile = CareProfile.objects.get(resident=elder)
    assert profile.key_holder_phone == "" and profile.key_holder_relation == ""


def test_the_resident_sees_and_downloads_their_own_profile(world, client_for, elder, profiled):
    c = client_for("resident")  # bound to the resident of A1-1/101
    page = c.get(reverse("people:my-data")).content.decode()
    assert 'id="my-care"' in page and "高血压" in page and "13912345678" in page
    package = json.loads(c.get(reverse("people:my-data-download")).content)
    assert package["care_profile"]["conditions"] == FULL["conditions"]
    assert package["care_profile"]["key_holder_phone"] == "13912345678"
    assert package["care_profile"]["mobility"] == "aid"
    # who changed it is in their access log
    assert any(row["action"] == "create" and row["by"] == "grid" for row in package["access_log"])


def test_the_api_data_package_has_the_care_profile(world, client, elder, profiled):
    _token, key = ApiToken.issue(world.users["resident"])
    r = client.get("/api/v1/me/data", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert r.json()["care_profile"]["medication"] == FULL["medication"]


def test_a_resident_without_a_profile_exports_none(world, client_for, elder):
    package = json.loads(client_for("resident").get(reverse("people:my-data-download")).content)
    assert package["care_profile"] is None
    assert "None recorded." in client_for("grid").get(detail_url(elder)).content.decode()
