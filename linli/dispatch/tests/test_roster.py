"""The three-shift roster: one crew per slot, rest between shifts, idempotent, on duty at the boundaries."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from linli.core.models import AuditRecord
from linli.dispatch import roster
from linli.dispatch.models import Crew, Rescuer, Shift

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def _crews(world):
    a = world.areas["A"]
    u = world.users
    c1 = Crew.objects.create(area=a, name="Crew A", lead=u["shift_lead"])
    c1.members.add(u["dispatcher"], u["shift_lead"])
    c2 = Crew.objects.create(area=a, name="Crew B")
    c3 = Crew.objects.create(area=a, name="Crew C")
    Rescuer.objects.create(user=u["rescuer"], area=a, crew=c1)
    return c1, c2, c3


def test_pattern_one_crew_per_slot_and_rest_between_shifts():
    day0 = dt.date(2026, 3, 1)
    shifts: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {0: [], 1: [], 2: []}
    for d in range(60):
        day = day0 + dt.timedelta(days=d)
        seen = set()
        for slot in range(3):
            crew = roster.crew_for(day, slot)
            assert roster.slot_index(crew, day) == slot
            seen.add(crew)
            shifts[crew].append(roster.slot_bounds(day, slot))
        assert seen == {0, 1, 2}  # each crew works exactly one shift a day
    for crew, spans in shifts.items():
        rests = [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
        assert min(rests) >= dt.timedelta(hours=8), crew
        assert {dt.timedelta(hours=h) for h in (8, 16, 32)} >= set(rests)
        # over a full cycle each crew works each shift equally often
        names = [s[0].hour for s in spans[:6]]
        assert sorted(names) == [0, 0, 8, 8, 16, 16]


def test_make_roster_covers_every_hour_and_is_idempotent(world):
    c1, c2, c3 = _crews(world)
    area = world.areas["A"]
    result = roster.make_roster(area, dt.date(2026, 3, 1), 7)
    assert result.created == 21 and result.existing == 0
    shifts = list(Shift.objects.filter(area=area).order_by("starts_at"))
    assert shifts[0].starts_at == dt.datetime(2026, 3, 1, 0, tzinfo=SH)
    assert shifts[-1].ends_at == dt.datetime(2026, 3, 8, 0, tzinfo=SH)
    for a, b in zip(shifts, shifts[1:], strict=False):
        assert a.ends_at == b.starts_at  # no gap, no overlap
        assert a.crew_id != b.crew_id
    assert all(s.ends_at - s.starts_at == dt.timedelta(hours=8) for s in shifts)
    assert {s.lead_id for s in shifts if s.crew_id == c1.pk} == {world.users["shift_lead"].pk}
    # again, overlapping: nothing doubled, edited shifts kept
    Shift.objects.filter(pk=shifts[0].pk).update(crew=c3)
    again = roster.make_roster(area, dt.date(2026, 3, 5), 7)
    assert again.existing == 9 and again.created == 12
    assert Shift.objects.filter(area=area).count() == 33
    assert Shift.objects.get(pk=shifts[0].pk).crew_id == c3.pk
    assert AuditRecord.objects.filter(object_type="dispatch.shift").count() == 2


def test_crews_created_when_missing_and_bad_counts_refused(world):
    area = world.areas["B"]
    roster.make_roster(area, dt.date(2026, 3, 1), 1)
    assert Crew.objects.filter(area=area).count() == 3
    Crew.objects.create(area=area, name="Crew D")
    with pytest.raises(ValueError):
        roster.make_roster(area, dt.date(2026, 3, 2), 1)
    with pytest.raises(ValueError):
        roster.make_roster(world.areas["A"], dt.date(2026, 3, 2), 0)


def test_on_duty_at_boundaries_in_shanghai_time(world):
    c1, _c2, _c3 = _crews(world)
    area = world.areas["A"]
    roster.make_roster(area, dt.date(2026, 3, 7), 3)
    at = dt.datetime(2026, 3, 8, 8, 0, tzinfo=SH)
    day = roster.on_duty(area, at)
    assert day.name == Shift.Name.DAY and day.starts_at == at
    before = roster.on_duty(area, at - dt.timedelta(microseconds=1))
    assert before.name == Shift.Name.NIGHT and before.ends_at == at
    # midnight belongs to the night shift of the new day; 00:00 Shanghai is 16:00 UTC the day before
    midnight = roster.on_duty(area, dt.datetime(2026, 3, 8, 16, 0, tzinfo=dt.UTC))
    assert midnight.name == Shift.Name.NIGHT
    assert midnight.starts_at.astimezone(SH) == dt.datetime(2026, 3, 9, 0, tzinfo=SH)
    # no daylight saving: the March and November weekends elsewhere change nothing here
    for day_ in (dt.date(2026, 3, 8), dt.date(2026, 11, 1)):
        for slot in range(3):
            s, e = roster.slot_bounds(day_, slot)
            assert (e - s) == dt.timedelta(hours=8) and s.utcoffset() == dt.timedelta(hours=8)
    assert roster.on_duty(area, dt.datetime(2026, 3, 10, 0, tzinfo=SH)) is None
    assert roster.on_duty(world.areas["B"], at) is None
    who = roster.who_is_on_duty(area, at)
    if who.shift.crew_id == c1.pk:
        assert who.lead == world.users["shift_lead"]
        assert [m.username for m in who.members] == ["dispatcher", "shift_lead"]
        assert [r.user.username for r in who.rescuers] == ["rescuer"]
    shift_c1 = Shift.objects.filter(area=area, crew=c1).first()
    who = roster.who_is_on_duty(area, shift_c1.starts_at)
    assert who.lead == world.users["shift_lead"] and len(who.rescuers) == 1
    assert roster.who_is_on_duty(area, dt.datetime(2020, 1, 1, tzinfo=SH)).shift is None


def test_command(world):
    out = StringIO()
    call_command("make_roster", area=world.areas["A"].code, start="2026-03-01", days=2, stdout=out)
    assert "6 shifts created" in out.getvalue()
    call_command("make_roster", area=world.areas["A"].code, start="2026-03-01", days=2, stdout=out)
    assert "0 shifts created, 6 already" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("make_roster", area="999", start="2026-03-01", days=2)
    with pytest.raises(CommandError):
        call_command("make_roster", area=world.areas["A"].code, start="03/01/2026", days=2)
    with pytest.raises(CommandError):
        call_command("make_roster", area=world.areas["A"].code, start="2026-03-01", days=9999)


def test_a_rescuer_is_named_by_their_display_name(world):
    user = world.users["rescuer"]
    rescuer = Rescuer.objects.create(user=user, area=world.areas["A"])
    type(user).objects.filter(pk=user.pk).update(display_name="张桂兰")
    rescuer.user.refresh_from_db()
    assert str(rescuer) == "张桂兰"
    type(user).objects.filter(pk=user.pk).update(display_name="")
    rescuer.user.refresh_from_db()
    assert str(rescuer) == user.username


def test_the_nightly_job_keeps_rosters_two_weeks_ahead(world):
    c1, _c2, _c3 = _crews(world)
    today = dt.date(2026, 10, 1)
    assert roster.extend_rosters(today) == {world.areas["A"].code: 14 * 3}
    assert roster.extend_rosters(today) == {}  # idempotent
    assert roster.extend_rosters(today + dt.timedelta(days=1)) == {world.areas["A"].code: 3}
    last = Shift.objects.filter(area=world.areas["A"]).order_by("-starts_at").first()
    assert last.ends_at.astimezone(SH).date() == today + dt.timedelta(days=15)
    # an area without its three crews is left alone (and logged), the others still extended
    Crew.objects.create(area=world.areas["B"], name="Only crew")
    assert list(roster.extend_rosters(today + dt.timedelta(days=2))) == [world.areas["A"].code]


def test_a_shift_is_named_by_its_beijing_date(world):
    c1, _c2, _c3 = _crews(world)
    roster.make_roster(world.areas["A"], dt.date(2026, 10, 1), 1)
    night = Shift.objects.filter(area=world.areas["A"]).order_by("starts_at").first()
    assert "2026-10-01" in str(night)  # 00:00 Beijing time is 16:00 UTC the day before
