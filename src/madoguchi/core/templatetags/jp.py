"""Template filters for people who read Japanese dates: ``{{ d|wareki }}``, ``{{ dt|wareki_datetime }}``."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

from madoguchi.core.jp.wareki import to_wareki

register = template.Library()


@register.filter
def wareki(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # an ISO date kept in JSON (e.g. a card's birth date)
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return to_wareki(value)


@register.filter
def wareki_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{to_wareki(local.date())} {local:%H:%M}"


@register.filter
def person_name(user: object) -> str:
    """A staff member's name in Japanese order (姓 名), falling back to the username."""
    if user is None:
        return ""
    last, first = getattr(user, "last_name", ""), getattr(user, "first_name", "")
    full = f"{last} {first}".strip()
    return full or str(getattr(user, "username", user))


ACTOR_LABELS = {
    "online": "オンライン申請",
    "pittari": "ぴったりサービス",
    "counter": "窓口",
    "paper": "紙 (AI-OCR)",
    "system": "システム",
}


@register.filter
def actor_label(label: str) -> str:
    """How a history row names a non-staff actor (a channel, the system or the applicant)."""
    if label.startswith("resident:"):
        return "申請者"
    return ACTOR_LABELS.get(label, label)
