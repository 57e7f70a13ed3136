from __future__ import annotations

from django import template

from madoguchi.core.errors import PermissionDeniedError

register = template.Library()


@register.filter
def opens_nursery(actor: object) -> bool:
    """保育課 staff or 管理者: the 利用調整 pages (for the nav link)."""
    from madoguchi.nursery.services import require_hoiku

    try:
        require_hoiku(actor)  # type: ignore[arg-type]
    except (PermissionDeniedError, AttributeError):
        return False
    return True
