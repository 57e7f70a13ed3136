"""Reads of core data shared by several apps."""

from __future__ import annotations

from datetime import date

from madoguchi.core.models import ClosedDay, Municipality


def closed_days(municipality: Municipality) -> frozenset[date]:
    """The municipality's own closed days (on top of 土日・祝日・12/29–1/3)."""
    return frozenset(ClosedDay.objects.filter(municipality=municipality).values_list("date", flat=True))
