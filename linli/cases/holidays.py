"""The Chinese statutory holiday calendar, as published by the General Office of the State Council.

Each year the 国务院办公厅 publishes 《关于 YYYY 年部分节假日安排的通知》: the days off (放假) of 元旦, 春节,
清明节, 劳动节, 端午节, 中秋节 and 国庆节, and the weekend days that become working days (调休上班). This
module holds those notices as data; `linli.cases.workcal` counts deadlines with it.

Sources (texts checked against Xinhua / gmw.cn reprints and the State Council Gazette on Wikisource):

- 2024: 国办发明电〔2023〕7号, 2023-10-25 (国务院公报 2023 年第 31 号).
- 2025: 国办发明电〔2024〕12号, 2024-11-12 (first year under the 2024 revision of
  《全国年节及纪念日放假办法》: 春节 and 劳动节 one day longer).
- 2026: notice of 2025-11-04 (Xinhua; reprints give 国办发明电〔2025〕7号).

Only the days a notice names are listed: a holiday that "与周末连休" (joins a weekend) lists just the
holiday itself, since the weekend is off anyway. Years not listed here count Monday to Friday as
working days; administrators add later years (or local exceptions) as CalendarDay rows, which override
these data for their date.
"""

from __future__ import annotations

from datetime import date, timedelta

# (year, notice, [(name, first day off, last day off, [adjusted working days])])
_NOTICES: list[tuple[int, str, list[tuple[str, str, str, list[str]]]]] = [
    (
        2024,
        "国办发明电〔2023〕7号",
        [
            ("元旦", "01-01", "01-01", []),
            ("春节", "02-10", "02-17", ["02-04", "02-18"]),
            ("清明节", "04-04", "04-06", ["04-07"]),
            ("劳动节", "05-01", "05-05", ["04-28", "05-11"]),
            ("端午节", "06-10", "06-10", []),
            ("中秋节", "09-15", "09-17", ["09-14"]),
            ("国庆节", "10-01", "10-07", ["09-29", "10-12"]),
        ],
    ),
    (
        2025,
        "国办发明电〔2024〕12号",
        [
            ("元旦", "01-01", "01-01", []),
            ("春节", "01-28", "02-04", ["01-26", "02-08"]),
            ("清明节", "04-04", "04-06", []),
            ("劳动节", "05-01", "05-05", ["04-27"]),
            ("端午节", "05-31", "06-02", []),
            ("国庆节、中秋节", "10-01", "10-08", ["09-28", "10-11"]),
        ],
    ),
    (
        2026,
        "国办发明电〔2025〕7号",
        [
            ("元旦", "01-01", "01-03", ["01-04"]),
            ("春节", "02-15", "02-23", ["02-14", "02-28"]),
            ("清明节", "04-04", "04-06", []),
            ("劳动节", "05-01", "05-05", ["05-09"]),
            ("端午节", "06-19", "06-21", []),
            ("中秋节", "09-25", "09-27", []),
            ("国庆节", "10-01", "10-07", ["09-20", "10-10"]),
        ],
    ),
]


def _day(year: int, month_day: str) -> date:
    month, day = month_day.split("-")
    return date(year, int(month), int(day))


def _build() -> tuple[dict[date, bool], dict[date, str], dict[int, str]]:
    working: dict[date, bool] = {}
    names: dict[date, str] = {}
    notices: dict[int, str] = {}
    for year, notice, holidays in _NOTICES:
        notices[year] = notice
        for name, first, last, workdays in holidays:
            day, end = _day(year, first), _day(year, last)
            while day <= end:
                working[day] = False
                names[day] = name
                day += timedelta(days=1)
            for month_day in workdays:
                day = _day(year, month_day)
                working[day] = True
                names[day] = f"{name}调休上班"
    return working, names, notices


#: date -> False for a statutory day off, True for an adjusted working weekend day.
DAYS: dict[date, bool]
#: date -> the holiday's name ("春节", or "春节调休上班" for its adjusted working days).
NAMES: dict[date, str]
#: year -> the notice the year's data come from.
NOTICES: dict[int, str]
DAYS, NAMES, NOTICES = _build()

#: The years whose notices are built in.
YEARS: frozenset[int] = frozenset(NOTICES)
