from __future__ import annotations

from django import template

from madoguchi.core.scope import Actor

register = template.Library()


@register.filter
def opens_nursery(actor: object) -> bool:
    """保育課 staff or 管理者: the 利用調整 pages (for the nav link; no query: the actor knows its departments)."""
    from madoguchi.nursery.services import DEPARTMENT

    return isinstance(actor, Actor) and actor.municipality is not None and actor.works_in(DEPARTMENT)
