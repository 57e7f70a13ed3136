"""和暦 conversion and parsing."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.jp.wareki import (
    EARLIEST_SUPPORTED,
    ERAS,
    era_year_code,
    parse_date_any,
    parse_wareki,
    to_wareki,
    to_wareki_parts,
)


def test_eras_table() -> None:
    assert [(e.name, e.letter, e.start) for e in ERAS] == [
        ("明治", "M", date(1868, 1, 25)),
        ("大正", "T", date(1912, 7, 30)),
        ("昭和", "S", date(1926, 12, 25)),
        ("平成", "H", date(1989, 1, 8)),
        ("令和", "R", date(2019, 5, 1)),
    ]
    name, letter, start = ERAS[-1]  # plain tuples too
    assert (name, letter, start) == ("令和", "R", date(2019, 5, 1))


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2025, 4, 1), "令和7年4月1日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1873, 1, 1), "明治6年1月1日"),
        (date(2100, 12, 31), "令和82年12月31日"),
    ],
)
def test_to_wareki(d: date, expected: str) -> None:
    assert to_wareki(d) == expected


def test_to_wareki_accepts_datetime() -> None:
    assert to_wareki(datetime(2019, 5, 1, 9, 30)) == "令和元年5月1日"


def test_to_wareki_parts() -> None:
    assert to_wareki_parts(date(2019, 5, 1)) == ("令和", 1)
    assert to_wareki_parts(date(2019, 4, 30)) == ("平成", 31)
    assert to_wareki_parts(date(1989, 1, 7)) == ("昭和", 64)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 1, 1), "R07"),
        (date(2025, 12, 31), "R07"),
        (date(2019, 5, 1), "R01"),
        (date(2019, 4, 30), "H31"),
        (date(1989, 1, 7), "S64"),
        (date(1989, 1, 8), "H01"),
        (date(1912, 7, 30), "T01"),
        (date(1900, 1, 1), "M33"),
    ],
)
def test_era_year_code(d: date, expected: str) -> None:
    assert era_year_code(d) == expected


@pytest.mark.parametrize("func", [to_wareki, to_wareki_parts, era_year_code])
def test_before_1873_is_rejected(func: object) -> None:
    assert EARLIEST_SUPPORTED == date(1873, 1, 1)
    with pytest.raises(ValueError, match="1873年1月1日"):
        func(date(1872, 12, 31))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和7年4月1日", date(2025, 4, 1)),
        ("令和７年４月１日", date(2025, 4, 1)),
        ("R7.4.1", date(2025, 4, 1)),
        ("R07.04.01", date(2025, 4, 1)),
        ("H31/4/30", date(2019, 4, 30)),
        ("h31-4-30", date(2019, 4, 30)),
        ("Ｒ７．４．１", date(2025, 4, 1)),
        ("Ｈ３１／４／３０", date(2019, 4, 30)),
        ("令和 7年 4月 1日", date(2025, 4, 1)),
        ("　令和　７年　４月　１日　", date(2025, 4, 1)),
        ("令和七年四月一日", date(2025, 4, 1)),
        ("平成三十一年四月三十日", date(2019, 4, 30)),
        ("令和元年十二月二十五日", date(2019, 12, 25)),
        ("昭和二〇年八月一五日", date(1945, 8, 15)),
        ("㋿7年4月1日", date(2025, 4, 1)),
        ("㍻31年4月30日", date(2019, 4, 30)),
        ("R7年4月1日", date(2025, 4, 1)),
        ("R元.5.1", date(2019, 5, 1)),
        ("S64.1.7", date(1989, 1, 7)),
        ("H1.1.8", date(1989, 1, 8)),
        ("T1.7.30", date(1912, 7, 30)),
        ("明治6年1月1日", date(1873, 1, 1)),
        ("M45.7.29", date(1912, 7, 29)),
    ],
)
def test_parse_wareki(text: str, expected: date) -> None:
    assert parse_wareki(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("平成31年5月1日", "平成は平成31年4月30日まで"),
        ("H31.5.1", "平成は平成31年4月30日まで"),
        ("昭和64年1月8日", "昭和は昭和64年1月7日まで"),
        ("平成元年1月7日", "平成は平成元年1月8日から"),
        ("令和元年4月30日", "令和は令和元年5月1日から"),
        ("大正15年12月25日", "大正は大正15年12月24日まで"),
        ("明治45年7月30日", "明治は明治45年7月29日まで"),
        ("明治5年12月31日", "1873年1月1日"),
        ("令和7年2月29日", "存在しない日付です"),
        ("令和7年13月1日", "存在しない日付です"),
        ("令和7年4月31日", "存在しない日付です"),
        ("令和0年1月1日", "元年"),
        ("xxx", "和暦の日付として読めません: 'xxx'"),
        ("", "和暦の日付として読めません"),
        ("2019-05-01", "和暦の日付として読めません"),
        ("令和7年4月", "和暦の日付として読めません"),
        ("R7.4/1", "和暦の日付として読めません"),
        ("X7.4.1", "和暦の日付として読めません"),
        ("令和七十七十年1月1日", "和暦の日付として読めません"),
    ],
)
def test_parse_wareki_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_wareki(text)


def test_leap_day() -> None:
    assert parse_wareki("令和6年2月29日") == date(2024, 2, 29)
    assert parse_wareki("平成12年2月29日") == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-05-01", date(2019, 5, 1)),
        ("2019/5/1", date(2019, 5, 1)),
        ("2019.5.1", date(2019, 5, 1)),
        ("2019年5月1日", date(2019, 5, 1)),
        ("２０１９－０５－０１", date(2019, 5, 1)),
        ("20190501", date(2019, 5, 1)),
        (" 2019-05-01 ", date(2019, 5, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R7.4.1", date(2025, 4, 1)),
        ("h31-4-30", date(2019, 4, 30)),
    ],
)
def test_parse_date_any(text: str, expected: date) -> None:
    assert parse_date_any(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2019-02-30", "存在しない日付です"),
        ("2019/5-1", "日付として読めません"),
        ("昨日", "日付として読めません: '昨日'"),
        ("平成31年5月1日", "平成は平成31年4月30日まで"),
    ],
)
def test_parse_date_any_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date_any(text)


dates = st.dates(min_value=date(1873, 1, 1), max_value=date(2100, 12, 31))


@given(dates)
def test_round_trip(d: date) -> None:
    assert parse_wareki(to_wareki(d)) == d
    assert parse_date_any(to_wareki(d)) == d


@given(dates)
def test_round_trip_letter_form(d: date) -> None:
    code = era_year_code(d)  # e.g. R07
    assert parse_wareki(f"{code}.{d.month:02d}.{d.day:02d}") == d
    assert parse_wareki(f"{code.lower()}/{d.month}/{d.day}") == d


@given(dates)
def test_parts_agree_with_text(d: date) -> None:
    name, year = to_wareki_parts(d)
    assert to_wareki(d).startswith(name + ("元" if year == 1 else str(year)) + "年")
    assert era_year_code(d)[1:] == f"{year:02d}"


@given(dates)
def test_parse_date_any_iso(d: date) -> None:
    assert parse_date_any(d.isoformat()) == d
