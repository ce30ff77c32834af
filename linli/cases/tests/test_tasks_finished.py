"""My tasks › Recently finished: the cases a unit finished in the last 30 days, scoped like the open list, and
the notifications of a case the system finished by itself (the device recovered) no longer asking to act."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.cases import services
from linli.cases.models import CoHandler, Status, WorkOrder
from linli.cases.tests.helpers import dispatched
from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db

FINISHED = reverse("cases:tasks") + "?show=finished"


def resolve(world, case, user: str = "grid") -> WorkOrder:
    services.act(world.users[user], case.pk, "start")
    return services.act(world.users[user], case.pk, "resolve", note="已修好")


def machine_case(world, unit: str = "p1-property") -> WorkOrder:
    case, created = services.open_from_machine(
        "iot",
        "SM-9:offline",
        title="烟感离线",
        description="设备超过60分钟未上报",
        area=world.areas["A1-1"],
        unit=world.units[unit],
    )
    assert created and case.status == Status.DISPATCHED
    return case


def test_finished_lists_my_units_cases_latest_first(world, client_for):
    older = resolve(world, dispatched(world))
    newer = resolve(world, dispatched(world))
    WorkOrder.objects.filter(pk=older.pk).update(resolved_at=timezone.now() - dt.timedelta(days=3))
    still_open = dispatched(world)
    other_unit = resolve(world, dispatched(world, unit="a-urban"), user="handler")
    assisted = dispatched(world, unit="a-urban")
    CoHandler.objects.create(work_order=assisted, unit=world.units["a1-community"], done_at=timezone.now())
    assisted = resolve(world, assisted, user="handler")
    too_old = resolve(world, dispatched(world))
    WorkOrder.objects.filter(pk=too_old.pk).update(resolved_at=timezone.now() - dt.timedelta(days=31))

    r = client_for("grid").get(FINISHED)
    assert r.status_code == 200
    pks = [c.pk for c in r.context["page"].object_list]
    assert pks[-1] == older.pk and pks.index(newer.pk) < pks.index(older.pk)
    assert assisted.pk in pks
    assert still_open.pk not in pks and other_unit.pk not in pks and too_old.pk not in pks
    body = r.content.decode()
    assert newer.number in body and still_open.number not in body
    assert 'href="?show=finished" aria-current="page"' in body
    # the open list is unchanged by the tab: it still lists the open case only
    open_pks = [c.pk for c in client_for("grid").get(reverse("cases:tasks")).context["page"].object_list]
    assert still_open.pk in open_pks and newer.pk not in open_pks


def test_finished_is_scoped_to_the_unit(world, client_for):
    done = resolve(world, dispatched(world))
    for user in ("handler_b", "property", "grid_b"):
        r = client_for(user).get(FINISHED)
        assert r.status_code == 200
        assert done.pk not in [c.pk for c in r.context["page"].object_list], user
        assert done.number not in r.content.decode()
    assert client_for("resident").get(FINISHED).status_code == 403
    assert client_for("nobody").get(FINISHED).status_code in (302, 403)


def test_finished_pages_and_bad_input(world, client_for, settings):
    from linli.cases.views import case as case_views

    settings.DEBUG = False
    for _ in range(3):
        resolve(world, dispatched(world))
    c = client_for("grid")
    case_views.TASKS_PAGE_SIZE, old = 2, case_views.TASKS_PAGE_SIZE
    try:
        first = c.get(FINISHED)
        assert first.context["page"].paginator.num_pages == 2
        assert "?show=finished&amp;page=2" in first.content.decode()
        assert len(c.get(FINISHED + "&page=2").context["page"].object_list) == 1
        assert c.get(FINISHED + "&page=abc").context["page"].number == 1
        assert c.get(FINISHED + "&page=99").context["page"].number == 2
    finally:
        case_views.TASKS_PAGE_SIZE = old
    # an unknown tab is the open list
    assert c.get(reverse("cases:tasks") + "?show=<script>").context["show"] == "open"


def test_system_resolved_machine_case_is_found_and_its_assignment_notice_read(
    world, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = machine_case(world)
    assigned = Notification.objects.get(user=world.users["property"], kind="assigned", object_id=str(case.pk))
    assert assigned.read_at is None
    unrelated = Notification.objects.create(user=world.users["property"], kind="assigned", title="x", object_id="0")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.machine_recovered(case.pk, "设备已恢复") == "resolved"
    assigned.refresh_from_db()
    unrelated.refresh_from_db()
    assert assigned.read_at is not None and unrelated.read_at is None
    r = client_for("property").get(FINISHED)
    assert [c.pk for c in r.context["page"].object_list] == [case.pk]


def test_a_machine_case_someone_works_on_keeps_its_notice(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = machine_case(world)
    services.act(world.users["property"], case.pk, "start")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.machine_recovered(case.pk, "设备已恢复") == "noted"
    assert Notification.objects.get(kind="assigned", object_id=str(case.pk)).read_at is None
