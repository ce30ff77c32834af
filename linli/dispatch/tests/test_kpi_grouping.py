"""The grouped KPI statements against a count by hand: a seeded mix of incidents and alarms over four days across a
month's end, every grouping compared with the same definitions computed here in Python from the records; shifts
that do not start on a whole hour; and the number of statements, which must not grow with the rows."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.cases.kpi import Period
from linli.dispatch import kpi, roster
from linli.dispatch.models import Crew, Incident, IncidentStatus, Shift
from linli.dispatch.tests.test_kpi import at, make_alarm, make_incident
from linli.iot.models import Alarm, AlarmType, CloseReason
from linli.testing.world import make_user

pytestmark = pytest.mark.django_db
FIRST = dt.date(2026, 2, 27)
PERIOD = Period(FIRST, FIRST + dt.timedelta(days=3), "custom")  # 27 Feb – 2 Mar
NOW = at(12, day=dt.date(2026, 3, 10))
GRIDS = ("A1-1", "A1-2", "A2-1", "B1-1")


def _pct(values: list[float], p: float) -> float | None:
    """percentile_cont by the book: interpolate between the values at ranks floor and ceil of (n - 1) p."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p
    return s[int(k)] + (s[min(int(k) + 1, len(s) - 1)] - s[int(k)]) * (k - int(k))


def _kind(moment: dt.datetime) -> str:
    hour = timezone.localtime(moment, kpi.TZ).hour
    return "night" if hour < 8 else "day" if hour < 16 else "evening"


@pytest.fixture
def mix(world):
    """Street A's roster from 26 Feb to 3 Mar and 70 alarms at random times (seeded), most with an incident;
    also a few on the edges of the period and of a shift."""
    a = world.areas["A"]
    for c in "ABC":
        Crew.objects.create(area=a, name=f"Crew {c}")
    roster.make_roster(a, FIRST - dt.timedelta(days=1), 6)
    shifts = list(Shift.objects.filter(area=a))
    outside = [s for s in shifts if timezone.localtime(s.starts_at, kpi.TZ).date() > PERIOD.end]
    rng = random.Random(5)
    moments = [
        at(rng.randrange(24), rng.randrange(60), FIRST + dt.timedelta(days=rng.randrange(-1, 5))) for _ in range(64)
    ]
    moments += [at(0, 0, FIRST), at(8, 0, FIRST), at(7, 59, FIRST), at(0, 0, PERIOD.end + dt.timedelta(days=1))]
    moments.append(at(0, 0, PERIOD.end + dt.timedelta(days=1)) - dt.timedelta(microseconds=1))
    for i, received in enumerate(moments):
        grid = GRIDS[i % 4] if i % 5 else "B1-1"
        if rng.random() < 0.25:
            make_alarm(world, received, grid=grid, reason=rng.choice(["", CloseReason.TEST, CloseReason.FALSE_ALARM]))
            continue
        callback = rng.choice(["", Incident.Callback.OK, Incident.Callback.FALSE_ALARM, Incident.Callback.NEEDS_HELP])
        false = callback == Incident.Callback.FALSE_ALARM
        reason = rng.choice([CloseReason.FALSE_ALARM, CloseReason.TEST, ""]) if false else rng.choice(["", "resolved"])
        ack = rng.uniform(5, 200)
        dispatch = None if false or rng.random() < 0.2 else ack + rng.uniform(10, 300)
        scene = None if dispatch is None or rng.random() < 0.2 else dispatch + rng.uniform(200, 1800)
        running = [s for s in shifts if s.starts_at <= received < s.ends_at]
        shift = rng.choices([running[0] if running else None, None, rng.choice(outside)], [0.8, 0.1, 0.1])[0]
        make_incident(
            world, received, ack, dispatch, scene, grid=grid, reason=reason, callback=callback, shift=shift,
            status=IncidentStatus.CLOSED if false else IncidentStatus.COMPLETED,
        )  # fmt: skip
    make_alarm(world, at(9, day=FIRST), type=AlarmType.OFFLINE, cleared=at(10, day=FIRST))  # not life safety
    return shifts


def _expected(user, period: Period) -> dict[str, dict]:
    """Every grouping of the period, computed from the records with the definitions in kpi.py's docstring."""
    start, end = kpi.bounds(period)
    in_period = dict(raised_at__gte=start, raised_at__lt=end)
    incidents = list(Incident.objects.for_user(user, "lead").filter(received_at__gte=start, received_at__lt=end))
    alarms = list(Alarm.objects.for_user(user, "view").filter(life_safety=True, **in_period))
    falses = {i.alarm_id for i in Incident.objects.filter(callback=Incident.Callback.FALSE_ALARM)}
    shifts = list(Shift.objects.for_user(user, "lead").filter(starts_at__gte=start, starts_at__lt=end))

    def keys(moment: dt.datetime) -> dict[str, object]:
        day = timezone.localtime(moment, kpi.TZ).date()
        return {"day": day, "month": day.replace(day=1), "kind": _kind(moment), "total": 0}

    out: dict[str, dict] = {
        g: defaultdict(lambda: defaultdict(list)) for g in ("day", "month", "kind", "shift", "total")
    }
    for s in shifts:  # every shift on the roster is a row, even with nothing in it
        out["shift"][s.pk]["alarms"] = []
    for a in alarms:
        false = a.close_reason in kpi.FALSE or a.pk in falses
        for group, key in keys(a.raised_at).items():
            out[group][key]["alarms"].append(false)
        for s in shifts:
            areas = (a.grid_id, a.community_id, a.street_id, a.district_id, a.city_id)
            if s.starts_at <= a.raised_at < s.ends_at and s.area_id in areas:
                out["shift"][s.pk]["alarms"].append(false)
    for i in incidents:
        secs = [
            None if t is None else (t - i.received_at).total_seconds()
            for t in (i.acknowledged_at, i.dispatched_at, i.on_scene_at)
        ]
        for group, key in [*keys(i.received_at).items(), ("shift", i.shift_id)]:
            cell = out[group][key]
            cell["n"].append(1)
            for name, s in zip(kpi.DURATIONS, secs, strict=True):
                if s is not None:
                    cell[name].append(s)
    return out


def _check(row: kpi.Row, cell: dict) -> None:
    assert (row.alarms, row.false_alarms) == (len(cell["alarms"]), sum(cell["alarms"])), row.label
    scene = cell["scene"]
    assert (row.incidents, row.on_scene, row.within) == (
        len(cell["n"]),
        len(scene),
        sum(1 for s in scene if s <= kpi.REFERENCE_SECONDS),
    ), row.label
    for name in kpi.DURATIONS:
        values, got = cell[name], getattr(row, name)
        mean = math.fsum(values) / len(values) if values else None
        for have, want in ((got.mean, mean), (got.median, _pct(values, 0.5)), (got.p90, _pct(values, 0.9))):
            assert (have is None and want is None) or have == pytest.approx(want, abs=0.01), (row.label, name)


@pytest.mark.parametrize("who", ["street", "district"])
def test_every_grouping_matches_the_records(world, mix, who):
    user = (
        world.users["shift_lead"]
        if who == "street"
        else make_user("lead_d", "shift_lead", area=world.areas["district"])
    )
    expected = _expected(user, PERIOD)
    assert len(expected["day"]) == 4 and len(expected["month"]) == 2  # the data covers what the test means to
    for by in ("day", "month", "kind", "shift"):
        rep = kpi.report(user, PERIOD, by, now=NOW)
        _check(rep.total, expected["total"][0])
        assert {r.key for r in rep.daily} == set(expected["day"])
        for row in rep.daily:
            _check(row, expected["day"][row.key])
        want = expected[by]
        assert {r.key for r in rep.rows} == set(want), by
        for row in rep.rows:
            _check(row, want[row.key])
    # the export reads the alarms once for the four groupings, and counts the same
    together = kpi.reports(user, PERIOD, kpi.GROUPS, now=NOW)
    for rep in together:
        alone = kpi.report(user, PERIOD, rep.by, now=NOW)
        assert [(r.key, r.alarms, r.incidents, r.scene.p90) for r in rep.rows] == [
            (r.key, r.alarms, r.incidents, r.scene.p90) for r in alone.rows
        ]


def test_a_shift_off_the_hour_is_counted_by_itself(world, mix):
    lead = world.users["shift_lead"]
    night = Shift.objects.get(area=world.areas["A"], starts_at=at(0, day=FIRST))
    day = Shift.objects.get(area=world.areas["A"], starts_at=at(8, day=FIRST))
    make_alarm(world, at(8, 10, day=FIRST), reason=CloseReason.TEST)
    make_alarm(world, at(8, 29, day=FIRST), grid="A2-1")
    before = {r.key: r.alarms for r in kpi.report(lead, PERIOD, "shift", now=NOW).rows}
    # the night shift stays until 08:30: the alarms of 08:00–08:30 move from the day shift to it
    Shift.objects.filter(pk=night.pk).update(ends_at=at(8, 30, day=FIRST))
    Shift.objects.filter(pk=day.pk).update(starts_at=at(8, 30, day=FIRST))
    moved = Alarm.objects.for_user(lead, "view").filter(
        life_safety=True, street=world.areas["A"], raised_at__gte=at(8, day=FIRST), raised_at__lt=at(8, 30, day=FIRST)
    )
    assert moved.count() >= 2
    after = {r.key: r.alarms for r in kpi.report(lead, PERIOD, "shift", now=NOW).rows}
    assert after[night.pk] == before[night.pk] + moved.count()
    assert after[day.pk] == before[day.pk] - moved.count()
    assert {k: v for k, v in after.items() if k not in (night.pk, day.pk)} == {
        k: v for k, v in before.items() if k not in (night.pk, day.pk)
    }
    expected = _expected(lead, PERIOD)["shift"]
    for row in kpi.report(lead, PERIOD, "shift", now=NOW).rows:
        _check(row, expected[row.key])


def test_nothing_in_the_period_or_in_scope(world, mix):
    empty = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31), "custom")
    for by in kpi.GROUPS:
        rep = kpi.report(world.users["shift_lead"], empty, by, now=NOW)
        assert rep.rows == [] and rep.daily == [] and (rep.total.alarms, rep.total.incidents) == (0, 0)
        assert rep.total.scene.mean is None and rep.total.label
        nobody = kpi.report(world.users["nobody"], PERIOD, by, now=NOW)
        assert nobody.rows == [] and (nobody.total.alarms, nobody.total.incidents, nobody.offline_now) == (0, 0, 0)


def test_statements_do_not_grow_with_rows(world, mix):
    lead = world.users["shift_lead"]
    kpi.report(lead, PERIOD)  # the user's scope, computed once per user
    counts = {}
    for days in (1, 4):
        period = Period(FIRST, FIRST + dt.timedelta(days=days - 1), "custom")
        for by in kpi.GROUPS:
            with CaptureQueriesContext(connection) as ctx:
                rep = kpi.report(lead, period, by, now=NOW)
            counts[(days, by)] = len(ctx.captured_queries)
            assert rep.rows
        with CaptureQueriesContext(connection) as ctx:
            kpi.reports(lead, period, kpi.GROUPS, now=NOW)
        counts[(days, "export")] = len(ctx.captured_queries)
    assert {k[1]: v for k, v in counts.items() if k[0] == 1} == {k[1]: v for k, v in counts.items() if k[0] == 4}
    # incidents, alarms, two for the devices offline (and the roster by shift); the export shares all but incidents
    assert all(counts[(4, by)] <= (5 if by == "shift" else 4) for by in kpi.GROUPS)
    assert counts[(4, "export")] <= 9


def test_the_table_rows(world, mix, client_for):
    late = kpi.Row(7, "<b>crew</b>", alarms=3, false_alarms=1, incidents=2, on_scene=2, within=1, current=True)
    late.scene = kpi.Duration(900, 1000, 1500)
    html = str(kpi.rows_html([late, kpi.Row(None, "No shift")]))
    assert html.count("<tr") == 2 and html.count("<td") == 2 * 13
    assert '<tr class="current"><th scope="row" class="name">&lt;b&gt;crew&lt;/b&gt; · ' in html
    assert '<td class="num ref-miss">25.0</td>' in html and '50.0%<span class="of">1 / 2</span>' in html
    assert '33.3%<span class="of">1 / 3</span>' in html and "<tr><th" in html
    page = client_for("shift_lead").get(f"/dispatch/kpi/?{PERIOD.query()}&by=shift").content.decode()
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr") == len(kpi.report(world.users["shift_lead"], PERIOD, "shift").rows) > 12
    assert page.split("<tfoot>")[1].count("<tr") == 1
