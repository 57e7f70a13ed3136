"""Celery: a matching run (queue ``matching``, routed by the ``madoguchi.nursery.*`` name)."""

from __future__ import annotations

from celery import shared_task

from madoguchi.nursery.services import run_execute


@shared_task(name="madoguchi.nursery.run")
def run_matching(run_id: int) -> str:
    return str(run_execute(run_id=run_id).status)
