"""和暦 (Japanese era calendar) conversion.

Conversion is supported from 1873-01-01 (明治6年1月1日), the day Japan adopted the Gregorian
calendar; earlier dates were lunisolar and cannot be mapped day for day, so they are rejected.

Era boundaries follow :data:`ERAS` strictly: an era ends the day before the next one starts. So
``1989-01-07`` is 昭和64年1月7日, ``1989-01-08`` is 平成元年1月8日 and 平成31年5月1日 does not exist.
(For 大正元年7月30日 and 昭和元年12月25日, where the change happened during the day, the new era wins.)

Parsing (:func:`parse_wareki`, :func:`parse_date_any`) is lenient about the way people type:
全角/半角 digits and letters, spaces, 元年, 漢数字 (七, 三十一, 二〇), era letters (``R7.4.1``,
``H31/4/30``, ``s64-1-7``) and the one-character era signs (㋿, ㍻, ...).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import NamedTuple

__all__ = [
    "EARLIEST_SUPPORTED",
    "ERAS",
    "Era",
    "era_year_code",
    "parse_date_any",
    "parse_wareki",
    "to_wareki",
    "to_wareki_parts",
]


class Era(NamedTuple):
    """One era: its name (令和), its abbreviation letter (R) and its first day."""

    name: str
    letter: str
    start: date


#: The supported eras, oldest first: (name, abbreviation letter, first day).
ERAS: list[Era] = [
    Era("明治", "M", date(1868, 1, 25)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("令和", "R", date(2019, 5, 1)),
]

#: The earliest date that can be converted (Gregorian calendar adopted on 明治6年1月1日).
EARLIEST_SUPPORTED = date(1873, 1, 1)

_BY_NAME = {era.name: era for era in ERAS}
_BY_LETTER = {era.letter: era for era in ERAS}


def _era_end(era: Era) -> date | None:
    """The last day of ``era``, or ``None`` for the current era."""
    index = ERAS.index(era)
    if index + 1 < len(ERAS):
        return ERAS[index + 1].start - timedelta(days=1)
    return None


def _era_of(d: date) -> Era:
    if d < EARLIEST_SUPPORTED:
        raise ValueError(
            f"{d.year}年{d.month}月{d.day}日は和暦に変換できません"
            "（明治6年1月1日（1873年1月1日）より前の日付は扱えません）"
        )
    for era in reversed(ERAS):
        if d >= era.start:
            return era
    raise AssertionError("unreachable: EARLIEST_SUPPORTED is inside 明治")  # pragma: no cover


def _as_date(d: date) -> date:
    """Accept a ``datetime`` too, using its date part."""
    return date(d.year, d.month, d.day)


def to_wareki_parts(d: date) -> tuple[str, int]:
    """Return ``(era name, era year)`` for ``d``, e.g. ``("令和", 1)`` for 2019-05-01."""
    d = _as_date(d)
    era = _era_of(d)
    return era.name, d.year - era.start.year + 1


def to_wareki(d: date) -> str:
    """Format ``d`` as ``令和元年5月1日`` (the first year of an era is written 元年)."""
    d = _as_date(d)
    name, year = to_wareki_parts(d)
    year_text = "元" if year == 1 else str(year)
    return f"{name}{year_text}年{d.month}月{d.day}日"


def era_year_code(d: date) -> str:
    """The era letter and the era year on (at least) two digits: ``R07`` for 2025, ``H31``.

    Used in 受付番号. The era year is zero-padded to two digits; from era year 100 it simply
    has three.
    """
    d = _as_date(d)
    era = _era_of(d)
    return f"{era.letter}{d.year - era.start.year + 1:02d}"


# --- parsing -------------------------------------------------------------------------------------

_KANJI_DIGITS = {ch: value for value, ch in enumerate("〇一二三四五六七八九")} | {"零": 0}
_KANJI_NUMBER = "〇零一二三四五六七八九十"
_NUM = rf"(?:[0-9]{{1,4}}|[{_KANJI_NUMBER}]{{1,4}})"
_ERA_NAMES = "|".join(_BY_NAME)
_ERA_LETTERS = "".join(_BY_LETTER)
_DASHES = "‐‑‒–—―−ー－"  # hyphen look-alikes people type between numbers

_WAREKI_KANJI = re.compile(
    rf"(?P<era>{_ERA_NAMES}|[{_ERA_LETTERS}])(?P<year>元|{_NUM})年(?P<month>{_NUM})月(?P<day>{_NUM})日",
)
_WAREKI_SEPARATED = re.compile(
    rf"(?P<era>{_ERA_NAMES}|[{_ERA_LETTERS}])(?P<year>元|[0-9]{{1,3}})(?P<sep>[./-])(?P<month>[0-9]{{1,2}})"
    rf"(?P=sep)(?P<day>[0-9]{{1,2}})",
)
_SEIREKI = re.compile(
    r"(?P<year>[0-9]{4})(?:(?P<sep>[./-])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
    r"|年(?P<kmonth>[0-9]{1,2})月(?P<kday>[0-9]{1,2})日)",
)
_SEIREKI_COMPACT = re.compile(r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})")


def _clean(text: str) -> str:
    """NFKC (全角→半角, ㋿→令和), drop all whitespace, unify dashes, upper-case era letters."""
    if not isinstance(text, str):
        raise ValueError(f"日付は文字列で指定してください: {text!r}")
    cleaned = unicodedata.normalize("NFKC", text)
    cleaned = "".join(ch for ch in cleaned if not ch.isspace())
    cleaned = re.sub(f"[{_DASHES}]", "-", cleaned)
    return cleaned.upper()


def _kanji_to_int(text: str) -> int:
    """Convert ``七``, ``十``, ``三十一``, ``二〇`` (positional) or ASCII digits to an int."""
    if text.isascii() and text.isdigit():
        return int(text)
    if "十" in text:
        tens_text, _, ones_text = text.partition("十")
        if "十" in ones_text or len(tens_text) > 1 or len(ones_text) > 1:
            raise ValueError(text)
        tens = _KANJI_DIGITS[tens_text] if tens_text else 1
        ones = _KANJI_DIGITS[ones_text] if ones_text else 0
        return tens * 10 + ones
    value = 0
    for ch in text:
        value = value * 10 + _KANJI_DIGITS[ch]
    return value


def _build_wareki(text: str, era: Era, year: int, month: int, day: int) -> date:
    if year < 1:
        raise ValueError(f"和暦の年は1以上（元年）で指定してください: {text!r}")
    try:
        result = date(era.start.year + year - 1, month, day)
    except ValueError:
        raise ValueError(f"存在しない日付です: {text!r}") from None
    if result < EARLIEST_SUPPORTED:
        raise ValueError(f"明治6年1月1日（1873年1月1日）より前の日付は扱えません: {text!r}")
    if result < era.start:
        raise ValueError(
            f"{era.name}は{to_wareki(era.start)}からです。それより前の日付は指定できません: {text!r}"
        )
    end = _era_end(era)
    if end is not None and result > end:
        raise ValueError(f"{era.name}は{to_wareki(end)}までです。それより後の日付は指定できません: {text!r}")
    return result


def _parse_wareki_cleaned(text: str, cleaned: str) -> date | None:
    """Parse already cleaned text; ``None`` when it is not shaped like a 和暦 date at all."""
    match = _WAREKI_KANJI.fullmatch(cleaned) or _WAREKI_SEPARATED.fullmatch(cleaned)
    if match is None:
        return None
    era_text = match["era"]
    era = _BY_NAME.get(era_text) or _BY_LETTER[era_text]
    try:
        year = 1 if match["year"] == "元" else _kanji_to_int(match["year"])
        month = _kanji_to_int(match["month"])
        day = _kanji_to_int(match["day"])
    except (KeyError, ValueError):
        return None
    return _build_wareki(text, era, year, month, day)


def parse_wareki(text: str) -> date:
    """Parse a 和暦 date typed by a person or found in a document.

    Accepted: ``令和元年5月1日``, ``令和7年4月1日``, ``令和７年４月１日``, ``令和 7年 4月 1日``,
    ``令和七年四月一日``, ``R7.4.1``, ``R07.04.01``, ``H31/4/30``, ``h31-4-30``, ``Ｒ７．４．１``,
    ``㋿7年4月1日``, ``R7年4月1日``.

    Raises :class:`ValueError` (Japanese message) for unreadable text, impossible dates
    (令和7年2月30日), dates outside the named era (平成31年5月1日) and dates before 1873-01-01.
    """
    result = _parse_wareki_cleaned(text, _clean(text))
    if result is None:
        raise ValueError(f"和暦の日付として読めません: {text!r}")
    return result


def parse_date_any(text: str) -> date:
    """Parse a Gregorian date (``2019-05-01``, ``2019/5/1``, ``2019.5.1``, ``2019年5月1日``,
    ``20190501``, 全角 too) or any 和暦 form accepted by :func:`parse_wareki`.

    Raises :class:`ValueError` with a Japanese message when the text is not a date.
    """
    cleaned = _clean(text)
    match = _SEIREKI.fullmatch(cleaned) or _SEIREKI_COMPACT.fullmatch(cleaned)
    if match is not None:
        month = match["month"] or match.groupdict().get("kmonth")
        day = match["day"] or match.groupdict().get("kday")
        try:
            return date(int(match["year"]), int(month or 0), int(day or 0))
        except ValueError:
            raise ValueError(f"存在しない日付です: {text!r}") from None
    result = _parse_wareki_cleaned(text, cleaned)
    if result is None:
        raise ValueError(f"日付として読めません: {text!r}")
    return result
