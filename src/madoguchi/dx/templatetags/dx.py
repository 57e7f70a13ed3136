"""Figures as people read them on the DX pages: 和暦 months and 年度, 「—」 for no data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import template

from madoguchi.core.jp.wareki import to_wareki

register = template.Library()


@register.filter
def wareki_month(value: date | None) -> str:
    """令和8年4月"""
    if value is None:
        return ""
    text = to_wareki(value.replace(day=1))
    return text[: text.index("月") + 1]


@register.filter
def nendo(year: int) -> str:
    """The 年度 starting in April of ``year``: 令和8年度."""
    text = to_wareki(date(year, 4, 1))
    return text[: text.index("年")] + "年度"


@register.filter
def figure(value: object, unit: str = "") -> str:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"  # no data (None, or a missing month)
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value:,}{unit}"
