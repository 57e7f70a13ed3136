"""Reads for the resident portal."""

from __future__ import annotations

import os

from madoguchi.core.models import Municipality


def portal_municipality() -> Municipality | None:
    """The municipality this portal serves: ``MADOGUCHI_PORTAL_MUNICIPALITY`` (団体コード), else the
    only (first) one."""
    code = os.environ.get("MADOGUCHI_PORTAL_MUNICIPALITY", "")
    qs = Municipality.objects.order_by("pk")
    if code:
        return qs.filter(code=code).first()
    return qs.first()
