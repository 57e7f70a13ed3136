"""開庁日 arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.core.jp.business_days import (
    add_business_days,
    business_days_between,
    is_national_holiday,
    is_office_day,
    is_year_end_closure,
    next_office_day,
    office_days_in,
)


@pytest.mark.parametrize(
    ("d", "holiday"),
    [
        (date(2026, 9, 21), True),  # 敬老の日
        (date(2026, 9, 22), True),  # 国民の休日 (between 敬老の日 and 秋分の日)
        (date(2026, 9, 23), True),  # 秋分の日
        (date(2026, 5, 6), True),  # 振替休日 (憲法記念日 5/3 is a Sunday)
        (date(2024, 2, 12), True),  # 振替休日 (建国記念の日 on Sunday)
        (date(2019, 5, 1), True),  # 天皇の即位の日
        (date(2019, 4, 30), True),  # 国民の休日
        (date(2026, 1, 1), True),  # 元日
        (date(2026, 9, 24), False),
        (date(2026, 12, 28), False),
        (date(2026, 12, 29), False),  # closed, but not a national holiday
    ],
)
def test_is_national_holiday(d: date, holiday: bool) -> None:
    assert is_national_holiday(d) is holiday


@given(st.dates(min_value=date(1960, 1, 1), max_value=date(2060, 12, 31)))
def test_holidays_cached_per_year_agree_with_jpholiday_day_by_day(d: date) -> None:
    import jpholiday

    assert is_national_holiday(d) is bool(jpholiday.is_holiday(d))


@pytest.mark.parametrize(
    ("d", "open_"),
    [
        (date(2026, 9, 24), True),  # Thursday
        (date(2026, 9, 26), False),  # Saturday
        (date(2026, 9, 27), False),  # Sunday
        (date(2026, 9, 22), False),  # 国民の休日
        (date(2026, 5, 6), False),  # 振替休日
        (date(2026, 12, 28), True),  # 仕事納め
        (date(2026, 12, 29), False),
        (date(2026, 12, 30), False),
        (date(2026, 12, 31), False),
        (date(2027, 1, 1), False),
        (date(2027, 1, 2), False),
        (date(2027, 1, 3), False),
        (date(2027, 1, 4), True),  # 仕事始め
    ],
)
def test_is_office_day(d: date, open_: bool) -> None:
    assert is_office_day(d) is open_


def test_year_end_closure_bounds() -> None:
    assert not is_year_end_closure(date(2030, 12, 28))
    assert all(is_year_end_closure(date(2030, 12, day)) for day in (29, 30, 31))
    assert all(is_year_end_closure(date(2031, 1, day)) for day in (1, 2, 3))
    assert not is_year_end_closure(date(2031, 1, 4))


def test_closed_days() -> None:
    anniversary = date(2026, 10, 1)  # Thursday, e.g. 市制記念日
    assert is_office_day(anniversary)
    assert not is_office_day(anniversary, closed=[anniversary])
    assert not is_office_day(anniversary, closed={anniversary})


def test_add_business_days_over_year_end() -> None:
    # 12/25 Fri; 12/28 Mon = 1; 12/29–1/3 closed; 1/4 Mon = 2; 1/5 Tue = 3
    assert add_business_days(date(2026, 12, 25), 1) == date(2026, 12, 28)
    assert add_business_days(date(2026, 12, 25), 2) == date(2027, 1, 4)
    assert add_business_days(date(2026, 12, 25), 3) == date(2027, 1, 5)


def test_add_business_days_zero() -> None:
    assert add_business_days(date(2026, 9, 24), 0) == date(2026, 9, 24)  # office day: itself
    assert add_business_days(date(2026, 9, 19), 0) == date(2026, 9, 24)  # Sat → after シルバーウィーク
    assert next_office_day(date(2026, 12, 29)) == date(2027, 1, 4)


def test_add_business_days_from_a_closed_day() -> None:
    # the start never counts: from Saturday 9/19, 1 office day later is Thursday 9/24
    assert add_business_days(date(2026, 9, 19), 1) == date(2026, 9, 24)
    assert add_business_days(date(2026, 9, 18), 1) == date(2026, 9, 24)


def test_add_business_days_backwards() -> None:
    assert add_business_days(date(2027, 1, 5), -1) == date(2027, 1, 4)
    assert add_business_days(date(2027, 1, 5), -2) == date(2026, 12, 28)
    assert add_business_days(date(2027, 1, 5), -3) == date(2026, 12, 25)
    assert add_business_days(date(2027, 1, 2), -1) == date(2026, 12, 28)


def test_add_business_days_with_closed() -> None:
    closed = [date(2026, 12, 28)]
    assert add_business_days(date(2026, 12, 25), 1, closed) == date(2027, 1, 4)
    assert add_business_days(date(2026, 12, 25), 3, closed) == date(2027, 1, 6)


def test_add_business_days_rejects_non_int() -> None:
    with pytest.raises(ValueError, match="整数"):
        add_business_days(date(2026, 1, 5), 1.5)  # type: ignore[arg-type]


def test_business_days_between() -> None:
    assert business_days_between(date(2026, 12, 25), date(2027, 1, 10)) == 6  # 12/28, 1/4–1/8
    assert business_days_between(date(2027, 1, 10), date(2026, 12, 25)) == -6
    assert business_days_between(date(2026, 12, 25), date(2026, 12, 25)) == 0
    assert business_days_between(date(2026, 12, 25), date(2026, 12, 28)) == 1  # end included
    assert business_days_between(date(2026, 12, 28), date(2026, 12, 31)) == 0  # start excluded
    assert business_days_between(date(2026, 12, 25), date(2027, 1, 10), [date(2027, 1, 4)]) == 5


def test_office_days_in() -> None:
    days = office_days_in(2026)
    assert days[0] == date(2026, 1, 5)
    assert days[-1] == date(2026, 12, 28)
    assert date(2026, 9, 22) not in days
    assert all(is_office_day(d) for d in days)
    assert len(days) == business_days_between(date(2025, 12, 31), date(2026, 12, 31))
    assert len(office_days_in(2026, closed=[date(2026, 10, 1)])) == len(days) - 1


starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
closed_sets = st.frozensets(st.dates(min_value=date(2000, 1, 1), max_value=date(2041, 12, 31)), max_size=20)


@settings(deadline=None)  # day-by-day counting; keep slow CI machines from flaking
@given(starts, st.integers(min_value=1, max_value=80), closed_sets)
def test_add_then_count_forward(start: date, n: int, closed: frozenset[date]) -> None:
    result = add_business_days(start, n, closed)
    assert result > start
    assert is_office_day(result, closed)
    assert business_days_between(start, result, closed) == n
    # it is the first day reaching n: the day before is still short of it
    assert business_days_between(start, result - timedelta(days=1), closed) == n - 1


@settings(deadline=None)  # day-by-day counting; keep slow CI machines from flaking
@given(starts, st.integers(min_value=-80, max_value=-1), closed_sets)
def test_add_backwards(start: date, n: int, closed: frozenset[date]) -> None:
    result = add_business_days(start, n, closed)
    assert result < start
    assert is_office_day(result, closed)
    office_start = next_office_day(start, closed)
    assert business_days_between(office_start, add_business_days(office_start, n, closed), closed) == n


@settings(deadline=None)  # day-by-day counting; keep slow CI machines from flaking
@given(starts, closed_sets)
def test_add_zero(start: date, closed: frozenset[date]) -> None:
    result = add_business_days(start, 0, closed)
    assert is_office_day(result, closed)
    assert result >= start
    assert business_days_between(start, result, closed) == (0 if result == start else 1)


near = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@settings(deadline=None)  # day-by-day counting; keep slow CI machines from flaking
@given(near, near, near)
def test_between_is_additive_and_antisymmetric(a: date, b: date, c: date) -> None:
    assert business_days_between(a, b) == -business_days_between(b, a)
    assert business_days_between(a, b) + business_days_between(b, c) == business_days_between(a, c)
