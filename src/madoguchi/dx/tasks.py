"""Celery: the KPI aggregates rebuilt every hour (and on demand from /dx/)."""

from __future__ import annotations

from celery import shared_task

from madoguchi.core.models import Municipality
from madoguchi.dx.services import kpi_refresh


@shared_task(name="madoguchi.dx.refresh_all")
def refresh_all() -> dict[str, float]:
    return {m.code: kpi_refresh(municipality=m).seconds for m in Municipality.objects.all()}
