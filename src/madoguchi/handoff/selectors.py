"""Reads of the hand-off outbox (staff panel, API authentication, operator views).

File exports (方式2/方式4) do not write to the jobs they carry: a ready ``HandoffBatch`` records the job id
range it covered. The state the staff see (出力済, the file, the number of deliveries) is derived here
(``job_view``); see docs/handoff.md "Export ranges"."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.handoff.models import (
    HandoffAccessToken,
    HandoffAttempt,
    HandoffBatch,
    HandoffClient,
    HandoffJob,
    HandoffTarget,
    JobState,
    Method,
)

FILE_METHODS = (Method.RPA, Method.BULK)


@dataclass(frozen=True)
class JobView:
    """A job as delivered: ``state`` (出力済 derived for file jobs), the last file that carried it and
    the number of deliveries."""

    state: str
    batch_id: int | None
    attempts: int


def _carriers(job: HandoffJob, procedure_id: int) -> QuerySet[HandoffBatch]:
    """Ready files whose range covers the job (after the last file that re-pointed it)."""
    batches = HandoffBatch.objects.filter(
        target_id=job.target_id,
        procedure_id=procedure_id,
        state=HandoffBatch.State.READY,
        low_water__lt=job.pk,
        high_water__gte=job.pk,
    )
    if job.batch_id is not None:
        batches = batches.filter(pk__gt=job.batch_id)
    return batches


def job_view(job: HandoffJob, *, procedure_id: int | None = None) -> JobView:
    """The delivered state of a job. A file job stored 未連携 (and not re-sent) whose id is inside the
    range of a ready file of its target and procedure is 出力済."""
    stored = JobView(job.state, job.batch_id, job.attempts)
    if job.method not in FILE_METHODS or job.requeued or job.state == JobState.FAILED:
        return stored
    if procedure_id is None:
        procedure_id = Application.objects.values_list("procedure_id", flat=True).get(pk=job.application_id)
    found = _carriers(job, procedure_id).aggregate(n=Count("id"), last=Max("id"))
    if not found["n"]:
        return stored
    state = JobState.DELIVERED if job.state == JobState.PENDING else job.state
    return JobView(state, found["last"], job.attempts + found["n"])


def handoff_jobs_for(*, application: Application) -> list[HandoffJob]:
    """The jobs of one application with their latest attempts, for the staff detail page (state, file and
    attempts as delivered: ``job_view``; the instances are for display and must not be saved)."""
    jobs = list(
        HandoffJob.objects.filter(application=application)
        .select_related("target")
        .order_by("target__name", "id")
    )
    for job in jobs:
        view = job_view(job, procedure_id=application.procedure_id)
        job.state, job.batch_id, job.attempts = view.state, view.batch_id, view.attempts
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


def export_marks(*, target: HandoffTarget) -> dict[int, int]:
    """procedure id -> the highest job id exported to a ready file of the target (its high-water mark).
    Exports of a target are serialized and each starts at the mark, so the ranges leave no gap below it."""
    rows = (
        HandoffBatch.objects.filter(target=target, state=HandoffBatch.State.READY, high_water__isnull=False)
        .values_list("procedure_id")
        .annotate(mark=Max("high_water"))
        .order_by()
    )
    return {procedure_id: mark for procedure_id, mark in rows}


def target_state_counts(*, target: HandoffTarget) -> dict[str, int]:
    counts: dict[str, int] = dict(
        HandoffJob.objects.filter(target=target).values_list("state").annotate(n=Count("id")).order_by()
    )  # type: ignore[arg-type]
    if target.method in FILE_METHODS:
        for procedure_id, mark in export_marks(target=target).items():
            n = HandoffJob.objects.filter(
                target=target,
                application__procedure_id=procedure_id,
                state=JobState.PENDING,
                requeued=False,
                id__lte=mark,
            ).count()
            if n:
                counts[JobState.PENDING] -= n
                counts[JobState.DELIVERED] = counts.get(JobState.DELIVERED, 0) + n
        counts = {k: v for k, v in counts.items() if v}
    return counts


def failed_jobs(*, municipality_id: int) -> QuerySet[HandoffJob]:
    return HandoffJob.objects.filter(target__municipality_id=municipality_id, state="failed").select_related(
        "application", "target"
    )
