"""Template filters for people who read Japanese dates: ``{{ d|wareki }}``, ``{{ dt|wareki_datetime }}``."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

from madoguchi.core.jp.wareki import to_wareki

register = template.Library()


@register.filter
def wareki(value: date | datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return to_wareki(value)


@register.filter
def wareki_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{to_wareki(local.date())} {local:%H:%M}"
