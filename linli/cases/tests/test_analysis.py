"""研判: rising grid × category (未诉先办), change against the previous period, recurring problems, trend."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from linli.cases import analysis, kpi, rollup
from linli.cases.models import Channel, WorkOrder
from linli.cases.tests.helpers import open_case

pytestmark = pytest.mark.django_db


def _reported(world, n, days_ago, grid="A1-1", category="0202", **kw):
    made = []
    for _ in range(n):
        case = open_case(world, grid=grid, category=category, **kw)
        WorkOrder.objects.filter(pk=case.pk).update(submitted_at=timezone.now() - dt.timedelta(days=days_ago))
        made.append(case)
    return made


def _roll(days=60):
    today = timezone.localdate()
    rollup.rebuild_range(today - dt.timedelta(days=days), today - dt.timedelta(days=1))


def test_rising_flags_grid_and_category_that_rose(world):
    _reported(world, 2, 40)  # the 4 weeks before: 2
    _reported(world, 6, 3)  # the last 4 weeks: 6 (+200 %)
    _reported(world, 5, 40, grid="A1-2", category="0101")
    _reported(world, 5, 3, grid="A1-2", category="0101")  # steady: not rising
    _reported(world, 4, 3, grid="A2-1", category="0101")  # new but below the minimum
    _reported(world, 6, 3, grid="B1-1", category="0101")  # rising, but street B
    _roll()
    found = analysis.rising(world.users["street"])
    assert [(r.grid_id, r.top_code, r.now, r.before) for r in found] == [(world.areas["A1-1"].pk, "02", 6, 2)]
    assert found[0].percent == pytest.approx(200)
    assert found[0].proactive_case is None
    # lower threshold: the new combination appears, marked as new (no previous reports)
    found = analysis.rising(world.users["street"], min_cases=4)
    assert (world.areas["A2-1"].pk, "01") in {(r.grid_id, r.top_code) for r in found}
    assert [r.grid_id for r in analysis.rising(world.users["street_b"])] == [world.areas["B1-1"].pk]
    assert analysis.rising(world.users["community_b"], area=None)[0].grid_id == world.areas["B1-1"].pk


def test_proactive_case_from_a_finding(world):
    _reported(world, 6, 3, category="0202")
    _roll(10)
    case = analysis.create_proactive(world.users["street"], world.areas["A1-1"].pk, "02")
    assert case.channel == Channel.PROACTIVE and case.category.code == "0202"
    assert case.grid_id == world.areas["A1-1"].pk and case.reporter == world.users["street"]
    assert "6" in case.description
    finding = analysis.rising(world.users["street"])[0]
    assert finding.proactive_case == case
    with pytest.raises(ValidationError):
        analysis.create_proactive(world.users["street"], world.areas["A1-1"].pk, "02")
    with pytest.raises(Http404):
        analysis.create_proactive(world.users["street_b"], world.areas["A1-1"].pk, "02")
    with pytest.raises(ValidationError):
        analysis.create_proactive(world.users["street"], world.areas["A1-1"].pk, "0202")  # not a top level
    assert WorkOrder.objects.filter(channel=Channel.PROACTIVE).count() == 1


def test_changes_against_previous_period(world):
    _reported(world, 3, 10)
    _reported(world, 1, 40)
    _reported(world, 2, 40, grid="A1-2", category="0101")
    _roll()
    period = kpi.Period(timezone.localdate() - dt.timedelta(days=29), timezone.localdate(), "30")
    rows = {(r.grid_id, r.top_code): r for r in analysis.changes(world.users["street"], period)}
    up = rows[(world.areas["A1-1"].pk, "02")]
    assert (up.now, up.before, up.change, up.percent) == (3, 1, 2, pytest.approx(200))
    down = rows[(world.areas["A1-2"].pk, "01")]
    assert (down.now, down.before, down.percent) == (0, 2, pytest.approx(-100))


def test_recurring_same_house_and_same_spot(world):
    _reported(world, 3, 20, category="0302")  # same house three times
    _reported(world, 2, 20, grid="A1-2", category="0302")  # twice: not recurring
    _reported(world, 3, 120, grid="A2-1", category="0302")  # too long ago
    _reported(world, 3, 20, grid="B1-1", category="0302")  # street B
    found = analysis.recurring(world.users["street"])
    assert [(r["kind"], r["n"]) for r in found] == [("house", 3)]
    assert found[0]["place"] == str(world.house_in("A1-1"))
    assert [r["n"] for r in analysis.recurring(world.users["street_b"])] == [3]
    # points without a house, within about 100 m
    for lat in (39.12301, 39.12312, 39.12318):
        case = open_case(world, grid="A2-1", category="0201")
        WorkOrder.objects.filter(pk=case.pk).update(house=None, lat=lat, lng=117.20104)
    kinds = {r["kind"] for r in analysis.recurring(world.users["street"])}
    assert kinds == {"house", "point"}
    assert not analysis.recurring_allowed(world.users["street"], world.areas["district"])
    assert analysis.recurring_allowed(world.users["street"], None)


def test_weekly_trend_and_categories(world):
    _reported(world, 2, 0)
    _reported(world, 3, 14, category="0101")
    _roll(20)
    weeks = analysis.weekly(world.users["street"])
    assert len(weeks) == analysis.TREND_WEEKS and sum(w["count"] for w in weeks) == 5
    assert weeks[-1]["count"] >= 2
    period = kpi.Period(timezone.localdate() - dt.timedelta(days=29), timezone.localdate(), "30")
    cats = analysis.by_category(world.users["street"], period)
    assert [(c["code"], c["count"]) for c in cats] == [("01", 3), ("02", 2)]
    hot = analysis.hot_grids(world.users["street"], period)
    assert hot == {world.areas["A1-1"].pk: 5}
    assert analysis.hot_grids(world.users["street_b"], period) == {}


def test_grid_analysis_needs_a_district_or_smaller(world):
    street = world.users["street"]
    assert analysis.grids_allowed(street, None)
    assert analysis.grids_allowed(street, world.areas["A1"])
    assert not analysis.grids_allowed(street, world.areas["city"])
