"""カナ helpers for フリガナ fields: hiragana → katakana, 半角カナ → 全角カナ, digit width.

Typical use in a form: ``value = to_katakana(raw)`` then ``is_katakana_name(value)`` to validate.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "hiragana_to_katakana",
    "is_katakana_name",
    "to_hankaku_digits",
    "to_katakana",
    "to_zenkaku_digits",
]

# ぁ (U+3041) … ゖ (U+3096) map to ァ (U+30A1) … ヶ (U+30F6); ゝゞ to ヽヾ; ゟ (より) to ヨリ.
_HIRA_TO_KATA: dict[int, str] = {code: chr(code + 0x60) for code in range(0x3041, 0x3097)}
_HIRA_TO_KATA.update({0x309D: "ヽ", 0x309E: "ヾ", 0x309F: "ヨリ"})

_HANKAKU_KANA_RUN = re.compile("[\uff61-\uff9f]+")

_ZENKAKU_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_HANKAKU_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# 全角カタカナ ァ…ヺ (incl. ヴ ヵ ヶ ヷ-ヺ), ・ and ー (U+30FB, U+30FC), ヽヾ, plus ASCII and 全角 spaces.
_KATAKANA_NAME = re.compile("[\u30a1-\u30fa\u30fb\u30fc\u30fd\u30fe \u3000]+")


def hiragana_to_katakana(text: str) -> str:
    """Convert hiragana to katakana, leaving every other character as it is."""
    return text.translate(_HIRA_TO_KATA)


def to_katakana(text: str) -> str:
    """Hiragana → katakana and 半角カナ → 全角カナ (``ﾀﾞ`` → ``ダ``); other characters are kept.

    The result is NFC-composed, so ``か`` + combining ゛ becomes ``ガ``.
    """
    widened = _HANKAKU_KANA_RUN.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return unicodedata.normalize("NFC", hiragana_to_katakana(widened))


def is_katakana_name(text: str) -> bool:
    """True when ``text`` is a plausible カナ name: 全角カタカナ, ー, ・ and spaces (半角 or 全角) only.

    At least one katakana character is required; hiragana and 半角カナ are rejected (convert with
    :func:`to_katakana` first).
    """
    if not _KATAKANA_NAME.fullmatch(text):
        return False
    return any("\u30a1" <= ch <= "\u30fa" or ch in "ヽヾ" for ch in text)


def to_zenkaku_digits(text: str) -> str:
    """ASCII digits → 全角 digits (``2025`` → ``２０２５``); other characters are kept."""
    return text.translate(_ZENKAKU_DIGITS)


def to_hankaku_digits(text: str) -> str:
    """全角 digits → ASCII digits (``２０２５`` → ``2025``); other characters are kept."""
    return text.translate(_HANKAKU_DIGITS)
