"""Template helpers for the resident portal."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language

register = template.Library()


def text_variant() -> str:
    """"en" in English, "easy" in やさしい日本語, "" in plain Japanese."""
    language = get_language() or "ja"
    if language.startswith("en"):
        return "en"
    if language == "ja-x-easy":
        return "easy"
    return ""


@register.simple_tag
def ptext(procedure: Any, key: str) -> str:
    """A procedure's portal text in the reader's language (falls back to plain Japanese)."""
    return str(procedure.portal_text(key, text_variant()))


@register.filter
def fee_text(amount: int) -> str:
    from django.utils.translation import gettext

    if not amount:
        return gettext("無料")
    return gettext("%(amount)s円") % {"amount": f"{amount:,}"}


@register.filter
def split_csv(value: str) -> list[str]:
    return value.split(",")


@register.filter
def slugify_path(path: str) -> str:
    """The HTML id suffix of a field path (``children[0].name`` → ``children-0--name``)."""
    import re

    return re.sub(r"[^A-Za-z0-9_-]", "-", path)
