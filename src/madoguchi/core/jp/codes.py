"""Check digits: 個人番号 (My Number) and 全国地方公共団体コード (municipality code).

Error messages never repeat a 個人番号: it is specific personal information (特定個人情報) and
must not end up in logs or on screens through an exception message.
"""

from __future__ import annotations

import re

__all__ = [
    "is_valid_municipality_code",
    "is_valid_mynumber",
    "municipality_check_digit",
    "mynumber_check_digit",
    "normalize_mynumber",
]

_ASCII_DIGITS_11 = re.compile(r"[0-9]{11}")
_ASCII_DIGITS_12 = re.compile(r"[0-9]{12}")
_ASCII_DIGITS_5 = re.compile(r"[0-9]{5}")
_ASCII_DIGITS_6 = re.compile(r"[0-9]{6}")
# Separators people put in a 個人番号: ASCII and 全角 spaces, hyphen-minus.
_MYNUMBER_SEPARATORS = re.compile("[ \u3000-]")

# Weights Q_n for n = 1..11, n counted from the right of the first 11 digits:
# Q_n = n + 1 for 1 <= n <= 6, n - 5 for 7 <= n <= 11 (the formula fixed by 総務省令).
_MYNUMBER_WEIGHTS = tuple(n + 1 if n <= 6 else n - 5 for n in range(1, 12))

_MUNICIPALITY_WEIGHTS = (6, 5, 4, 3, 2)


def mynumber_check_digit(first11: str) -> int:
    """The 検査用数字 for the first 11 digits of a 個人番号.

    ``remainder = sum(P_n * Q_n) % 11`` with P_n the n-th digit from the right; the check digit is
    0 when the remainder is 0 or 1, else ``11 - remainder``. Raises :class:`ValueError` unless
    ``first11`` is exactly 11 ASCII digits (the message does not echo the input).
    """
    if not isinstance(first11, str) or not _ASCII_DIGITS_11.fullmatch(first11):
        raise ValueError("個人番号の検査数字の計算には、半角数字11桁が必要です")
    digits_from_right = [int(ch) for ch in reversed(first11)]
    remainder = sum(p * q for p, q in zip(digits_from_right, _MYNUMBER_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def normalize_mynumber(value: str) -> str:
    """Strip ASCII/全角 spaces and hyphens; the rest must be exactly 12 ASCII digits.

    Raises :class:`ValueError` (without echoing the number) otherwise. 全角 digits are *not*
    accepted: the number is typed into a field that already converts them, and being strict here
    keeps a mistyped number from silently passing through another code path.
    """
    if not isinstance(value, str):
        raise ValueError("個人番号は文字列で指定してください")
    digits = _MYNUMBER_SEPARATORS.sub("", value)
    if not _ASCII_DIGITS_12.fullmatch(digits):
        raise ValueError("個人番号は半角数字12桁で入力してください")
    return digits


def is_valid_mynumber(value: str) -> bool:
    """True when ``value`` is a 個人番号 with a correct check digit.

    Spaces (ASCII or 全角) and hyphens are ignored; what remains must be exactly 12 ASCII digits
    (全角 digits are rejected). ``is_valid_mynumber("123456789018")`` is True.
    """
    try:
        digits = normalize_mynumber(value)
    except ValueError:
        return False
    return mynumber_check_digit(digits[:11]) == int(digits[11])


def municipality_check_digit(first5: str) -> int:
    """The check digit of a 全国地方公共団体コード from its first five digits (the JIS X 0402 code).

    Rule (総務省): weights 6, 5, 4, 3, 2; ``r = sum % 11``; the check digit is ``11 - r``, and when
    that is 10 or 11 its last digit is used, i.e. ``(11 - r) % 10``. So r = 1 gives 0 and r = 0
    gives 1 (埼玉県 110001, 栃木県 090000). Raises :class:`ValueError` unless ``first5`` is five
    ASCII digits.
    """
    if not isinstance(first5, str) or not _ASCII_DIGITS_5.fullmatch(first5):
        raise ValueError(f"団体コードの検査数字の計算には、半角数字5桁が必要です: {first5!r}")
    remainder = sum(int(ch) * w for ch, w in zip(first5, _MUNICIPALITY_WEIGHTS, strict=True)) % 11
    return (11 - remainder) % 10


def is_valid_municipality_code(code: str) -> bool:
    """True for a 6-digit 全国地方公共団体コード (ASCII digits) whose last digit checks out.

    ``131016`` (千代田区), ``011002`` (札幌市), ``271004`` (大阪市) are valid.
    """
    if not isinstance(code, str) or not _ASCII_DIGITS_6.fullmatch(code):
        return False
    return municipality_check_digit(code[:5]) == int(code[5])
