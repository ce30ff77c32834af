"""The deadline sweep (linli/cases/sweep.py), its periodic job and its management command."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from linli.cases import tasks
from linli.cases.models import CaseEvent, Status, WorkOrder
from linli.cases.sweep import sweep
from linli.cases.tests.helpers import dispatched, open_case
from linli.core.models import AuditRecord
from linli.notifications.models import Delivery, Notification

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


def notified(kind: str, case) -> set[str]:
    return set(Notification.objects.filter(kind=kind, object_id=str(case.pk)).values_list("user__username", flat=True))


def snapshot(case) -> tuple:
    case.refresh_from_db()
    return (case.status, case.warned_at, case.overdue_at, case.escalated_to_id, case.escalation_level, case.version)


def test_warning_marks_once_and_tells_the_lead_unit(world):
    case = dispatched(world)  # lead unit a1-community: members community, grid
    assert case.warn_at < case.resolve_due
    now = case.warn_at + MINUTE

    first = sweep(now)
    assert (first.warned, first.overdue, first.escalated) == (1, 0, 0)
    case.refresh_from_db()
    assert case.warned_at == now and case.overdue_at is None and case.escalated_to is None
    assert notified("due_soon", case) == {"community", "grid"}

    again = sweep(now + MINUTE)
    assert (again.warned, again.overdue, again.notified) == (0, 0, 0)
    assert Notification.objects.filter(kind="due_soon", object_id=str(case.pk)).count() == 2


def test_overdue_grid_case_escalates_to_its_community_once(world):
    case = dispatched(world, grid="A1-1")
    events_before = case.events.count()
    now = case.resolve_due + MINUTE

    result = sweep(now)
    assert (result.overdue, result.escalated) == (1, 1)
    case.refresh_from_db()
    assert case.overdue_at == now
    assert case.escalated_to == world.areas["A1"] and case.escalation_level == 1
    assert case.status == Status.DISPATCHED  # escalation raises attention; it does not move the case
    assert case.due_state(now) == "overdue"

    event = case.events.order_by("-pk").first()
    assert case.events.count() == events_before + 1
    assert event.action == "escalate" and event.data["to_area"] == world.areas["A1"].pk and event.data["automatic"]
    assert AuditRecord.objects.filter(object_type="cases.workorder", object_id="sweep").exists()
    audit = AuditRecord.objects.filter(object_type="cases.workorder", object_id="sweep").latest("pk")
    assert case.pk in audit.after["overdue"]

    assert notified("overdue", case) == {"community", "grid"}  # the lead unit
    assert notified("escalated", case) == {"community"}  # supervisors of community A1 only
    assert not Notification.objects.filter(user__username__in=["community_b", "street_b", "grid_b"]).exists()

    before = snapshot(case)
    again = sweep(now + dt.timedelta(hours=5))
    assert (again.warned, again.overdue, again.escalated, again.notified) == (0, 0, 0, 0)
    assert snapshot(case) == before
    assert case.events.count() == events_before + 1


def test_case_already_at_the_community_escalates_to_the_street(world):
    case = dispatched(world, grid="A1-2")
    WorkOrder.objects.filter(pk=case.pk).update(escalated_to=world.areas["A1"], escalation_level=1)

    sweep(case.resolve_due + MINUTE)
    case.refresh_from_db()
    assert case.escalated_to == world.areas["A"] and case.escalation_level == 2
    assert notified("escalated", case) == {"street"}  # cases.supervise on street A; not street_b


def test_suspended_and_finished_cases_are_left_alone(world):
    suspended = dispatched(world)
    resolved = dispatched(world, grid="A1-2")
    closed = open_case(world, grid="A2-1")
    WorkOrder.objects.filter(pk=suspended.pk).update(status=Status.SUSPENDED, suspended_at=timezone.now())
    WorkOrder.objects.filter(pk=resolved.pk).update(status=Status.RESOLVED)
    WorkOrder.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    before = {c.pk: snapshot(c) for c in (suspended, resolved, closed)}
    events = CaseEvent.objects.count()

    result = sweep(timezone.now() + dt.timedelta(days=400))
    assert (result.warned, result.overdue, result.escalated, result.notified) == (0, 0, 0, 0)
    assert {c.pk: snapshot(c) for c in (suspended, resolved, closed)} == before
    assert CaseEvent.objects.count() == events
    assert not Notification.objects.filter(kind__in=["due_soon", "overdue", "escalated"]).exists()


def test_a_second_sweep_changes_nothing(world):
    cases = [dispatched(world, grid=g, dispatcher="street") for g in ("A1-1", "A1-2", "A2-1")]
    now = max(c.resolve_due for c in cases) + MINUTE
    sweep(now)
    state = [snapshot(c) for c in cases]
    counts = (CaseEvent.objects.count(), Notification.objects.count(), AuditRecord.objects.count())

    result = sweep(now)
    assert (result.warned, result.overdue, result.escalated, result.notified) == (0, 0, 0, 0)
    assert [snapshot(c) for c in cases] == state
    assert (CaseEvent.objects.count(), Notification.objects.count(), AuditRecord.objects.count()) == counts


def _make_overdue_now(case) -> None:
    past = timezone.now() - dt.timedelta(hours=1)
    WorkOrder.objects.filter(pk=case.pk).update(warn_at=past - dt.timedelta(hours=2), resolve_due=past)


@override_settings(LINLI_NOTIFY_CHANNELS=["linli.notifications.channels.LoggingChannel"])
def test_the_periodic_job_sweeps_and_passes_urgent_notices_on(world):
    case = dispatched(world)
    _make_overdue_now(case)

    tasks.sweep_deadlines()  # MemoryHuey in immediate mode: runs now, in this transaction

    case.refresh_from_db()
    assert case.overdue_at is not None and case.escalated_to == world.areas["A1"]
    # overdue and escalated notices leave through the channel ("logged": the logging channel sends nothing)
    logged = Delivery.objects.filter(notification__object_id=str(case.pk), channel="log")
    assert set(logged.values_list("status", flat=True)) == {Delivery.Status.LOGGED}
    assert set(logged.values_list("notification__kind", flat=True)) == {"overdue", "escalated"}


def test_the_job_skips_while_another_worker_holds_the_lock(world):
    case = dispatched(world)
    _make_overdue_now(case)
    with tasks.SWEEP_LOCK:
        tasks.sweep_deadlines()
        with pytest.raises(CommandError, match="--unlock"):
            call_command("sweep_deadlines", stdout=StringIO())
    case.refresh_from_db()
    assert case.overdue_at is None
    assert not tasks.SWEEP_LOCK.is_locked()


def test_the_command_sweeps_once_and_reports_counts(world):
    case = dispatched(world)
    _make_overdue_now(case)
    out = StringIO()
    call_command("sweep_deadlines", stdout=out)
    assert "overdue 1, escalated 1" in out.getvalue() and " s" in out.getvalue()
    out = StringIO()
    call_command("sweep_deadlines", stdout=out)
    assert out.getvalue().startswith("warned 0, overdue 0, escalated 0")


def test_a_stale_lock_is_cleared_with_unlock(world):
    tasks.SWEEP_LOCK.acquire()  # a worker killed mid-sweep leaves this behind
    out = StringIO()
    call_command("sweep_deadlines", "--unlock", stdout=out)
    assert out.getvalue().startswith("warned ")
    assert not tasks.SWEEP_LOCK.is_locked()


def test_schedules_use_local_wall_clock_time():
    # Huey's scheduler passes naive UTC; 02:10 in Asia/Shanghai is 18:10 UTC the day before
    assert tasks.at_local(2, 10)(dt.datetime(2026, 10, 1, 18, 10))
    assert not tasks.at_local(2, 10)(dt.datetime(2026, 10, 2, 2, 10))
    assert tasks.every_minutes(5)(dt.datetime(2026, 1, 1, 8, 35))
    assert not tasks.every_minutes(5)(dt.datetime(2026, 1, 1, 8, 36))
    assert tasks.every_minutes(120)(dt.datetime(2026, 1, 1, 8, 0))


def test_nightly_jobs_call_the_rollup_and_the_training(monkeypatch):
    from linli.cases import rollup
    from linli.cases.classifier import service

    calls = []
    monkeypatch.setattr(rollup, "rebuild_recent", lambda days: calls.append(("rollup", days)))
    monkeypatch.setattr(service, "retrain", lambda: calls.append(("retrain",)))
    tasks.rollup_recent()
    tasks.retrain_classifier()
    assert calls == [("rollup", 3), ("retrain",)]
    assert not tasks.ROLLUP_LOCK.is_locked() and not tasks.RETRAIN_LOCK.is_locked()


def test_one_sweep_escalates_each_case_to_its_own_level_above(world):
    a = dispatched(world, grid="A1-1")
    b = dispatched(world, grid="B1-1", unit="b1-community", dispatcher="community_b")
    c = dispatched(world, grid="A1-2")
    WorkOrder.objects.filter(pk=c.pk).update(escalated_to=world.areas["A1"], escalation_level=1)
    late = max(x.resolve_due for x in (a, b, c)) + MINUTE
    result = sweep(late)
    assert result.escalated == 3
    got = {x.pk: (x.escalated_to_id, x.escalation_level) for x in WorkOrder.objects.filter(pk__in=[a.pk, b.pk, c.pk])}
    assert got == {
        a.pk: (world.areas["A1"].pk, 1),
        b.pk: (world.areas["B1"].pk, 1),
        c.pk: (world.areas["A"].pk, 2),
    }
