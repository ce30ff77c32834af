"""The work-order engine: the closed loop, refusals, scope, optimistic locking, photos and machine sources."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from linli.cases import routing, services, workflow
from linli.cases.models import CaseAttachment, CaseEvent, Category, Channel, Status, WorkOrder
from linli.cases.tests.helpers import dispatched, open_case, png, report
from linli.core.models import AuditRecord
from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_resident_report_runs_the_whole_loop(world, django_capture_on_commit_callbacks):
    u = world.users
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(world, photos=[png()])
    assert case.status == Status.SUBMITTED
    assert case.grid_id == world.areas["A1-1"].pk and case.street_id == world.areas["A"].pk
    assert case.proposed_unit is not None
    assert case.proposed_unit == routing.route(case.category, world.areas["A1-1"])
    assert case.resolve_due > case.response_due > case.submitted_at
    assert case.attachments.count() == 1
    assert Notification.objects.filter(user=u["community"], kind="new_case").exists()

    with django_capture_on_commit_callbacks(execute=True):
        case = services.act(u["community"], case.pk, "accept", expected_version=case.version)
        case = services.act(u["community"], case.pk, "dispatch", unit=world.units["a1-community"])
    assert case.status == Status.DISPATCHED
    assert Notification.objects.filter(user=u["grid"], kind="assigned").exists()
    case = services.act(u["grid"], case.pk, "start")
    case = services.act(u["grid"], case.pk, "resolve", note="已更换灯泡", photos=[png("after.png")])
    assert case.status == Status.RESOLVED and case.resolution == "已更换灯泡"
    with pytest.raises(PermissionDenied):
        services.act(u["community"], case.pk, "rate", rating="satisfied")
    case = services.act(u["resident"], case.pk, "rate", rating="satisfied", comment="很快")
    assert case.status == Status.REVIEWED
    case = services.act(u["community"], case.pk, "close")
    assert case.status == Status.CLOSED

    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["submit", "accept", "dispatch", "start", "resolve", "rate", "close"]
    assert all(e.actor_name for e in case.events.all())
    assert case.attachments.filter(kind=CaseAttachment.Kind.AFTER).count() == 1
    audited = AuditRecord.objects.filter(object_type="cases.workorder", object_id=str(case.pk))
    assert audited.count() == 7


def test_invalid_transitions_are_refused_with_a_reason(world):
    case = open_case(world)
    with pytest.raises(workflow.TransitionError) as exc:
        services.act(world.users["community"], case.pk, "resolve", note="x")
    assert "not possible" in str(exc.value) or "不能" in str(exc.value)
    assert WorkOrder.objects.get(pk=case.pk).status == Status.SUBMITTED
    assert case.events.count() == 1


def test_return_needs_a_reason_and_goes_back_to_the_dispatcher(world):
    case = dispatched(world)
    with pytest.raises(ValidationError):
        services.act(world.users["grid"], case.pk, "return", note="  ")
    case = services.act(world.users["grid"], case.pk, "return", note="不属于社区职责，应由城管处理")
    assert case.status == Status.RETURNED and case.lead_unit is None
    case = services.act(world.users["street"], case.pk, "dispatch", unit=world.units["a-urban"])
    assert case.lead_unit == world.units["a-urban"]
    # only the lead unit handles
    with pytest.raises(PermissionDenied):
        services.act(world.users["grid"], case.pk, "start")
    services.act(world.users["handler"], case.pk, "start")


def test_out_of_scope_users_cannot_see_or_act(world):
    case = dispatched(world)
    for name in ("community_b", "street_b", "grid_b", "handler_b", "nobody", "property_b"):
        assert not WorkOrder.objects.for_user(world.users[name]).filter(pk=case.pk).exists(), name
        with pytest.raises(Http404):
            services.act(world.users[name], case.pk, "comment", note="hi")
    assert WorkOrder.objects.for_user(world.users["street"]).filter(pk=case.pk).exists()
    assert WorkOrder.objects.for_user(world.users["resident"]).filter(pk=case.pk).exists()  # the reporter


def test_handler_sees_only_the_cases_of_its_unit(world):
    mine = dispatched(world, unit="a-urban")
    other = dispatched(world)
    visible = set(WorkOrder.objects.for_user(world.users["handler"]).values_list("pk", flat=True))
    assert mine.pk in visible and other.pk not in visible


def test_two_dispatchers_one_wins_the_other_is_told(world):
    case = open_case(world)
    version = case.version
    services.act(
        world.users["community"], case.pk, "dispatch", expected_version=version, unit=world.units["a1-community"]
    )
    with pytest.raises(services.ConflictError) as exc:
        services.act(world.users["street"], case.pk, "dispatch", expected_version=version, unit=world.units["a-urban"])
    assert "community" in str(exc.value) or "社区" in str(exc.value)
    case.refresh_from_db()
    assert case.lead_unit == world.units["a1-community"]
    assert case.events.filter(action="dispatch").count() == 1


def test_suspension_stops_the_clock(world):
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    with pytest.raises(workflow.TransitionError):
        services.act(world.users["community"], case.pk, "approve_suspend")
    services.act(world.users["grid"], case.pk, "request_suspend", note="配件已订购，等待到货")
    case = services.act(world.users["community"], case.pk, "approve_suspend")
    assert case.status == Status.SUSPENDED and case.due_state() == "ok"
    due = case.resolve_due
    # resume four calendar days later: the deadline moves by the working time spent suspended
    WorkOrder.objects.filter(pk=case.pk).update(suspended_at=case.suspended_at - dt.timedelta(days=4))
    case = services.act(world.users["community"], case.pk, "resume", note="配件到了")
    assert case.status == Status.IN_PROGRESS
    assert case.paused_minutes > 0 and case.resolve_due > due


def test_escalation_climbs_one_level_at_a_time(world):
    case = dispatched(world)
    with pytest.raises(ValidationError):
        services.act(world.users["grid"], case.pk, "escalate", note="")
    case = services.act(world.users["grid"], case.pk, "escalate", note="需要街道协调")
    assert case.escalated_to == world.areas["A1"] and case.escalation_level == 1
    case = services.act(world.users["community"], case.pk, "escalate", note="社区无法协调")
    assert case.escalated_to == world.areas["A"]


def test_unsatisfied_reopens_and_counts(world):
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    services.act(world.users["grid"], case.pk, "resolve", note="已处理")
    with pytest.raises(ValidationError):
        services.act(world.users["resident"], case.pk, "rate", rating="great")
    case = services.act(world.users["resident"], case.pk, "rate", rating="unsatisfied", comment="灯还是不亮")
    assert case.status == Status.DISPATCHED and case.reopen_count == 1
    assert case.lead_unit == world.units["a1-community"]


def test_callback_for_unrated_cases(world):
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    services.act(world.users["grid"], case.pk, "resolve", note="已处理")
    case = services.act(world.users["community"], case.pk, "callback", reached=False, comment="电话无人接听")
    assert case.status == Status.RESOLVED
    case = services.act(world.users["community"], case.pk, "callback", rating="basic", comment="电话回访，基本满意")
    assert case.status == Status.REVIEWED and case.rated_by_callback
    with pytest.raises(PermissionDenied):
        services.act(world.users["grid"], case.pk, "close")


def test_merge_duplicates(world):
    first = open_case(world)
    second = open_case(world)
    with pytest.raises(ValidationError):
        services.act(world.users["community"], second.pk, "merge", into=second.pk)
    second = services.act(world.users["community"], second.pk, "merge", into=first.pk)
    assert second.status == Status.MERGED and second.merged_into == first
    assert first.events.filter(action="merged_in").exists()
    with pytest.raises(workflow.TransitionError):
        services.act(world.users["community"], second.pk, "dispatch", unit=world.units["a1-community"])


def test_co_handling_needs_every_assisting_unit(world):
    case = open_case(world)
    services.act(
        world.users["street"],
        case.pk,
        "dispatch",
        unit=world.units["a1-community"],
        assists=[(world.units["a-urban"], "拆除违建")],
    )
    assert WorkOrder.objects.for_user(world.users["handler"]).filter(pk=case.pk).exists()
    services.act(world.users["grid"], case.pk, "start")
    with pytest.raises(workflow.TransitionError):
        services.act(world.users["grid"], case.pk, "resolve", note="已处理")
    services.act(world.users["handler"], case.pk, "assist_done", note="已拆除")
    case = services.act(world.users["grid"], case.pk, "resolve", note="已处理")
    assert case.status == Status.RESOLVED


def test_grid_worker_fixes_on_the_spot_with_photos(world):
    with pytest.raises(ValidationError) as exc:
        open_case(world, user="grid", channel=Channel.GRID, self_handled=True, resolution="已清理", photos=[png()])
    assert "photos" in exc.value.message_dict
    case = open_case(
        world,
        user="grid",
        channel=Channel.GRID,
        self_handled=True,
        resolution="已清理小广告",
        photos=[png("before.png")],
        after_photos=[png("after.png")],
    )
    assert case.status == Status.RESOLVED and case.self_handled
    assert set(case.attachments.values_list("kind", flat=True)) == {"before", "after"}
    assert case.lead_unit == world.units["a1-community"]


def test_non_image_and_oversized_uploads_are_refused_before_anything_is_written(world, settings):
    before = WorkOrder.objects.count()
    fake = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 this is an exe", content_type="image/jpeg")
    with pytest.raises(ValidationError) as exc:
        open_case(world, photos=[png(), fake])
    assert "photo.jpg" in exc.value.message_dict["photos"][0]
    settings.LINLI_MAX_PHOTO_BYTES = 50
    with pytest.raises(ValidationError):
        open_case(world, photos=[png()])
    assert WorkOrder.objects.count() == before


def test_hotline_intake_is_accepted_and_the_phone_masked(world):
    case = open_case(world, user="community", channel=Channel.HOTLINE, caller_name="王先生", caller_phone="13912345678")
    assert case.status == Status.ACCEPTED
    assert case.caller_phone_masked == "139****5678"
    record = AuditRecord.objects.filter(object_type="cases.workorder", object_id=str(case.pk)).first()
    assert "13912345678" not in str(record.after)
    with pytest.raises(ValidationError):
        open_case(world, user="community", channel=Channel.HOTLINE)


def test_machine_source_opens_one_case_per_event(world):
    area = world.areas["A1-1"]
    case, created = services.open_from_machine(
        "camera",
        "evt-1",
        title="消防通道堵塞",
        description="AI摄像头：3号楼消防通道被车辆占用",
        area=area,
        category_code="0401",
    )
    assert created and case.channel == Channel.DEVICE and case.category.code == "0401"
    again, created = services.open_from_machine(
        "camera", "evt-1", title="消防通道堵塞", description="仍然占用", area=area, category_code="0401"
    )
    assert not created and again.pk == case.pk
    assert case.events.filter(action="comment").count() == 1


def test_correcting_the_category_is_recorded_and_moves_the_deadline(world):
    case = open_case(world, title="有人在楼下摆摊卖菜", description="每天早上小区门口占道经营")
    fire = Category.objects.get(code="0901")
    case = services.act(world.users["community"], case.pk, "accept", category=fire)
    assert case.category == fire and case.priority == case.priority
    if case.suggested_category_id:
        assert case.category_corrected == (case.suggested_category_id != fire.pk)
    assert case.events.get(action="accept").data["category"][1] == "0901"


def test_reporter_needs_a_place_and_words(world):
    with pytest.raises(ValidationError) as exc:
        services.create_case(world.users["resident"], services.Report(title="", description="", channel="resident"))
    assert {"description", "location"} <= set(exc.value.message_dict)
    with pytest.raises(PermissionDenied):
        services.create_case(world.users["nobody"], report(world))


def test_a_point_outside_every_grid_is_refused(world):
    with pytest.raises(ValidationError):
        services.locate_point(100.0, 30.0)
    loc = services.locate_point(117.205, 39.125)
    assert loc.area.level == "grid"


def test_timeline_keeps_every_step(world):
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    services.act(world.users["grid"], case.pk, "progress", note="已联系电工")
    with pytest.raises(ValidationError):
        services.act(world.users["grid"], case.pk, "progress", note="")
    events = list(CaseEvent.objects.filter(work_order=case).values_list("action", "from_status", "to_status"))
    assert events[-1] == ("progress", "in_progress", "in_progress")
    assert timezone.now() >= case.submitted_at


def test_routing_prefers_the_most_specific_rule(world):
    cat = {c.code: c for c in Category.objects.filter(code__in=["0301", "0503", "0801", "0102"])}
    a11, b11 = world.areas["A1-1"], world.areas["B1-1"]
    assert routing.route(cat["0301"], a11) == world.units["p1-property"]  # 03 in A1
    assert routing.route(cat["0503"], a11) == world.units["a-urban"]  # leaf rule on street A
    assert routing.route(cat["0801"], a11) == world.units["a-police"]  # 08 on street A
    assert routing.route(cat["0102"], a11) == world.units["a1-community"]  # anything in A1
    assert routing.route(cat["0301"], b11) == world.units["b1-community"]
    assert routing.route(None, world.areas["district"]) is None


def test_dispatch_only_to_units_serving_the_place(world):
    case = open_case(world)
    with pytest.raises(ValidationError) as exc:
        services.act(world.users["community"], case.pk, "dispatch", unit=world.units["b1-community"])
    assert "unit" in exc.value.message_dict


def test_supervisors_are_found_in_two_queries_however_many_staff(world, django_assert_num_queries):
    from linli.accounts.models import Assignment, Role, User

    case = open_case(world)
    before = {u.username for u in services.supervisors_of(case)}
    assert "community" in before and "resident" not in before
    for i in range(5):  # more staff on the community: still one query for the users, one for their roles
        u = User.objects.create(username=f"extra-{i}")
        Assignment.objects.create(user=u, role=Role.objects.get(code="community"), area=world.areas["A1"])
    case = WorkOrder.objects.get(pk=case.pk)
    with django_assert_num_queries(2):
        found = {u.username for u in services.supervisors_of(case)}
    assert found == before | {f"extra-{i}" for i in range(5)}
