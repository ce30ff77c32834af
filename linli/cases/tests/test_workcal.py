"""Working-time arithmetic: statutory holidays, adjusted working weekends, work hours, DB overrides."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.cases import holidays, workcal
from linli.cases.workcal import WorkCalendar, parse_work_hours

SH = ZoneInfo("Asia/Shanghai")
DAY = 450  # working minutes a day with the default hours


def at(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar()


# The built-in data ----------------------------------------------------------------------------------------


def test_builtin_years_and_adjusted_days_are_weekends():
    assert holidays.YEARS == {2024, 2025, 2026}
    for day, working in holidays.DAYS.items():
        if working:
            assert day.weekday() >= 5, f"{day} is listed as an adjusted working day but is not a weekend day"
            assert holidays.NAMES[day].endswith("调休上班")
    offs = {year: sum(1 for d, w in holidays.DAYS.items() if d.year == year and not w) for year in holidays.YEARS}
    # Days off named by each notice (2024: 1+8+3+5+1+3+7; 2025: 1+8+3+5+3+8; 2026: 3+9+3+5+3+3+7).
    assert offs == {2024: 28, 2025: 28, 2026: 33}


def test_2026_notice(cal):
    off = [(1, 1), (1, 3), (2, 15), (2, 23), (4, 4), (4, 6), (5, 1), (5, 5), (6, 19), (6, 21), (9, 25), (9, 27)]
    off += [(10, d) for d in range(1, 8)]
    for m, d in off:
        assert not cal.is_working_day(date(2026, m, d)), (m, d)
    for m, d in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]:
        assert cal.is_working_day(date(2026, m, d)), (m, d)
    assert cal.is_working_day(date(2026, 10, 8))  # Thursday after the National Day week
    assert not cal.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert cal.day_name(date(2026, 2, 17)) == "春节"
    assert cal.day_name(date(2026, 10, 10)) == "国庆节调休上班"
    assert cal.day_name(date(2026, 3, 3)) == ""


def test_2025_and_2024_notices(cal):
    assert not cal.is_working_day(date(2025, 1, 28)) and not cal.is_working_day(date(2025, 2, 4))
    assert cal.is_working_day(date(2025, 1, 26)) and cal.is_working_day(date(2025, 2, 8))
    assert cal.is_working_day(date(2025, 4, 27)) and cal.is_working_day(date(2025, 9, 28))
    assert not cal.is_working_day(date(2025, 10, 8)) and cal.is_working_day(date(2025, 10, 11))
    assert not cal.is_working_day(date(2025, 6, 2))
    assert not cal.is_working_day(date(2024, 2, 16)) and cal.is_working_day(date(2024, 2, 18))
    assert cal.is_working_day(date(2024, 4, 7)) and cal.is_working_day(date(2024, 5, 11))
    assert not cal.is_working_day(date(2024, 9, 16)) and cal.is_working_day(date(2024, 9, 14))


def test_years_without_data_are_monday_to_friday(cal):
    assert cal.is_working_day(date(2027, 10, 1))  # a Friday; 2027's notice is not built in
    assert not cal.is_working_day(date(2027, 10, 2))
    assert cal.is_working_day(date(2023, 10, 2))  # a Monday before the built-in years
    assert cal.add(at(2030, 3, 1, 9), 10 * DAY) == at(2030, 3, 15, 9)
    assert cal.add(at(2020, 3, 1, 9), 10 * DAY) == at(2020, 3, 13, 17, 30)  # Sunday start: from Monday 08:30


# Deadlines across holidays --------------------------------------------------------------------------------


def test_national_day_2026(cal):
    start = at(2026, 9, 30, 16)
    assert cal.add(start, 90) == at(2026, 9, 30, 17, 30)  # ends exactly at the end of the day
    assert cal.add(start, 91) == at(2026, 10, 8, 8, 31)  # 10/1-10/7 off
    assert cal.add(start, 2 * DAY) == at(2026, 10, 9, 16)
    assert cal.add(start, 3 * DAY) == at(2026, 10, 10, 16)  # adjusted working Saturday counts
    assert cal.add(start, 4 * DAY) == at(2026, 10, 12, 16)  # Sunday 10/11 does not
    assert cal.between(start, at(2026, 10, 12, 16)) == 4 * DAY


def test_adjusted_sunday_before_national_day_2026(cal):
    # Friday 9/18 noon + 1 day: Sunday 9/20 is a working day.
    assert cal.add(at(2026, 9, 18, 12), DAY) == at(2026, 9, 20, 12)
    # Thursday 9/24 at 16:00 + 1 day: Mid-Autumn 9/25-9/27 off, lands Monday 9/28.
    assert cal.add(at(2026, 9, 24, 16), DAY) == at(2026, 9, 28, 16)


def test_spring_festival_2026(cal):
    # Friday 2/13 10:00 + 1 day: Saturday 2/14 is working.
    assert cal.add(at(2026, 2, 13, 10), DAY) == at(2026, 2, 14, 10)
    # Saturday 2/14 10:00 + 1 day: 2/15-2/23 off, Tuesday 2/24.
    assert cal.add(at(2026, 2, 14, 10), DAY) == at(2026, 2, 24, 10)
    # A report during the holiday counts from 2/24 08:30; 5 days reach Saturday 2/28 (working) 17:30.
    assert cal.add(at(2026, 2, 18, 20), 5 * DAY) == at(2026, 2, 28, 17, 30)


def test_labour_day_2025(cal):
    # Friday 4/25 14:00 + 1 day: Sunday 4/27 is working.
    assert cal.add(at(2025, 4, 25, 14), DAY) == at(2025, 4, 27, 14)
    # Wednesday 4/30 14:00 + 1 day: 5/1-5/5 off, Tuesday 5/6.
    assert cal.add(at(2025, 4, 30, 14), DAY) == at(2025, 5, 6, 14)
    # 4/25 14:00 to 5/6 14:00: 4/25-4/27 (Sunday working), 4/28, 4/29, 4/30 -> five working days.
    assert cal.between(at(2025, 4, 25, 14), at(2025, 5, 6, 14)) == 5 * DAY


def test_start_outside_working_time(cal):
    # Night: Tuesday 22:00 counts from Wednesday 08:30.
    assert cal.add(at(2026, 3, 10, 22), 60) == at(2026, 3, 11, 9, 30)
    # Early morning the same day.
    assert cal.add(at(2026, 3, 11, 6), 60) == at(2026, 3, 11, 9, 30)
    # Weekend: Saturday counts from Monday.
    assert cal.add(at(2026, 3, 14, 11), 30) == at(2026, 3, 16, 9)
    # Lunch break: 12:30 counts from 13:30; a span crossing lunch skips it.
    assert cal.add(at(2026, 3, 11, 12, 30), 30) == at(2026, 3, 11, 14)
    assert cal.add(at(2026, 3, 11, 11, 30), 60) == at(2026, 3, 11, 14)
    assert cal.add(at(2026, 3, 11, 11, 30), 30) == at(2026, 3, 11, 12)  # ends at the morning's end
    assert cal.between(at(2026, 3, 11, 11), at(2026, 3, 11, 14)) == 90
    assert cal.next_working(at(2026, 3, 11, 12)) == at(2026, 3, 11, 13, 30)
    assert cal.next_working(at(2026, 3, 11, 10, 5, 7)) == at(2026, 3, 11, 10, 5, 7)
    assert cal.is_working_time(at(2026, 3, 11, 8, 30)) and not cal.is_working_time(at(2026, 3, 11, 17, 30))


def test_zero_minutes_and_seconds(cal):
    night = at(2026, 10, 3, 23, 15)
    assert cal.add(night, 0) == night
    assert cal.add(at(2026, 3, 11, 10, 0, 42), 1) == at(2026, 3, 11, 10, 1, 42)
    assert cal.between(at(2026, 3, 11, 10, 0, 30), at(2026, 3, 11, 10, 2)) == 1  # whole minutes only
    assert cal.between(at(2026, 3, 12), at(2026, 3, 11)) == 0


def test_other_time_zones_in_result_in_local_time(cal):
    utc_start = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
    due = cal.add(utc_start, 2 * DAY)
    assert due == at(2026, 10, 9, 16)
    assert due.tzinfo == SH and due.hour == 16


def test_natural_time(cal):
    assert cal.add_natural(at(2026, 10, 1, 23), 120) == at(2026, 10, 2, 1)
    assert cal.add_natural(datetime(2026, 1, 1, tzinfo=UTC), 0).tzinfo == SH


def test_naive_datetimes_and_negative_minutes_are_refused(cal):
    with pytest.raises(ValueError, match="naive"):
        cal.add(datetime(2026, 3, 11, 9), 10)
    with pytest.raises(ValueError, match="naive"):
        cal.between(at(2026, 3, 11, 9), datetime(2026, 3, 12, 9))
    with pytest.raises(ValueError, match="naive"):
        cal.add_natural(datetime(2026, 3, 11, 9), 10)
    with pytest.raises(ValueError, match="negative"):
        cal.add(at(2026, 3, 11, 9), -1)


def test_overrides_and_custom_periods():
    wednesday = date(2026, 3, 11)
    cal = WorkCalendar({wednesday: False, date(2026, 3, 14): True}, [(540, 720)])  # 09:00-12:00 only
    assert cal.day_minutes == 180
    assert not cal.is_working_day(wednesday) and cal.is_working_day(date(2026, 3, 14))
    assert cal.add(at(2026, 3, 10, 11), 120) == at(2026, 3, 12, 10)
    assert cal.add(at(2026, 3, 13, 11), 120) == at(2026, 3, 14, 10)  # overridden Saturday works
    # An override beats the built-in data: National Day 2026 made a working day.
    assert WorkCalendar({date(2026, 10, 1): True}).is_working_day(date(2026, 10, 1))


def test_period_ending_at_midnight():
    cal = WorkCalendar(periods=[(22 * 60, 1440)])
    assert cal.add(at(2026, 3, 10, 23), 60) == at(2026, 3, 11, 0, 0)
    assert cal.add(at(2026, 3, 10, 23), 61) == at(2026, 3, 11, 22, 1)


# Settings -------------------------------------------------------------------------------------------------


def test_work_hours_setting_is_read():
    with override_settings(LINLI_WORK_HOURS="09:00-12:00, 14:00-18:00"):
        cal = WorkCalendar()
    assert cal.periods == ((540, 720), (840, 1080))
    assert cal.day_minutes == 420
    assert parse_work_hours(workcal.DEFAULT_WORK_HOURS) == [(510, 720), (810, 1050)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("25:00-26:00", "impossible time 25:00"),
        ("08:61-12:00", "impossible time 08:61"),
        ("9-5", "'9-5' is not a period"),
        ("08:30-12:00;13:30-17:30", "is not a period"),
        ("08:30-12:00,11:00-17:30", "overlap"),
        ("12:00-08:30", "must end after it starts"),
        ("08:00-08:00", "must end after it starts"),
        ("24:00-24:00", "impossible time 24:00"),
        ("", "must be working periods"),
    ],
)
def test_bad_work_hours_are_refused(value, message):
    with override_settings(LINLI_WORK_HOURS=value), pytest.raises(ImproperlyConfigured, match=message) as exc:
        WorkCalendar()
    assert "LINLI_WORK_HOURS" in str(exc.value)


def test_bad_periods_argument_is_refused():
    with pytest.raises(ImproperlyConfigured, match="overlap"):
        WorkCalendar(periods=[(500, 700), (600, 800)])


# Properties -----------------------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31, 23, 59), timezones=st.sampled_from([SH, UTC])
)


@settings(max_examples=300, deadline=None)
@given(start=starts, minutes=st.integers(0, 20000))
def test_between_inverts_add(start, minutes):
    cal = _shared()
    due = cal.add(start, minutes)
    assert cal.between(cal.next_working(start), due) == minutes
    assert cal.between(start, due) == minutes
    if minutes:
        assert cal.is_working_day(due.date())
        assert due.tzinfo == SH


@settings(max_examples=200, deadline=None)
@given(start=starts, m1=st.integers(0, 20000), m2=st.integers(0, 20000))
def test_add_is_monotonic(start, m1, m2):
    cal = _shared()
    lo, hi = sorted((m1, m2))
    assert cal.add(start, lo) <= cal.add(start, hi)
    if 0 < lo < hi:
        assert cal.add(start, lo) < cal.add(start, hi)


@settings(max_examples=100, deadline=None)
@given(start=starts, minutes=st.integers(1, 3000))
def test_add_matches_a_minute_by_minute_walk(start, minutes):
    """Check the arithmetic against a naive walk over the days and minutes (minute-aligned starts)."""
    cal = _shared()
    t = start.astimezone(SH).replace(second=0, microsecond=0)
    left = minutes
    while left:
        minute_of_day = t.hour * 60 + t.minute
        if not cal.is_working_day(t.date()):
            t = datetime.combine(t.date() + timedelta(days=1), datetime.min.time(), tzinfo=SH)
        elif any(s <= minute_of_day < e for s, e in cal.periods):
            left -= 1
            t += timedelta(minutes=1)
        else:
            t += timedelta(minutes=1)
    assert cal.add(start.replace(second=0, microsecond=0), minutes) == t


_SHARED: list = []


def _shared():
    if not _SHARED:
        _SHARED.append(WorkCalendar())
    return _SHARED[0]


# Speed ----------------------------------------------------------------------------------------------------


def test_add_is_fast(cal):
    start = at(2026, 9, 28, 9, 15)
    n = 20000
    t0 = clock.perf_counter()
    for _ in range(n):
        cal.add(start, 5 * DAY)
    per_call = (clock.perf_counter() - t0) / n
    assert per_call < 100e-6, f"{per_call * 1e6:.1f} µs per add"  # target < 30 µs; slack for slow CI


# The cached calendar and CalendarDay rows -----------------------------------------------------------------


@pytest.mark.django_db
def test_calendar_day_rows_override_and_invalidate():
    from linli.cases.models import CalendarDay

    workcal.invalidate()
    start = at(2026, 3, 10, 16)  # Tuesday
    assert workcal.calendar().add(start, DAY) == at(2026, 3, 11, 16)
    assert workcal.calendar() is workcal.calendar()  # cached

    CalendarDay.objects.create(date=date(2026, 3, 11), working=False, name="台风停工")
    workcal.invalidate()
    cal = workcal.calendar()
    assert not cal.is_working_day(date(2026, 3, 11))
    assert cal.day_name(date(2026, 3, 11)) == "台风停工"
    assert cal.add(start, DAY) == at(2026, 3, 12, 16)

    # A row overrides the built-in data: 10/1/2026 made a working day.
    CalendarDay.objects.create(date=date(2026, 10, 1), working=True)
    workcal.invalidate()
    assert workcal.calendar().add(at(2026, 9, 30, 16), DAY) == at(2026, 10, 1, 16)
    workcal.invalidate()


def test_work_hours_change_invalidates_the_cache(monkeypatch):
    monkeypatch.setattr(workcal, "_cached", WorkCalendar())
    with override_settings(LINLI_WORK_HOURS="09:00-10:00"):
        assert workcal._cached is None
