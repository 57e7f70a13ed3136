"""開庁日 (office days) arithmetic for 処理期限 and 標準処理期間.

An office day is a day that is none of: Saturday, Sunday, a national holiday (国民の祝日, 振替休日
and 国民の休日, from :mod:`jpholiday`), the year-end closure 12/29–1/3 (行政機関の休日に関する法律),
or a municipality-specific closed day passed in ``closed`` (e.g. 市制記念日, stored as
:class:`madoguchi.core.models.ClosedDay`).

Counting rule used throughout: "n office days after ``start``" means stepping forward one calendar
day at a time from ``start`` (exclusive) and counting only office days; the n-th one counted is
the answer. ``start`` itself never counts, whether or not it is an office day. Example: from Friday
2026-12-25, 12/28 (Mon) is 1, 12/29–1/3 are closed, 1/4 (Mon) is 2, 1/5 (Tue) is 3, so
``add_business_days(date(2026, 12, 25), 3) == date(2027, 1, 5)``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta
from functools import lru_cache

import jpholiday

__all__ = [
    "add_business_days",
    "business_days_between",
    "is_national_holiday",
    "is_office_day",
    "is_year_end_closure",
    "next_office_day",
    "office_days_in",
]

_ONE_DAY = timedelta(days=1)


def _as_date(d: date) -> date:
    """Accept a ``datetime`` too, using its date part (jpholiday treats the two differently)."""
    return date(d.year, d.month, d.day)


def _closed_set(closed: Iterable[date]) -> frozenset[date]:
    return frozenset(_as_date(d) for d in closed)


@lru_cache(maxsize=512)
def _holidays(year: int) -> frozenset[date]:
    """A year's national holidays, computed once per process (jpholiday works them out day by day)."""
    return frozenset(d for d, _name in jpholiday.year_holidays(year))


def is_national_holiday(d: date) -> bool:
    """True on 国民の祝日, 振替休日 and 国民の休日 (e.g. 2026-09-22)."""
    d = _as_date(d)
    return d in _holidays(d.year)


def is_year_end_closure(d: date) -> bool:
    """True from 12/29 to 1/3 inclusive (年末年始の閉庁)."""
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_office_day(d: date, closed: Collection[date] = ()) -> bool:
    """True when the office is open on ``d``.

    False on Saturdays, Sundays, national holidays, 12/29–1/3 and any date in ``closed``.
    """
    d = _as_date(d)
    return not (d.weekday() >= 5 or is_year_end_closure(d) or d in closed or is_national_holiday(d))


def next_office_day(d: date, closed: Collection[date] = ()) -> date:
    """``d`` itself if it is an office day, otherwise the first office day after it."""
    closed_days = _closed_set(closed)
    d = _as_date(d)
    while not is_office_day(d, closed_days):
        d += _ONE_DAY
    return d


def add_business_days(start: date, n: int, closed: Collection[date] = ()) -> date:
    """The date ``n`` office days after ``start`` (see the module docstring for the rule).

    - ``n > 0``: step forward from the day after ``start``; the n-th office day is returned.
    - ``n == 0``: ``start`` if it is an office day, otherwise the next office day.
    - ``n < 0``: step backward from the day before ``start``; the |n|-th office day is returned.

    ``add_business_days(date(2026, 12, 25), 3) == date(2027, 1, 5)``.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"開庁日数は整数で指定してください: {n!r}")
    closed_days = _closed_set(closed)
    current = _as_date(start)
    if n == 0:
        return next_office_day(current, closed_days)
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    remaining = abs(n)
    while remaining:
        current += step
        if is_office_day(current, closed_days):
            remaining -= 1
    return current


def business_days_between(start: date, end: date, closed: Collection[date] = ()) -> int:
    """The number of office days ``d`` with ``start < d <= end``; negative when ``end < start``.

    Antisymmetric: ``business_days_between(a, b) == -business_days_between(b, a)``, and additive:
    ``between(a, b) + between(b, c) == between(a, c)``. For ``n >= 1``,
    ``business_days_between(s, add_business_days(s, n)) == n``.
    """
    start, end = _as_date(start), _as_date(end)
    if end < start:
        return -business_days_between(end, start, closed)
    closed_days = _closed_set(closed)
    count = 0
    current = start + _ONE_DAY
    while current <= end:
        if is_office_day(current, closed_days):
            count += 1
        current += _ONE_DAY
    return count


def office_days_in(year: int, closed: Collection[date] = ()) -> list[date]:
    """All office days of calendar ``year``, in order."""
    closed_days = _closed_set(closed)
    current = date(year, 1, 1)
    days: list[date] = []
    while current.year == year:
        if is_office_day(current, closed_days):
            days.append(current)
        current += _ONE_DAY
    return days
