"""The work-order history generator (linli/core/generate/cases.py) at tiny scale, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from linli.cases import deadlines
from linli.cases.models import OPEN_STATUSES, CaseEvent, HandlingUnit, RoutingRule, WorkOrder
from linli.core.generate.cases import CasesError, generate_cases

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def generated(world):
    return generate_cases("tiny", seed=3, per_grid=120, now=NOW, stream=StringIO())


def test_counts_match_what_the_generator_reports(generated):
    s = generated
    rows = WorkOrder.objects.filter(pk__gte=s.first_id)
    assert s.cases == rows.count() == 4 * 120
    assert dict(rows.values_list("status").annotate(n=Count("id")).values_list("status", "n")) == s.by_status
    assert s.open == rows.filter(status__in=OPEN_STATUSES).count() > 0
    assert s.by_status.get("closed", 0) > 0.8 * s.cases  # mostly closed history
    assert s.events == CaseEvent.objects.filter(work_order__in=rows).count() > 0
    assert rows.values("grid").distinct().count() == 4
    assert rows.values("category").distinct().count() > 20


def test_states_and_timestamps_are_consistent(generated):
    for c in WorkOrder.objects.filter(pk__gte=generated.first_id):
        assert c.submitted_at <= NOW
        assert c.response_due and c.resolve_due and c.warn_at
        assert c.submitted_at < c.warn_at <= c.resolve_due
        assert c.street_id and c.district_id and c.city_id and c.grid_id
        if c.status == "closed":
            assert c.submitted_at <= c.accepted_at <= c.dispatched_at <= c.started_at <= c.resolved_at
            assert c.resolved_at <= c.rated_at <= c.closed_at <= NOW
            assert c.rating and c.lead_unit_id
            assert c.resolved_late == (c.resolved_at > c.resolve_due)
        if c.status in OPEN_STATUSES:
            assert c.closed_at is None and c.resolved_at is None and not c.rating
            assert (c.overdue_at is not None) == (c.status != "suspended" and c.resolve_due <= NOW)
            if c.overdue_at:
                assert c.escalation_level == 1 and c.escalated_to_id == c.community_id
        if c.status == "submitted":
            assert c.accepted_at is None and c.lead_unit_id is None
        if c.status in ("dispatched", "in_progress"):
            assert c.dispatched_at <= NOW and c.lead_unit_id
        if c.status == "in_progress":
            assert c.started_at <= NOW


def test_deadlines_follow_the_policies_and_the_working_calendar(generated):
    for c in WorkOrder.objects.filter(pk__gte=generated.first_id).select_related("category")[:200]:
        limits = deadlines.limits_for(c.category, c.priority)
        assert c.natural_time == limits.natural_time
        expected = deadlines.due_dates(c.submitted_at, limits)
        for got, want in zip((c.response_due, c.resolve_due, c.warn_at), expected, strict=True):
            assert abs((got - want).total_seconds()) < 1, (c.pk, c.submitted_at, got, want)


def test_units_and_routing_rules_are_created_per_community_and_street(generated, world):
    assert HandlingUnit.objects.filter(code__startswith="s-", kind="urban").count() == 2  # streets A and B
    assert HandlingUnit.objects.filter(code__startswith="p-", kind="property").exists()
    # the world's own rule for community A1 is kept, and its unit leads A1's community cases
    assert RoutingRule.objects.get(category=None, area=world.areas["A1"]).unit == world.units["a1-community"]
    units = set(WorkOrder.objects.filter(pk__gte=generated.first_id).values_list("lead_unit__kind", flat=True))
    assert {"community", "property", "urban", "police"} <= units


def test_timelines_end_in_the_case_status(generated):
    since = NOW - dt.timedelta(days=60)
    recent = WorkOrder.objects.filter(pk__gte=generated.first_id, submitted_at__gte=since)
    for c in recent:
        events = list(c.events.order_by("at", "pk"))
        assert events[0].action == "submit"
        assert events[-1].to_status == c.status or events[-1].action == "escalate"
    old = WorkOrder.objects.filter(pk__gte=generated.first_id, submitted_at__lt=since).exclude(status__in=OPEN_STATUSES)
    assert not CaseEvent.objects.filter(work_order__in=old).exists()


def test_the_sweep_finds_nothing_left_to_mark(generated):
    from linli.cases.sweep import sweep

    result = sweep(now=NOW)
    assert (result.warned, result.overdue) == (0, 0)


def test_a_district_is_never_generated_twice_and_bad_scales_are_refused(world):
    with pytest.raises(CasesError):
        generate_cases("county", stream=StringIO())
    with pytest.raises(CasesError):  # the world has no district 120104
        generate_cases("district", stream=StringIO())
    with pytest.raises(CommandError):
        call_command("generate_cases", "--scale", "county")
    with pytest.raises(CommandError):
        call_command("generate_cases", "--scale", "tiny", "--per-grid", "0")


def test_the_command_reports_counts(world):
    out = StringIO()
    call_command("generate_cases", "--scale", "tiny", "--per-grid", "20", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "Generated 80 cases over 4 grids" in text
    assert WorkOrder.objects.count() >= 80
    assert timezone.now() >= WorkOrder.objects.order_by("-submitted_at").first().submitted_at
    assert connection.vendor in text or "INSERT" in text or "bulk_create" in text
