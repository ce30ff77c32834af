"""KPI definitions on hand-built cases, the daily roll-up against live counts, and the supervise scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.cases import kpi, rollup, services
from linli.cases.models import CaseDayStat, Status, WorkOrder
from linli.cases.tests.helpers import dispatched, open_case
from linli.core.scope import Scope

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)


def _set(case, **fields):
    WorkOrder.objects.filter(pk=case.pk).update(**fields)


def _resolved(world, grid="A1-1", unit="a1-community", handler="grid", **kw):
    case = dispatched(world, grid=grid, unit=unit, **kw)
    services.act(world.users[handler], case.pk, "start")
    return services.act(world.users[handler], case.pk, "resolve", note="已处理")


def build(world, base: dt.datetime) -> dict[str, WorkOrder]:
    """Eight cases reported at `base` in various states (see the expectations in the tests)."""
    u = world.users
    c = {}
    c["ok"] = _resolved(world, category="0202")
    services.act(u["resident"], c["ok"].pk, "rate", rating="satisfied")
    _set(
        c["ok"],
        submitted_at=base,
        response_due=base + H,
        started_at=base + H / 2,
        resolve_due=base + 48 * H,
        resolved_at=base + 10 * H,
    )
    c["late"] = _resolved(world, category="0101")
    services.act(u["resident"], c["late"].pk, "rate", rating="basic")
    _set(
        c["late"],
        submitted_at=base,
        response_due=base + H,
        started_at=base + 2 * H,
        resolve_due=base + 5 * H,
        resolved_at=base + 6 * H,
        paused_minutes=60,
    )
    c["unsat"] = _resolved(world, category="0202")
    services.act(u["resident"], c["unsat"].pk, "rate", rating="unsatisfied")  # reopens it
    _set(c["unsat"], submitted_at=base, response_due=base + H, resolve_due=timezone.now() + 48 * H)
    c["waiting"] = dispatched(world, category="0202")
    _set(c["waiting"], submitted_at=base, response_due=timezone.now() + H, resolve_due=timezone.now() + 48 * H)
    c["new"] = open_case(world, category="0202")
    _set(c["new"], submitted_at=base, resolve_due=timezone.now() + 48 * H)
    c["rejected"] = open_case(world, category="0202")
    services.act(u["community"], c["rejected"].pk, "reject", note="重复来电")
    _set(c["rejected"], submitted_at=base)
    c["overdue"] = dispatched(world, grid="A2-1", dispatcher="street", category="0101")
    _set(c["overdue"], submitted_at=base, response_due=base + H, resolve_due=base + 2 * H)
    c["b"] = _resolved(world, grid="B1-1", unit="b1-community", handler="grid_b", dispatcher="community_b")
    _set(c["b"], submitted_at=base)
    return c


EXPECTED_STREET_A = {
    "submitted": 7,
    "accepted": 5,
    "due_response": 4,
    "responded": 2,
    "responded_on_time": 1,
    "resolved": 2,
    "resolved_on_time": 1,
    "handling_seconds": 15 * 3600,
    "rated": 3,
    "satisfied": 1,
    "basic": 1,
    "reopened": 1,
    "open": 4,
    "overdue_open": 1,
}


def test_definitions_on_hand_built_cases(world):
    now = timezone.now()
    c = build(world, now - 3 * H)
    assert WorkOrder.objects.get(pk=c["unsat"].pk).status == Status.DISPATCHED
    period = kpi.Period(timezone.localdate(now) - dt.timedelta(days=6), timezone.localdate(now), "7")
    # all cases are today's or yesterday's: make sure the past part is in the roll-up
    rollup.rebuild_range(period.start, timezone.localdate(now) - dt.timedelta(days=1), now)
    total = kpi.totals(world.users["street"], period, now=now)
    assert total.as_dict() == EXPECTED_STREET_A
    assert total.response_rate == pytest.approx(1 / 4)
    assert total.resolution_rate == pytest.approx(2 / 5)
    assert total.satisfaction_rate == pytest.approx(2 / 3)
    assert total.on_time_rate == pytest.approx(1 / 2)
    assert total.mean_hours == pytest.approx(7.5)  # (10 h + (6 h − 1 h suspended)) / 2
    assert total.reopen_rate == pytest.approx(1 / 2)


def test_rates_without_cases_are_none_not_zero(world):
    c = kpi.Counts()
    assert c.response_rate is None and c.mean_hours is None and c.satisfaction_rate is None
    assert [m["value"] for m in c.metrics()] == [None] * 6


@pytest.mark.parametrize("days_ago", [0, 2, 40])
def test_rollup_equals_live(world, days_ago):
    now = timezone.now()
    base = now - dt.timedelta(days=days_ago) - 5 * H
    build(world, base)
    day = timezone.localdate(base)
    period = kpi.Period(day - dt.timedelta(days=1), timezone.localdate(now), "custom")
    rollup.rebuild_range(period.start, timezone.localdate(now) - dt.timedelta(days=1), now)
    user = world.users["street"]
    live = rollup.aggregate(
        WorkOrder.objects.for_user(user, "supervise").filter(submitted_at__gte=rollup.day_bounds(period.start)[0]),
        (),
        now,
    )[0]
    assert kpi.totals(user, period, now=now).as_dict() == kpi.Counts().add(live).as_dict()
    # by area and by unit too, against a direct grouping of the cases
    # each grain: "a" (street), "u" (unit), "s" (top category), "g" (community, grid × category)
    for dims in (("street_id",), ("lead_unit_id",), ("top_code",), ("community_id",), ("grid_id", "top_code")):
        direct = {
            tuple(r[d] for d in dims): kpi.Counts().add(r).as_dict()
            for r in rollup.aggregate(
                WorkOrder.objects.for_user(user, "supervise").filter(
                    submitted_at__gte=rollup.day_bounds(period.start)[0]
                ),
                dims,
                now,
            )
        }
        got = {k: v.as_dict() for k, v in kpi.count(user, period, dims, now=now).items()}
        assert got == direct


def test_rebuild_is_idempotent_and_recent_picks_up_old_changed_days(world):
    now = timezone.now()
    base = now - dt.timedelta(days=20)
    c = build(world, base)
    day = timezone.localdate(base)
    first = rollup.rebuild(day, now)
    assert rollup.rebuild(day, now) == first
    assert CaseDayStat.objects.filter(day=day).count() == first
    assert CaseDayStat.objects.filter(day=day, grain="s").count() >= 2  # streets A and B
    # a case of that day is resolved today: the nightly job rebuilds its day
    services.act(world.users["grid"], c["waiting"].pk, "start")
    done = rollup.rebuild_recent(days=3, now=timezone.now())
    assert day in done
    assert timezone.localdate(now) not in done  # today is always live


def test_scope_street_b_sees_nothing_of_street_a(world):
    now = timezone.now()
    build(world, now - 30 * H)
    period = kpi.Period(timezone.localdate(now) - dt.timedelta(days=6), timezone.localdate(now), "7")
    rollup.rebuild_range(period.start, timezone.localdate(now) - dt.timedelta(days=1), now)
    u = world.users
    assert kpi.totals(u["street_b"], period, now=now).submitted == 1
    assert kpi.totals(u["community_b"], period, now=now).submitted == 1
    # community A1 sees its two grids' cases but not A2's overdue case
    assert kpi.totals(u["community"], period, now=now).submitted == 6
    assert kpi.totals(u["grid"], period, now=now).submitted == 0  # no cases.supervise
    units = kpi.unit_table(u["street_b"], period, None, now=now)
    assert [r.key for r in units.rows] == [world.units["b1-community"].pk]
    areas = kpi.area_table(u["street"], period, kpi.home_area(u["street"]), now=now)
    assert {r.name for r in areas.rows} == {world.areas["A1"].name, world.areas["A2"].name}
    assert areas.total.submitted == 7


def test_area_table_is_ranked_with_counts(world):
    now = timezone.now()
    build(world, now - 30 * H)
    period = kpi.Period(timezone.localdate(now) - dt.timedelta(days=6), timezone.localdate(now), "7")
    rollup.rebuild_range(period.start, timezone.localdate(now) - dt.timedelta(days=1), now)
    table = kpi.area_table(world.users["street"], period, world.areas["A"], "resolution_rate", now=now)
    a1, a2 = table.rows
    assert a1.name == world.areas["A1"].name and a1.rank == 1
    assert (a1.counts.resolved, a1.counts.accepted) == (2, 4)
    assert a2.counts.resolved == 0 and a2.rank == 2
    # by the district: the street-grain rows give the same totals
    district = kpi.area_table(world.users["street"], period, None, now=now)
    assert district.total.as_dict() == table.total.as_dict()


def test_period_parsing():
    today = dt.date(2026, 3, 15)
    p, err = kpi.parse_period({}, today)
    assert (p.start, p.end, err) == (dt.date(2026, 3, 1), today, "")
    assert p.previous().start == dt.date(2026, 2, 1) and p.previous().end == dt.date(2026, 2, 28)
    p, err = kpi.parse_period({"period": "7"}, today)
    assert p.start == dt.date(2026, 3, 9) and not err
    p, err = kpi.parse_period({"period": "custom", "start": "2026-01-05", "end": "2026-02-01"}, today)
    assert (p.start, p.end) == (dt.date(2026, 1, 5), dt.date(2026, 2, 1)) and not err
    p, err = kpi.parse_period({"period": "custom", "start": "nope"}, today)
    assert p.key == "month" and err
    p, err = kpi.parse_period({"period": "custom", "start": "2026-03-10", "end": "2026-03-01"}, today)
    assert p.key == "month" and err


def test_grain_choice():
    street, community, city = Scope(street_ids={1}), Scope(community_ids={2}), Scope(all=True)
    assert rollup.grain_for(city, ("district_id",), "city") == "a"
    assert rollup.grain_for(city, (), None) == "a"
    assert rollup.grain_for(city, ("lead_unit_id",), "district") == "u"
    assert rollup.grain_for(city, ("day",), "city", top_code="01") == "s"
    assert rollup.grain_for(city, ("grid_id",), "city") == "g"
    assert rollup.grain_for(street, ("community_id",), "street") == "g"
    assert rollup.grain_for(community, (), None) == "g"  # a community has no coarse rows
    assert rollup.grain_for(city, (), "community") == "g"


def test_range_rebuild_writes_what_day_by_day_rebuilds_write(world):
    now = timezone.now()
    build(world, now - dt.timedelta(days=3) - 5 * H)
    build(world, now - dt.timedelta(days=40) - 5 * H)
    start, end = timezone.localdate(now) - dt.timedelta(days=45), timezone.localdate(now) - dt.timedelta(days=1)

    def table():
        fields = ("day", "grain", *rollup.AREA_FIELDS, "top_code", "lead_unit_id", *rollup.COUNT_FIELDS)
        return sorted(CaseDayStat.objects.values_list(*fields), key=repr)

    day, by_day = start, 0
    while day <= end:
        by_day += rollup.rebuild(day, now)
        day += dt.timedelta(days=1)
    expected = table()
    assert by_day > 0
    assert rollup.rebuild_range(start, end, now) == by_day
    assert table() == expected


@pytest.mark.parametrize("having", [0, 2])
def test_submitted_pairs_equal_two_counts(world, having):
    now = timezone.now()
    for days in (0, 3, 10, 20, 33):
        build(world, now - dt.timedelta(days=days) - H)
    today = timezone.localdate(now)
    rollup.rebuild_range(today - dt.timedelta(days=40), today - dt.timedelta(days=1), now)
    current = kpi.Period(today - dt.timedelta(days=13), today, "custom")
    previous = current.previous()
    user = world.users["street"]
    dims = ("grid_id", "top_code")
    cur = kpi.count(user, current, dims, only=("submitted",), now=now)
    old = kpi.count(user, previous, dims, only=("submitted",), now=now)
    expected = {
        k: (cur[k].submitted if k in cur else 0, old[k].submitted if k in old else 0) for k in set(cur) | set(old)
    }
    expected = {k: v for k, v in expected.items() if v[0] >= having and (v[0] or v[1])}
    got = {
        k: v
        for k, v in kpi.submitted_pairs(user, current, previous, dims, now=now, having_current=having).items()
        if v[0] or v[1]
    }
    assert got == expected and got
    # out of scope: nothing of street A
    assert not kpi.submitted_pairs(world.users["street_b"], current, previous, dims, now=now).keys() & {
        k for k in got if k[0] in {world.areas["A1-1"].pk, world.areas["A1-2"].pk}
    }
