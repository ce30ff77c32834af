"""The case page, actions through HTTP, photos and "My tasks": scope, refusals, conflicts, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.cases import services
from linli.cases.models import CaseAttachment, CaseEvent, CoHandler, Status, WorkOrder
from linli.cases.tests.helpers import dispatched, open_case, png
from linli.cases.views.case import can

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def page(pk: int) -> str:
    return reverse("cases:case-detail", args=[pk])


def act_url(pk: int, action: str) -> str:
    return reverse("cases:case-act", args=[pk, action])


def fresh(case: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.get(pk=case.pk)


# ---------------------------------------------------------------- the case page and its scope


@pytest.mark.parametrize("user", ["resident", "community", "street", "grid"])
def test_case_page_visible_in_scope(world, client_for, user):
    case = dispatched(world)
    r = client_for(user).get(page(case.pk))
    assert r.status_code == 200
    body = r.content.decode()
    assert case.number in body and case.title in body
    assert 'class="timeline"' in body


def test_handler_of_the_lead_unit_sees_a_case_outside_its_area_scope(world, client_for):
    case = dispatched(world, unit="a-urban")
    assert client_for("handler").get(page(case.pk)).status_code == 200
    assert client_for("handler_b").get(page(case.pk)).status_code == 404


@pytest.mark.parametrize("user", ["street_b", "community_b", "grid_b", "property_b", "nobody", "handler_b"])
def test_case_page_is_404_out_of_scope(world, client_for, user):
    case = dispatched(world)
    assert client_for(user).get(page(case.pk)).status_code == 404
    r = client_for(user).post(act_url(case.pk, "comment"), {"version": case.version, "note": "x"})
    assert r.status_code == 404
    assert fresh(case).events.count() == 2


def test_anonymous_user_goes_to_login(world, client):
    case = open_case(world)
    r = client.get(page(case.pk))
    assert r.status_code == 302 and "login" in r["Location"]


def test_anonymous_case_hides_the_reporter_from_staff_but_not_from_the_reporter(world, client_for, english_users):
    world.users["resident"].display_name = reporter = "张阿姨报告人"
    world.users["resident"].save(update_fields=["display_name"])
    case = open_case(world, anonymous=True)
    staff = client_for("community").get(page(case.pk)).content.decode()
    assert reporter not in staff and "anonymous" in staff
    own = client_for("resident").get(page(case.pk)).content.decode()
    assert reporter in own


def test_hotline_caller_phone_is_masked(world, client_for):
    case = open_case(world, user="community", channel="hotline", caller_name="王先生", caller_phone="13812345678")
    body = client_for("community").get(page(case.pk)).content.decode()
    assert "王先生" in body
    assert "13812345678" not in body and case.caller_phone_masked in body


def test_case_page_shows_clock_map_units_and_suggestion(world, client_for, english_users):
    case = dispatched(world)
    WorkOrder.objects.filter(pk=case.pk).update(lat=39.125, lng=117.205)
    services.act(
        world.users["community"],
        case.pk,
        "reassign",
        unit=world.units["a-urban"],
        note="城管负责",
    )
    body = client_for("street").get(page(case.pk)).content.decode()
    assert "Resolution due" in body and "left" in body
    assert 'id="case-point"' in body and "cases/case.js" in body
    assert world.units["a-urban"].name in body
    assert "Reassign" in body  # the timeline labels each event


def test_overdue_and_suspended_badges(world, client_for, english_users):
    case = dispatched(world)
    WorkOrder.objects.filter(pk=case.pk).update(resolve_due=timezone.now() - dt.timedelta(hours=3))
    body = client_for("community").get(page(case.pk)).content.decode()
    assert "due-overdue" in body and "overdue by 3 hours" in body
    WorkOrder.objects.filter(pk=case.pk).update(status=Status.SUSPENDED, suspended_at=timezone.now())
    body = client_for("community").get(page(case.pk)).content.decode()
    assert "due-suspended" in body and "due-overdue" not in body


def test_only_the_allowed_actions_are_offered(world, client_for):
    case = open_case(world)
    # the dispatcher of the community: accept, dispatch, merge...; the reporter: nothing until it is resolved
    community = client_for("community").get(page(case.pk)).content.decode()
    assert 'id="act-dispatch"' in community and 'id="act-resolve"' not in community
    resident = client_for("resident").get(page(case.pk)).content.decode()
    assert 'id="act-dispatch"' not in resident and 'class="act"' not in resident
    assert can(world.users["community"], case, "dispatch") and not can(world.users["resident"], case, "dispatch")
    # the dispatch form preselects the proposed unit
    assert f'<option value="{case.proposed_unit_id}" selected>' in community
    case = dispatched(world)
    grid = client_for("grid").get(page(case.pk)).content.decode()
    assert 'id="act-start"' in grid and 'id="act-dispatch"' not in grid
    assert 'id="act-start"' not in client_for("handler").get(page(case.pk)).content.decode()


# ---------------------------------------------------------------- actions through HTTP


def post(client, case, action, **data):
    data.setdefault("version", fresh(case).version)
    return client.post(act_url(case.pk, action), data)


def test_the_loop_through_http(world, client_for, django_capture_on_commit_callbacks):
    case = open_case(world, photos=[png()])
    community, grid, resident = client_for("community"), client_for("grid"), client_for("resident")
    r = post(community, case, "dispatch", unit=world.units["a1-community"].pk, priority="normal")
    assert r.status_code == 302 and r["Location"] == page(case.pk)
    assert fresh(case).status == Status.DISPATCHED
    assert post(grid, case, "start").status_code == 302
    assert fresh(case).status == Status.IN_PROGRESS
    r = grid.post(
        act_url(case.pk, "resolve"),
        {"version": fresh(case).version, "note": "已更换灯泡", "photos": [png("after.png")]},
    )
    assert r.status_code == 302
    case = fresh(case)
    assert case.status == Status.RESOLVED and case.attachments.filter(kind="after").count() == 1
    assert post(resident, case, "rate", rating="satisfied", comment="很快").status_code == 302
    assert fresh(case).status == Status.REVIEWED
    actions = list(fresh(case).events.values_list("action", flat=True))
    assert actions == ["submit", "dispatch", "start", "resolve", "rate"]
    body = resident.get(page(case.pk)).content.decode()
    assert body.count(reverse("cases:photo", args=[case.attachments.first().pk])) >= 2  # photos and timeline


def test_next_must_be_local(world, client_for):
    case = dispatched(world)
    r = post(client_for("grid"), case, "start", next="/cases/tasks/")
    assert r["Location"] == "/cases/tasks/"
    case = dispatched(world)
    r = post(client_for("grid"), case, "start", next="https://evil.example/")
    assert r["Location"] == page(case.pk)


def test_refused_action_shows_the_reason(world, client_for, english_users):
    case = open_case(world)
    c = client_for("community")
    r = post(c, case, "resolve", note="x")
    assert r.status_code == 302
    body = c.get(r["Location"]).content.decode()
    assert "not possible" in body
    assert fresh(case).status == Status.SUBMITTED and fresh(case).events.count() == 1
    # permission: the resident may not dispatch
    resident = client_for("resident")
    r = post(resident, case, "dispatch", unit=world.units["a1-community"].pk, priority="normal")
    assert r.status_code == 302 and fresh(case).status == Status.SUBMITTED
    assert "You do not have permission to do this." in resident.get(page(case.pk)).content.decode()


def test_other_unit_may_not_start(world, client_for, english_users):
    case = dispatched(world)
    c = client_for("property")
    r = post(c, case, "start")
    assert r.status_code == 302
    assert "Only the unit this case is dispatched to" in c.get(page(case.pk)).content.decode()
    assert fresh(case).status == Status.DISPATCHED


def test_return_without_reason_is_refused(world, client_for, english_users):
    case = dispatched(world)
    r = post(client_for("grid"), case, "return", note="   ")
    assert r.status_code == 400
    assert "Say why you return the case" in r.content.decode()
    assert fresh(case).status == Status.DISPATCHED and fresh(case).lead_unit_id
    r = post(client_for("grid"), case, "return", note="不属于社区职责")
    assert r.status_code == 302 and fresh(case).status == Status.RETURNED


def test_two_dispatchers_through_http_one_wins_the_other_is_told(world, client_for, english_users):
    case = open_case(world)
    version = case.version
    first, second = client_for("community"), client_for("street")
    r1 = first.post(
        act_url(case.pk, "dispatch"),
        {"version": version, "unit": world.units["a1-community"].pk, "priority": "normal"},
    )
    assert r1.status_code == 302
    r2 = second.post(
        act_url(case.pk, "dispatch"),
        {"version": version, "unit": world.units["a-urban"].pk, "priority": "high"},
    )
    assert r2.status_code == 302 and r2["Location"] == page(case.pk)
    body = second.get(page(case.pk)).content.decode()
    assert "changed this case" in body and str(world.users["community"]) in body
    case = fresh(case)
    assert case.lead_unit == world.units["a1-community"] and case.priority != "high"
    assert list(case.events.values_list("action", flat=True)) == ["submit", "dispatch"]


def test_missing_version_is_refused(world, client_for, english_users):
    case = dispatched(world)
    r = client_for("grid").post(act_url(case.pk, "start"), {})
    assert r.status_code == 400 and "case version" in r.content.decode()
    assert fresh(case).status == Status.DISPATCHED


def test_non_image_upload_is_refused_with_the_message(world, client_for, english_users):
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    fake = SimpleUploadedFile("report.png", b"%PDF-1.4 not an image at all", content_type="image/png")
    r = client_for("grid").post(
        act_url(case.pk, "resolve"), {"version": fresh(case).version, "note": "done", "photos": [fake]}
    )
    assert r.status_code == 400
    assert "is not a photo" in r.content.decode()
    case = fresh(case)
    assert case.status == Status.IN_PROGRESS and not case.attachments.exists()


def test_merge_by_case_number(world, client_for):
    first = open_case(world)
    second = open_case(world)
    r = post(client_for("community"), second, "merge", into=first.number)
    assert r.status_code == 302
    assert fresh(second).status == Status.MERGED and fresh(second).merged_into_id == first.pk
    r = post(client_for("community"), open_case(world), "merge", into="abc")
    assert r.status_code == 400


def test_unknown_action_is_404(world, client_for):
    case = open_case(world)
    assert client_for("community").post(act_url(case.pk, "explode"), {"version": 1}).status_code == 404


# ---------------------------------------------------------------- photos


def test_photo_served_in_scope_with_nosniff_and_404_outside(world, client_for):
    case = open_case(world, photos=[png()])
    att = CaseAttachment.objects.get(work_order=case)
    url = reverse("cases:photo", args=[att.pk])
    r = client_for("community").get(url)
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"].startswith("inline")
    assert b"".join(r.streaming_content).startswith(b"\x89PNG")
    for user in ("community_b", "grid_b", "nobody", "handler_b"):
        assert client_for(user).get(url).status_code == 404


# ---------------------------------------------------------------- my tasks


def test_tasks_scope_and_ordering(world, client_for):
    u = world.users
    late = dispatched(world)
    soon = dispatched(world)
    other_unit = dispatched(world, unit="a-urban")
    elsewhere = dispatched(world, grid="B1-1", unit="b1-community", dispatcher="community_b")
    now = timezone.now()
    WorkOrder.objects.filter(pk=late.pk).update(resolve_due=now - dt.timedelta(hours=1))
    WorkOrder.objects.filter(pk=soon.pk).update(resolve_due=now + dt.timedelta(hours=5))
    returned = dispatched(world)
    services.act(u["grid"], returned.pk, "return", note="不归我们")
    suspended = dispatched(world)
    services.act(u["grid"], suspended.pk, "start")
    services.act(u["grid"], suspended.pk, "request_suspend", note="等配件")
    services.act(u["street"], suspended.pk, "approve_suspend")
    assisting = dispatched(world, unit="a-urban")
    CoHandler.objects.create(work_order=assisting, unit=world.units["a1-community"])  # the grid's unit assists
    own = open_case(world, user="grid", channel="grid")

    r = client_for("grid").get(reverse("cases:tasks"))
    assert r.status_code == 200
    page_cases = list(r.context["page"].object_list)
    pks = [c.pk for c in page_cases]
    assert pks[0] == late.pk and pks.index(late.pk) < pks.index(soon.pk)
    assert assisting.pk in pks and other_unit.pk not in pks and elsewhere.pk not in pks
    assert returned.pk not in pks and suspended.pk not in pks
    assert [c.my_role for c in page_cases if c.pk == assisting.pk] == ["assist"]
    assert [c.pk for c in r.context["suspended"]] == [suspended.pk]
    assert [c.pk for c in r.context["own"]] == [own.pk]
    body = r.content.decode()
    assert "due-overdue" in body and act_url(soon.pk, "start") in body
    assert act_url(assisting.pk, "start") not in body  # only the lead unit starts

    assert client_for("handler_b").get(reverse("cases:tasks")).context["page"].paginator.count == 0
    assert client_for("resident").get(reverse("cases:tasks")).status_code == 403


def test_tasks_query_count_does_not_grow(world, client_for):
    c = client_for("grid")
    dispatched(world)
    c.get(reverse("cases:tasks"))
    with CaptureQueriesContext(connection) as few:
        assert c.get(reverse("cases:tasks")).status_code == 200
    for _ in range(6):
        dispatched(world)
    with CaptureQueriesContext(connection) as many:
        assert c.get(reverse("cases:tasks")).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_case_page_query_count_does_not_grow_with_events(world, client_for):
    case = dispatched(world)
    c = client_for("community")
    c.get(page(case.pk))
    with CaptureQueriesContext(connection) as few:
        c.get(page(case.pk))
    for i in range(5):
        services.act(world.users["community"], case.pk, "comment", note=f"备注{i}")
    assert CaseEvent.objects.filter(work_order=case).count() == 7
    with CaptureQueriesContext(connection) as many:
        c.get(page(case.pk))
    assert len(many) == len(few)
