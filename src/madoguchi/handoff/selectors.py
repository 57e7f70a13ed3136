"""Reads of the hand-off outbox (staff panel, API authentication, operator views)."""

from __future__ import annotations

import hashlib

from django.db.models import Count, QuerySet
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.handoff.models import (
    HandoffAccessToken,
    HandoffAttempt,
    HandoffClient,
    HandoffJob,
    HandoffTarget,
)


def handoff_jobs_for(*, application: Application) -> list[HandoffJob]:
    """The jobs of one application with their latest attempts, for the staff detail page."""
    jobs = list(
        HandoffJob.objects.filter(application=application)
        .select_related("target", "batch")
        .order_by("target__name", "id")
    )
    for job in jobs:
        job.recent_attempts = list(  # type: ignore[attr-defined]
            HandoffAttempt.objects.filter(job=job).order_by("-at", "-id")[:5]
        )
    return jobs


def client_for_token(*, token: str) -> HandoffClient | None:
    """The client a bearer token was issued to, if the token exists and has not expired."""
    row = (
        HandoffAccessToken.objects.select_related("client__target__municipality")
        .filter(token_hash=hashlib.sha256(token.encode()).hexdigest(), expires_at__gt=timezone.now())
        .first()
    )
    if row is None or not row.client.is_active or not row.client.target.is_active:
        return None
    return row.client


def target_state_counts(*, target: HandoffTarget) -> dict[str, int]:
    return dict(
        HandoffJob.objects.filter(target=target).values_list("state").annotate(n=Count("id")).order_by()
    )  # type: ignore[arg-type]


def failed_jobs(*, municipality_id: int) -> QuerySet[HandoffJob]:
    return HandoffJob.objects.filter(target__municipality_id=municipality_id, state="failed").select_related(
        "application", "target"
    )
