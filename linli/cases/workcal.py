"""Working time: the clock that work-order deadlines are counted in.

A `WorkCalendar` knows which days are working days (Monday to Friday, minus the statutory days off, plus
the adjusted working weekend days of `linli.cases.holidays`, then overridden by the CalendarDay rows an
administrator keeps) and the working periods of a working day (setting ``LINLI_WORK_HOURS``, by default
``"08:30-12:00,13:30-17:30"``, i.e. 450 minutes a day).

Everything is counted on one axis, the *working position*: the number of working microseconds since a
fixed origin. A moment outside working time sits at the same position as the next working period's start.
`add` and `between` are then plain arithmetic on that axis; whole working days are skipped by counting
(closed-form Monday-to-Friday arithmetic outside the years with exceptions, a sorted table of working days
inside them), never by looping over minutes or days.

Times are wall-clock times in settings.TIME_ZONE (Asia/Shanghai); every datetime passed in must be aware.

    from linli.cases.workcal import calendar
    due = calendar().add(case.accepted_at, 2 * calendar().day_minutes)  # two working days
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from linli.cases import holidays

DEFAULT_WORK_HOURS = "08:30-12:00,13:30-17:30"

_US_MINUTE = 60_000_000
_US_DAY = 1440 * _US_MINUTE
_PERIOD_RE = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


def parse_work_hours(value: str, *, setting: str = "LINLI_WORK_HOURS") -> list[tuple[int, int]]:
    """Parse ``"08:30-12:00,13:30-17:30"`` into minute-of-day periods; ImproperlyConfigured if malformed.

    Each period is HH:MM-HH:MM with the end after the start (24:00 allowed as an end); periods must not
    overlap. They are returned sorted.
    """
    if not isinstance(value, str) or not value.strip():
        raise ImproperlyConfigured(f'{setting} must be working periods like "{DEFAULT_WORK_HOURS}", got {value!r}.')
    periods = []
    for part in value.split(","):
        part = part.strip()
        match = _PERIOD_RE.fullmatch(part)
        if not match:
            raise ImproperlyConfigured(
                f'{setting}: {part!r} is not a period "HH:MM-HH:MM" (e.g. "08:30-12:00"); '
                f"the whole value was {value!r}."
            )
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        for hour, minute, end in ((h1, m1, False), (h2, m2, True)):
            if minute > 59 or hour > 24 or (hour == 24 and (minute or not end)):
                raise ImproperlyConfigured(
                    f"{setting}: {part!r} has an impossible time {hour:02d}:{minute:02d} "
                    f"(hours run 00-23, minutes 00-59; 24:00 only as an end)."
                )
        periods.append((h1 * 60 + m1, h2 * 60 + m2))
    return _check_periods(periods, setting=setting, source=value)


def _check_periods(periods: Iterable[tuple[int, int]], *, setting: str, source: object) -> list[tuple[int, int]]:
    result = sorted((int(start), int(end)) for start, end in periods)
    if not result:
        raise ImproperlyConfigured(f"{setting}: at least one working period is needed, got {source!r}.")
    previous_end = None
    for start, end in result:
        if not 0 <= start < end <= 1440:
            raise ImproperlyConfigured(
                f"{setting}: period {_fmt(start)}-{_fmt(end)} must end after it starts, within one day (in {source!r})."
            )
        if previous_end is not None and start < previous_end:
            raise ImproperlyConfigured(
                f"{setting}: periods overlap around {_fmt(start)}-{_fmt(previous_end)} (in {source!r})."
            )
        previous_end = end
    return result


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _weekdays_before(x: int) -> int:
    """Monday-to-Friday days in [0, x), where day 0 is a Monday (x = date.toordinal() - 1)."""
    weeks, rest = divmod(x, 7)
    return weeks * 5 + (rest if rest < 5 else 5)


def _weekday_number(n: int) -> int:
    """The day x that is the n-th (from 0) Monday-to-Friday day: inverse of _weekdays_before."""
    weeks, rest = divmod(n, 5)
    return weeks * 7 + rest


class WorkCalendar:
    """Working days and hours; see the module docstring.

    overrides: date -> True (working) / False (day off), applied over the built-in statutory data.
    periods: working periods of a day as (start_minute, end_minute); default from LINLI_WORK_HOURS.
    names: optional date -> name shown for a day (overrides the built-in holiday names).
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        periods: Iterable[tuple[int, int]] | None = None,
        *,
        names: Mapping[date, str] | None = None,
        tz: tzinfo | None = None,
    ):
        if periods is None:
            periods = parse_work_hours(getattr(settings, "LINLI_WORK_HOURS", DEFAULT_WORK_HOURS))
        else:
            periods = _check_periods(periods, setting="WorkCalendar periods", source=periods)
        self.periods: tuple[tuple[int, int], ...] = tuple(periods)
        self.tz = tz or ZoneInfo(settings.TIME_ZONE)

        # Periods in microseconds of the day, each with the working time before it.
        self._p_start: list[int] = []
        self._p_end: list[int] = []
        self._p_before: list[int] = []  # working µs of the day before the period starts
        self._p_cum_end: list[int] = []  # working µs of the day at the period's end
        done = 0
        for start, end in self.periods:
            self._p_start.append(start * _US_MINUTE)
            self._p_end.append(end * _US_MINUTE)
            self._p_before.append(done)
            done += (end - start) * _US_MINUTE
            self._p_cum_end.append(done)
        self._day_us = done

        days = dict(holidays.DAYS)
        days.update(overrides or {})
        self._names = dict(holidays.NAMES)
        self._names.update(names or {})
        # Exceptions by day number x = toordinal() - 1 (so x % 7 == weekday(), x == 0 a Monday).
        self._flags: dict[int, bool] = {d.toordinal() - 1: bool(w) for d, w in days.items()}
        if self._flags:
            # Table of working days over [lo, hi): whole weeks around every exception.
            lo = min(self._flags) // 7 * 7
            hi = (max(self._flags) // 7 + 1) * 7
            self._wdays = [x for x in range(lo, hi) if self._flags.get(x, x % 7 < 5)]
        else:
            lo = hi = 0
            self._wdays = []
        self._lo, self._hi = lo, hi
        self._cum_lo = _weekdays_before(lo)  # working days before lo (no exceptions before it)
        self._cum_hi = self._cum_lo + len(self._wdays)
        self._delta_hi = self._cum_hi - _weekdays_before(hi)  # exceptions' net effect after hi

    # Days -----------------------------------------------------------------------------------------------

    @property
    def day_minutes(self) -> int:
        """Working minutes in one working day (450 with the default hours)."""
        return self._day_us // _US_MINUTE

    def is_working_day(self, d: date) -> bool:
        x = d.toordinal() - 1
        flag = self._flags.get(x)
        return x % 7 < 5 if flag is None else flag

    def day_name(self, d: date) -> str:
        """The holiday (or adjusted working day) name of a date, "" for an ordinary day."""
        return self._names.get(d, "")

    def _working_days_before(self, x: int) -> int:
        if x < self._lo:
            return _weekdays_before(x)
        if x < self._hi:
            return self._cum_lo + bisect_left(self._wdays, x, 0, len(self._wdays))
        return _weekdays_before(x) + self._delta_hi

    def _working_day_number(self, n: int) -> int:
        """The day x of the n-th (from 0) working day."""
        if n < self._cum_lo:
            return _weekday_number(n)
        if n < self._cum_hi:
            return self._wdays[n - self._cum_lo]
        return _weekday_number(n - self._delta_hi)

    # Positions ------------------------------------------------------------------------------------------

    def _local(self, dt: datetime) -> datetime:
        if not isinstance(dt, datetime):
            raise TypeError(f"expected a datetime, got {type(dt).__name__}")
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"naive datetime {dt.isoformat()}: working time needs an aware datetime")
        return dt.astimezone(self.tz)

    def _position(self, local: datetime) -> int:
        """Working µs from the origin to `local` (a moment off work sits at the next period's start)."""
        x = local.toordinal() - 1
        position = self._working_days_before(x) * self._day_us
        flag = self._flags.get(x)
        if x % 7 < 5 if flag is None else flag:
            us = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
            for start, end, before in zip(self._p_start, self._p_end, self._p_before, strict=True):
                if us < end:
                    if us > start:
                        position += before + us - start
                    else:
                        position += before
                    return position
            position += self._day_us
        return position

    def _moment(self, position: int, *, at_end: bool) -> datetime:
        """The wall-clock moment of a working position.

        A position on a boundary (end of one period = start of the next) is the earlier period's end when
        at_end (a deadline falls due at 17:30, not at 08:30 the next working day), else the next start.
        """
        n, us = divmod(position, self._day_us)
        if at_end and us == 0 and position > 0:
            n, us = n - 1, self._day_us
        x = self._working_day_number(n)
        if at_end:
            i = bisect_left(self._p_cum_end, us)
        else:
            i = bisect_left(self._p_cum_end, us + 1)
        wall = self._p_start[i] + us - self._p_before[i]
        day = date.fromordinal(x + 1)
        if wall >= _US_DAY:  # a period ending at 24:00
            day, wall = day + timedelta(days=1), wall - _US_DAY
        seconds, micro = divmod(wall, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime.combine(day, time(hour, minute, second, micro), tzinfo=self.tz)

    # Public arithmetic ----------------------------------------------------------------------------------

    def add(self, start: datetime, minutes: int) -> datetime:
        """The moment `minutes` working minutes after `start` (in settings.TIME_ZONE).

        A start outside working time counts from the next working period's start. minutes == 0 returns
        start unchanged; a result that falls exactly on the end of a period is that end (e.g. 17:30).
        """
        local = self._local(start)
        if minutes < 0:
            raise ValueError(f"cannot add a negative number of working minutes ({minutes})")
        if minutes == 0:
            return start
        return self._moment(self._position(local) + int(minutes) * _US_MINUTE, at_end=True)

    def between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in [a, b); 0 if b <= a."""
        la, lb = self._local(a), self._local(b)
        if lb <= la:
            return 0
        return (self._position(lb) - self._position(la)) // _US_MINUTE

    def next_working(self, dt: datetime) -> datetime:
        """`dt` itself if it is working time, else the start of the next working period."""
        local = self._local(dt)
        position = self._position(local)
        moment = self._moment(position, at_end=False)
        return local if moment <= local else moment

    def is_working_time(self, dt: datetime) -> bool:
        local = self._local(dt)
        return self._moment(self._position(local), at_end=False) == local

    def add_natural(self, start: datetime, minutes: int) -> datetime:
        """`minutes` natural minutes after `start` (urgent cases run 24/7), in settings.TIME_ZONE."""
        local = self._local(start)
        if minutes < 0:
            raise ValueError(f"cannot add a negative number of minutes ({minutes})")
        return local + timedelta(minutes=minutes)

    def __repr__(self) -> str:
        hours = ",".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in self.periods)
        return f"<WorkCalendar {hours} exceptions={len(self._flags)}>"


_cached: WorkCalendar | None = None
_lock = threading.Lock()


def calendar() -> WorkCalendar:
    """The process-wide calendar: built-in statutory data plus the CalendarDay rows (cached)."""
    global _cached
    cal = _cached
    if cal is None:
        with _lock:
            cal = _cached
            if cal is None:
                from linli.cases.models import CalendarDay

                overrides, names = {}, {}
                for day, working, name in CalendarDay.objects.values_list("date", "working", "name"):
                    overrides[day] = working
                    if name:
                        names[day] = name
                cal = _cached = WorkCalendar(overrides, names=names)
    return cal


def invalidate(*args, **kwargs) -> None:
    """Forget the cached calendar (connected to CalendarDay save/delete; accepts signal arguments)."""
    global _cached
    with _lock:
        _cached = None


def _on_setting_changed(*, setting, **kwargs):
    if setting in ("LINLI_WORK_HOURS", "TIME_ZONE"):
        invalidate()


setting_changed.connect(_on_setting_changed, dispatch_uid="linli.cases.workcal")
