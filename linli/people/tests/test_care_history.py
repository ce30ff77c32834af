"""The resident page's History panel and the care profile: rows about the profile (views of it, its changes)
only for users who may see the profile, labelled as what they are, actors by display name; reopening the
edit form within the hour is not recorded again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.core import audit
from linli.core.models import AuditRecord
from linli.people import services_care as care
from linli.people.tests.test_care_profile import FULL

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_users")]


@pytest.fixture
def elder(world):
    return world.resident_in("A1-1")


@pytest.fixture
def grid(world):
    user = world.users["grid"]
    user.display_name = "王网格"
    user.save(update_fields=["display_name"])
    return user


@pytest.fixture
def profiled(grid, elder):
    return care.save_care_profile(grid, elder, **FULL)


def detail_url(resident) -> str:
    return reverse("people:resident-detail", args=[resident.pk])


def edit_url(resident) -> str:
    return reverse("people:resident-edit", args=[resident.pk]) + "?section=care"


def history_of(page: str) -> str:
    return page.split("card history")[-1]


def care_views(elder):
    return AuditRecord.objects.filter(
        action="reveal", object_type="people.resident", object_id=str(elder.pk), after__field="care_profile"
    )


def test_reopening_the_edit_form_within_the_hour_is_recorded_once(world, client_for, grid, elder, profiled):
    c = client_for("grid")
    for _ in range(3):
        assert c.get(edit_url(elder)).status_code == 200
    assert care_views(elder).count() == 1
    # another user opening it is their own record
    community = world.users.get("community")
    if community is not None and community.has_linli_perm("people.reveal"):
        client_for("community").get(edit_url(elder))
    assert care_views(elder).filter(user_id=grid.pk).count() == 1


def test_an_old_edit_view_does_not_silence_a_new_one(grid, elder, profiled):
    old = care_views(elder).count()
    care.open_for_editing(grid, elder)
    assert care_views(elder).count() == old + 1
    # an hour later the form opened again is recorded again
    later = timezone.now() + care.EDIT_VIEW_QUIET + dt.timedelta(minutes=1)
    from unittest import mock

    with mock.patch("linli.people.services_care.timezone.now", return_value=later):
        care.open_for_editing(grid, elder)
    assert care_views(elder).count() == old + 2
    # a reveal with a stated purpose on the page is always recorded
    care.reveal_care_profile(grid, elder, "preparing a home visit")
    care.reveal_care_profile(grid, elder, "preparing a home visit")
    assert care_views(elder).count() == old + 4


def test_users_who_may_see_the_profile_get_labelled_rows_with_display_names(client_for, grid, elder, profiled):
    care.open_for_editing(grid, elder)
    care.save_care_profile(grid, elder, conditions="高血压", mobility="bedridden")
    history = history_of(client_for("grid").get(detail_url(elder)).content.decode())
    assert "viewed care profile" in history and "changed care profile" in history
    assert care_views(elder).first().purpose in history  # the purpose stays
    assert "conditions" in history and "mobility" in history  # which fields changed, by name
    care.save_care_profile(grid, elder, key_holder_phone="13800001111")
    history = history_of(client_for("grid").get(detail_url(elder)).content.decode())
    assert "key holder&#x27;s phone" in history and "13800001111" not in history and "138****1111" not in history
    assert "field: care_profile" not in history and "care_profile" not in history
    assert "王网格" in history and ">grid<" not in history  # the display name, not the login
    assert "高血压" not in history and "sealed#" not in history  # never the values of the profile
    assert "viewed full number" not in history.split("viewed care profile")[0]


def test_roles_without_reveal_see_no_row_about_the_profile(world, client_for, grid, elder, profiled):
    care.open_for_editing(grid, elder)
    care.reveal_care_profile(grid, elder, "preparing a home visit")
    audit.record(AuditRecord.Action.UPDATE, elder, before={"name": "甲"}, after={"name": "乙"}, user=grid)
    audit.record(AuditRecord.Action.DELETE, elder, before={"notes": "丙"}, after=None, user=grid)
    page = client_for("property").get(detail_url(elder)).content.decode()
    history = history_of(page)
    assert "乙" in history and "丙" in history  # the resident's own changes still show, with or without after
    for word in ("care", "Care", "preparing a home visit", "opened for editing", "care_profile", "viewed"):
        assert word not in history, word


def test_a_phone_reveal_is_named_by_its_field(world, client_for, grid, elder, profiled):
    from linli.people import services as people

    people.reveal(grid, elder, "phone", "calling about a visit")
    history = history_of(client_for("property").get(detail_url(elder)).content.decode())
    assert "field: phone" not in history and "Fields:</span> Phone" in history
    assert "calling about a visit" in history


def test_out_of_scope_gets_no_page_at_all(client_for, elder, profiled):
    assert client_for("grid_b").get(detail_url(elder)).status_code == 404
