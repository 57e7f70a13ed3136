"""Reads of the hand-off outbox (staff panel, API authentication, operator views).

File exports (方式2/方式4) do not write to the jobs they carry: a ready ``HandoffBatch`` records the job id
range it covered. The state the staff see (出力済, the file, the number of deliveries) is derived here
(``job_view``); see docs/handoff.md "Export ranges"."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.core.scope import Actor
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


def target_state_counts(*, target: HandoffTarget, department_ids: list[int] | None = None) -> dict[str, int]:
    """State -> number of jobs of the target (出力済 derived). With ``department_ids``: only the jobs of
    applications of those departments."""
    jobs = HandoffJob.objects.filter(target=target)
    if department_ids is not None:
        jobs = jobs.filter(application__department_id__in=department_ids)
    counts: dict[str, int] = dict(jobs.values_list("state").annotate(n=Count("id")).order_by())  # type: ignore[arg-type]
    if target.method in FILE_METHODS:
        for procedure_id, mark in export_marks(target=target).items():
            n = jobs.filter(
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


# ------------------------------------------------------------------------- staff overview (/staff/handoff/)
HANDOFF_ROLES = frozenset({"admin", "handler", "approver"})


@dataclass(frozen=True)
class HandoffScope:
    """What of the hand-off a staff member may see: the whole municipality (管理者), the departments where
    they are 担当/決裁者/管理者, or nothing (窓口 only, DX推進)."""

    municipality_id: int | None
    department_ids: list[int] | None  # None = every department

    @property
    def empty(self) -> bool:
        return self.municipality_id is None or self.department_ids == []


def handoff_scope(*, actor: Actor) -> HandoffScope:
    if actor.municipality is None:
        return HandoffScope(None, [])
    if actor.roles_by_department.get(None, frozenset()) & {"admin"}:
        return HandoffScope(actor.municipality.pk, None)
    departments = sorted(d for d in actor.department_ids if actor.roles_for(d) & HANDOFF_ROLES)
    return HandoffScope(actor.municipality.pk, departments)


def visible_targets(*, scope: HandoffScope) -> QuerySet[HandoffTarget]:
    if scope.municipality_id is None or scope.empty:
        return HandoffTarget.objects.none()
    targets = HandoffTarget.objects.filter(municipality_id=scope.municipality_id)
    if scope.department_ids is not None:  # a target for every procedure (none listed) covers theirs too
        targets = targets.filter(
            Q(procedures__department_id__in=scope.department_ids) | Q(procedures__isnull=True)
        ).distinct()
    return targets.order_by("name", "id")


def visible_batches(*, scope: HandoffScope) -> QuerySet[HandoffBatch]:
    if scope.municipality_id is None or scope.empty:
        return HandoffBatch.objects.none()
    batches = HandoffBatch.objects.filter(target__municipality_id=scope.municipality_id)
    if scope.department_ids is not None:
        batches = batches.filter(procedure__department_id__in=scope.department_ids)
    return batches.select_related("target", "procedure")


def visible_failed_jobs(*, scope: HandoffScope) -> QuerySet[HandoffJob]:
    if scope.municipality_id is None or scope.empty:
        return HandoffJob.objects.none()
    jobs = failed_jobs(municipality_id=scope.municipality_id)
    if scope.department_ids is not None:
        jobs = jobs.filter(application__department_id__in=scope.department_ids)
    return jobs


@dataclass(frozen=True)
class TargetRow:
    target: HandoffTarget
    counts: list[tuple[str, str, int]]  # (state, label, n) in JobState order
    total: int


def handoff_overview(*, actor: Actor, batch_limit: int = 20, failed_limit: int = 50) -> dict[str, object]:
    """The targets with their job counts per (derived) state, the latest export files and the failed
    jobs, as far as the actor may see them."""
    scope = handoff_scope(actor=actor)
    rows = []
    for target in visible_targets(scope=scope):
        counts = target_state_counts(target=target, department_ids=scope.department_ids)
        rows.append(
            TargetRow(
                target=target,
                counts=[(state, str(label), counts.get(state, 0)) for state, label in JobState.choices],
                total=sum(counts.values()),
            )
        )
    return {
        "scope": scope,
        "target_rows": rows,
        "states": JobState.choices,
        "batches": list(visible_batches(scope=scope).order_by("-created_at", "-id")[:batch_limit]),
        "failed_jobs": list(
            visible_failed_jobs(scope=scope)
            .select_related("application__procedure")
            .order_by("-id")[:failed_limit]
        ),
    }
