"""Writes of the hand-off outbox. Keyword-only, typed; one transaction per state change, each with its
audit row (STYLE.md: outbox + sweeper). A job's idempotency key is fixed when the job is created and
is carried by every attempt, so a retry never creates a second record downstream."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import jwt
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import SECRET_MARKER, parse_definition, strip_secrets, walk_fields
from madoguchi.core import crypto
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import MadoguchiError, PermissionDeniedError
from madoguchi.core.models import Municipality
from madoguchi.core.scope import Actor
from madoguchi.handoff.methods import BulkMethod, methods
from madoguchi.handoff.models import (
    HandoffAccessToken,
    HandoffAssertionJti,
    HandoffAttempt,
    HandoffBatch,
    HandoffClient,
    HandoffJob,
    HandoffTarget,
    JobState,
    Method,
)
from madoguchi.handoff.selectors import FILE_METHODS, export_marks, job_view

KEY_NAMESPACE = uuid.UUID("6f1d3c2e-6a59-5c1b-9a51-6d61646f6775")  # fixed forever: keys must not change
TOKEN_TTL = timedelta(minutes=10)
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = 30  # seconds
DEFAULT_STUCK_AFTER = timedelta(minutes=30)
PULL_MAX_LIMIT = 500
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# advisory lock between job creation (shared) and an export reading its high-water mark (exclusive)
JOB_CREATE_LOCK = 0x6D646768  # "mdgh"


class HandoffError(MadoguchiError):
    code = "handoff.error"
    default_message = "基幹システム連携の処理ができませんでした。"


class HandoffAuthError(MadoguchiError):
    """OAuth2 refusals; ``oauth_error`` is the RFC 6749 error code."""

    code = "handoff.auth"
    default_message = "認証に失敗しました。"

    def __init__(self, message: str, *, code: str, oauth_error: str = "invalid_client") -> None:
        super().__init__(message, code=code)
        self.oauth_error = oauth_error


# ------------------------------------------------------------------------------------- helpers
def handoff_key(*, municipality_code: str, target_code: str, reception_number: str) -> str:
    """The idempotency key of (application, target): deterministic, ASCII, the same on every attempt."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{municipality_code}/{target_code}/{reception_number}"))


def _audit(
    *,
    actor: Actor,
    action: str,
    municipality_code: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor.label,
        action=action,
        municipality_code=municipality_code,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
    )


def _attempt(job: HandoffJob, outcome: str, actor: Actor, at: datetime, detail: str = "") -> HandoffAttempt:
    return HandoffAttempt(
        job=job, number=job.attempts, at=at, outcome=outcome, actor_label=actor.label, detail=detail
    )


def _targets_for(application: Application) -> list[HandoffTarget]:
    targets = HandoffTarget.objects.filter(
        municipality_id=application.municipality_id, is_active=True
    ).filter(Q(procedures=application.procedure_id) | Q(procedures__isnull=True))
    return [t for t in targets.distinct() if application.status.code in t.statuses]


def _job_create_guard() -> None:
    """Held (shared) by a transaction that creates jobs, until it ends: an export takes it exclusively
    to read the highest job id, so no job with a smaller id can still be uncommitted (docs/handoff.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [JOB_CREATE_LOCK])


def _high_water() -> int:
    """The highest job id, read when every job up to it is committed (short transaction of its own)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [JOB_CREATE_LOCK])
        return int(HandoffJob.objects.aggregate(m=Max("id"))["m"] or 0)


def _lock_job(job: HandoffJob) -> HandoffJob:
    return (
        HandoffJob.objects.select_for_update(of=("self",))
        .select_related("target__municipality", "application__municipality")
        .get(pk=job.pk)
    )


def _require_roles(actor: Actor, job: HandoffJob, roles: set[str], what: str) -> None:
    if actor.is_system:
        return
    application = job.application
    if actor.municipality is None or actor.municipality.pk != application.municipality_id:
        raise PermissionDeniedError("この申請を操作する権限がありません。", code="permission.municipality")
    if not actor.can_see_department(application.department_id):
        raise PermissionDeniedError(
            "この申請の担当課ではないため操作できません。", code="permission.department"
        )
    if not actor.roles_for(application.department_id) & roles:
        raise PermissionDeniedError(f"「{what}」を行う権限がありません。", code="permission.role")


# ------------------------------------------------------------------------------------- enqueue
def handoff_enqueue_for(*, application: Application, actor: Actor) -> list[HandoffJob]:
    """Create the missing jobs of an application for every active target whose trigger statuses include
    its status (approved / completed by default). Idempotent: existing jobs are left alone."""
    now = timezone.now()
    with transaction.atomic():
        application = Application.objects.select_related("status", "municipality").get(pk=application.pk)
        targets = _targets_for(application)
        _job_create_guard()
        existing = set(HandoffJob.objects.filter(application=application).values_list("target_id", flat=True))
        created = []
        for target in targets:
            if target.pk in existing:
                continue
            job = HandoffJob.objects.create(
                application=application,
                target=target,
                method=target.method,
                idempotency_key=handoff_key(
                    municipality_code=application.municipality.code,
                    target_code=target.code,
                    reception_number=application.reception_number,
                ),
                created_at=now,
            )
            created.append(job)
        if created:
            _audit(
                actor=actor,
                action="handoff.enqueue",
                municipality_code=application.municipality.code,
                object_type="application",
                object_id=application.reception_number,
                detail={"targets": [j.target.code for j in created]},
            )
    return created


def handoff_scan(*, municipality: Municipality | None = None, chunk: int = 5000) -> int:
    """The safety net: jobs for every application in a trigger status that has none yet (a status change
    made without ``handoff_enqueue_for``). One transaction per target and chunk, each audited."""
    targets = HandoffTarget.objects.filter(is_active=True).select_related("municipality")
    if municipality is not None:
        targets = targets.filter(municipality=municipality)
    total = 0
    actor = Actor.system("handoff-scan")
    for target in targets:
        procedure_ids = list(target.procedures.values_list("id", flat=True))
        apps = Application.objects.filter(
            municipality_id=target.municipality_id, status__code__in=target.statuses
        )
        if procedure_ids:
            apps = apps.filter(procedure_id__in=procedure_ids)
        apps = apps.exclude(handoff_jobs__target=target).order_by("id")
        while True:
            rows = list(apps.values_list("id", "reception_number")[:chunk])
            if not rows:
                break
            now = timezone.now()
            with transaction.atomic():
                _job_create_guard()
                HandoffJob.objects.bulk_create(
                    [
                        HandoffJob(
                            application_id=app_id,
                            target=target,
                            method=target.method,
                            idempotency_key=handoff_key(
                                municipality_code=target.municipality.code,
                                target_code=target.code,
                                reception_number=number,
                            ),
                            created_at=now,
                        )
                        for app_id, number in rows
                    ],
                    ignore_conflicts=True,
                )
                _audit(
                    actor=actor,
                    action="handoff.scan",
                    municipality_code=target.municipality.code,
                    object_type="handoff_target",
                    object_id=target.code,
                    detail={"created": len(rows)},
                )
            total += len(rows)
    return total


# ------------------------------------------------------------------------------------- staff actions
def handoff_job_mark_done(*, job: HandoffJob, actor: Actor, note: str = "") -> HandoffJob:
    """方式1: the clerk has typed the application into the 基幹 system. Also confirms a file method's job
    (its file was imported). Pull jobs are finished only by the 基幹 system's ack."""
    now = timezone.now()
    with transaction.atomic():
        job = _lock_job(job)
        _require_roles(actor, job, {"clerk", "handler", "approver", "admin"}, "転記完了")
        if job.method == Method.PULL:
            raise HandoffError(
                "API連携は基幹システムの受領確認で完了になります。", code="handoff.pull_needs_ack"
            )
        allowed = (
            {JobState.PENDING, JobState.FAILED} if job.method == Method.TRANSCRIBE else {JobState.DELIVERED}
        )
        view = job_view(job, procedure_id=job.application.procedure_id)
        if view.state not in allowed:
            raise HandoffError(
                f"この連携は「{JobState(view.state).label}」のため完了にできません。", code="handoff.state"
            )
        # a file job exported by range: its file and deliveries are written down now (job_view)
        job.batch_id, job.attempts = view.batch_id, view.attempts
        if job.method == Method.TRANSCRIBE:
            job.attempts += 1
        job.state, job.finished_at, job.last_error = JobState.DONE, now, ""
        job.save(update_fields=["state", "finished_at", "last_error", "attempts", "batch"])
        _attempt(job, HandoffAttempt.Outcome.DONE, actor, now, note[:500]).save()
        _audit(
            actor=actor,
            action="handoff.done",
            municipality_code=job.target.municipality.code,
            object_type="handoff_job",
            object_id=job.idempotency_key,
            detail={"reception_number": job.application.reception_number, "target": job.target.code},
        )
    return job


def handoff_job_resend(*, job: HandoffJob, actor: Actor) -> HandoffJob:
    """A forced retry: back to 未連携 with the same idempotency key and a fresh retry budget. The next export
    includes the job again; the pull API offers it again. An acknowledged (done) API item is never re-sent."""
    now = timezone.now()
    with transaction.atomic():
        job = _lock_job(job)
        _require_roles(actor, job, {"handler", "admin"}, "再送")
        previous = job_view(job, procedure_id=job.application.procedure_id).state
        if previous == JobState.DONE and job.method in (Method.PULL, Method.TRANSCRIBE):
            raise HandoffError(
                "基幹システムへの連携は完了しています。再送すると二重登録になるため再送できません。",
                code="handoff.already_done",
            )
        if previous == JobState.PENDING:
            raise HandoffError("まだ連携されていません (次回の連携で送られます)。", code="handoff.not_sent")
        # a file job is inside an exported range: ``requeued`` puts it into the next file (same key)
        job.state, job.attempts, job.last_error, job.claimed_at, job.finished_at, job.requeued = (
            JobState.PENDING,
            0,
            "",
            None,
            None,
            job.method in FILE_METHODS,
        )
        job.save(update_fields=["state", "attempts", "last_error", "claimed_at", "finished_at", "requeued"])
        _attempt(job, HandoffAttempt.Outcome.RESEND, actor, now, f"from {previous}").save()
        _audit(
            actor=actor,
            action="handoff.resend",
            municipality_code=job.target.municipality.code,
            object_type="handoff_job",
            object_id=job.idempotency_key,
            detail={"from": previous, "reception_number": job.application.reception_number},
        )
    return job


# ------------------------------------------------------------------------------------- file methods
def handoff_batch_request(
    *,
    target: HandoffTarget,
    procedure: Procedure,
    actor: Actor,
    include_exported: bool = False,
    dispatch: bool = True,
) -> HandoffBatch:
    """Ask for an export file (方式2/方式4). With ``dispatch`` a Celery task (queue ``handoff``) builds
    it after commit; the CLI builds it in-process instead."""
    method = methods[target.method]
    if not method.file_based:
        raise HandoffError(
            f"連携先 {target.code} はファイル連携ではありません。", code="handoff.not_file_method"
        )
    if procedure.municipality_id != target.municipality_id or (
        target.procedures.exists() and not target.procedures.filter(pk=procedure.pk).exists()
    ):
        raise HandoffError(
            f"手続 {procedure.code} は連携先 {target.code} の対象ではありません。",
            code="handoff.procedure_not_covered",
        )
    problems = method.check_target(target)
    if problems:
        raise HandoffError("連携先の設定に誤りがあります: " + " / ".join(problems), code="handoff.config")
    with transaction.atomic():
        batch = HandoffBatch.objects.create(
            target=target,
            procedure=procedure,
            include_exported=include_exported,
            requested_by=actor.label,
            created_at=timezone.now(),
        )
        _audit(
            actor=actor,
            action="handoff.batch_request",
            municipality_code=target.municipality.code,
            object_type="handoff_batch",
            object_id=str(batch.pk),
            detail={"target": target.code, "procedure": procedure.code, "include_exported": include_exported},
        )
        if dispatch:
            from madoguchi.handoff.tasks import build_batch

            batch_id = batch.pk
            transaction.on_commit(lambda: build_batch.delay(batch_id))
    return batch


def batch_default_path(batch: HandoffBatch) -> Path:
    ext = methods[batch.target.method].file_extension(batch.target)
    return (
        Path(settings.DATA_DIR)
        / "handoff"
        / f"{batch.target.code}-{batch.procedure.code}-{batch.pk:08d}.{ext}"
    )


def handoff_batch_build(*, batch_id: int, out: str | Path | None = None) -> HandoffBatch:
    """Build one export file: claim the jobs, stream the rows, mark the batch ready — all in one
    transaction, so a crash marks nothing and claims nothing; the file appears (atomic rename) only with
    a complete trailer. The jobs carried are recorded as a job id range on the batch (``low_water``,
    ``high_water``), not on each job: a job is 出力済 once a ready batch covers it (``selectors.job_view``).
    Exported jobs are not exported again unless the batch asks for ``include_exported`` or a job was
    re-sent; a re-sent job carries the same idempotency key."""
    with transaction.atomic():
        batch = (
            HandoffBatch.objects.select_for_update(of=("self",))
            .select_related("target__municipality", "procedure")
            .get(pk=batch_id)
        )
        if batch.state != HandoffBatch.State.BUILDING:
            return batch
        batch.attempts += 1
        batch.started_at = timezone.now()
        batch.save(update_fields=["attempts", "started_at"])
    path = Path(out) if out is not None else batch_default_path(batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        high = _high_water()
        with transaction.atomic(), open(tmp, "wb") as fh:
            _claim_and_write(batch, fh, path, high)
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        _batch_failed_attempt(batch, exc)
        raise
    return HandoffBatch.objects.select_related("target", "procedure").get(pk=batch.pk)


def batch_jobs(batch: HandoffBatch) -> Q:
    """The jobs a claimed batch carries (the ORM twin of ``layout.batch_where``)."""
    q = Q(target_id=batch.target_id, application__procedure_id=batch.procedure_id, id__lte=batch.high_water)
    if batch.include_exported:
        return q & Q(state__in=[JobState.PENDING, JobState.DELIVERED, JobState.DONE])
    return q & (Q(batch_id=batch.pk) | Q(state=JobState.PENDING, requeued=False, id__gt=batch.low_water))


def _claim_and_write(batch: HandoffBatch, fh: IO[bytes], path: Path, high: int) -> int:
    target = batch.target
    now = timezone.now()
    # exports of one target are serialized (each starts at the mark the previous one left)
    HandoffTarget.objects.select_for_update().filter(pk=target.pk).first()
    mark = export_marks(target=target).get(batch.procedure_id, 0)
    batch.low_water = 0 if batch.include_exported else mark
    batch.high_water = max(high, mark)
    # the few re-sent jobs are re-pointed to this file (the only job rows an export writes);
    # one UPDATE ... FROM, table names from the models, values bound
    job_table, app_table = HandoffJob._meta.db_table, Application._meta.db_table
    query = (
        f"UPDATE {job_table} AS j SET state = %s, batch_id = %s, requeued = false, "  # noqa: S608
        f"attempts = j.attempts + 1, claimed_at = %s, finished_at = %s, last_error = '' FROM {app_table} a "
        f"WHERE a.id = j.application_id AND a.procedure_id = %s AND j.target_id = %s AND j.requeued "
        f"AND j.state = %s AND j.id <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            query,
            [
                JobState.DELIVERED,
                batch.pk,
                now,
                now,
                batch.procedure_id,
                target.pk,
                JobState.PENDING,
                batch.high_water,
            ],
        )
    batch.save(update_fields=["low_water", "high_water"])
    method = methods[target.method]
    jobs = (
        HandoffJob.objects.filter(batch_jobs(batch))
        .select_related("application__procedure", "application__form_version", "application__status")
        .order_by("id")
        .iterator(chunk_size=2000)
    )
    result = method.write(batch=batch, out=fh, jobs=jobs)
    rows = result.rows if result.rows >= 0 else HandoffJob.objects.filter(batch_jobs(batch)).count()
    if isinstance(method, BulkMethod):
        fh.write(method.trailer(target=target, rows=rows, checksum=result.checksum, batch=batch))
    batch.state, batch.rows, batch.checksum = HandoffBatch.State.READY, rows, result.checksum
    batch.finished_at, batch.path, batch.error = timezone.now(), str(path), ""
    batch.save(update_fields=["state", "rows", "checksum", "finished_at", "path", "error"])
    _audit(
        actor=Actor.system("handoff"),
        action="handoff.batch_ready",
        municipality_code=target.municipality.code,
        object_type="handoff_batch",
        object_id=str(batch.pk),
        detail={
            "target": target.code,
            "procedure": batch.procedure.code,
            "rows": rows,
            "sha256": result.checksum,
            "job_ids": [batch.low_water, batch.high_water],
        },
    )
    return rows


def _batch_failed_attempt(batch: HandoffBatch, exc: BaseException) -> None:
    with transaction.atomic():
        batch = (
            HandoffBatch.objects.select_for_update(of=("self",))
            .select_related("target__municipality")
            .get(pk=batch.pk)
        )
        batch.error = f"{type(exc).__name__}: {exc}"[:2000]
        if batch.attempts >= batch.target.max_attempts:
            batch.state = HandoffBatch.State.FAILED
        batch.save(update_fields=["error", "state"])
        _audit(
            actor=Actor.system("handoff"),
            action="handoff.batch_error",
            municipality_code=batch.target.municipality.code,
            object_type="handoff_batch",
            object_id=str(batch.pk),
            detail={"attempt": batch.attempts, "error": type(exc).__name__, "state": batch.state},
        )


# ------------------------------------------------------------------------------------- pull API (方式3)
@dataclass
class PullPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool


def _item(job: HandoffJob, *, include_mynumber: bool) -> dict[str, Any]:
    app = job.application
    definition = parse_definition(app.form_version.definition)
    data = dict(app.data) if include_mynumber else strip_secrets(definition, app.data)
    if include_mynumber:
        data = _reveal(definition, data)
    return {
        "idempotency_key": job.idempotency_key,
        "reception_number": app.reception_number,
        "procedure": app.procedure.code,
        "form_version": app.form_version.version,
        "status": app.status.code,
        "submitted_at": app.submitted_at.isoformat(),
        "applicant_name": app.applicant_name,
        "applicant_kana": app.applicant_kana,
        "delivery": job.attempts,
        "data": data,
    }


def _reveal(definition: Any, data: dict[str, Any]) -> dict[str, Any]:
    ids = {f.id for _, f, _ in walk_fields(definition) if f.type == "mynumber"}

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            if SECRET_MARKER in value and key in ids:
                return crypto.decrypt(value[SECRET_MARKER])
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return {k: walk(v, k) for k, v in data.items()}


def handoff_pull(*, client: HandoffClient, cursor: str | None, limit: int = 100) -> PullPage:
    """Items not yet acknowledged with id after ``cursor``, oldest first. At-least-once: an item handed
    out and not acked is offered again to a reader that starts over (cursor empty); an acked one never."""
    limit = max(1, min(limit, PULL_MAX_LIMIT))
    after = _decode_cursor(cursor)
    target = client.target
    actor = Actor.system(f"handoff-client:{client.client_id}")
    now = timezone.now()
    with transaction.atomic():
        jobs = list(
            HandoffJob.objects.select_for_update(of=("self",))
            .filter(target=target, state__in=[JobState.PENDING, JobState.IN_PROGRESS], id__gt=after)
            .select_related("application__procedure", "application__form_version", "application__status")
            .order_by("id")[: limit + 1]
        )
        has_more = len(jobs) > limit
        jobs = jobs[:limit]
        fresh = [j for j in jobs if j.state == JobState.PENDING]
        for j in fresh:
            j.state, j.attempts, j.claimed_at = JobState.IN_PROGRESS, j.attempts + 1, now
        HandoffJob.objects.bulk_update(fresh, ["state", "attempts", "claimed_at"])
        HandoffAttempt.objects.bulk_create(
            [_attempt(j, HandoffAttempt.Outcome.SENT, actor, now) for j in fresh]
        )
        items = [_item(j, include_mynumber=target.include_mynumber) for j in jobs]
        if jobs:
            _audit(
                actor=actor,
                action="handoff.pull.mynumber" if target.include_mynumber else "handoff.pull",
                municipality_code=target.municipality.code,
                object_type="handoff_target",
                object_id=target.code,
                detail={
                    "items": len(jobs),
                    "first": jobs[0].idempotency_key,
                    "last": jobs[-1].idempotency_key,
                    "reception_numbers": [j.application.reception_number for j in jobs][:500],
                },
            )
    next_cursor = _encode_cursor(jobs[-1].pk) if jobs else cursor
    return PullPage(items=items, next_cursor=next_cursor, has_more=has_more)


def _encode_cursor(job_id: int) -> str:
    return f"c{job_id:x}"


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        if not cursor.startswith("c"):
            raise ValueError
        return int(cursor[1:], 16)
    except ValueError:
        raise HandoffError("cursor の値が正しくありません。", code="handoff.cursor_invalid") from None


@dataclass
class AckResult:
    acked: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def handoff_ack(*, client: HandoffClient, keys: Iterable[str]) -> AckResult:
    """The 基幹 system has stored these items: they are done and never offered again. Acking twice is
    harmless (reported under ``already``)."""
    wanted = list(dict.fromkeys(k for k in keys if k))[:PULL_MAX_LIMIT]
    actor = Actor.system(f"handoff-client:{client.client_id}")
    now = timezone.now()
    result = AckResult()
    with transaction.atomic():
        jobs = {
            j.idempotency_key: j
            for j in HandoffJob.objects.select_for_update().filter(
                target=client.target, idempotency_key__in=wanted
            )
        }
        done = []
        for key in wanted:
            job = jobs.get(key)
            if job is None:
                result.unknown.append(key)
            elif job.state == JobState.DONE:
                result.already.append(key)
            else:
                job.state, job.finished_at, job.last_error = JobState.DONE, now, ""
                done.append(job)
                result.acked.append(key)
        HandoffJob.objects.bulk_update(done, ["state", "finished_at", "last_error"])
        HandoffAttempt.objects.bulk_create(
            [_attempt(j, HandoffAttempt.Outcome.ACKED, actor, now) for j in done]
        )
        if done:
            _audit(
                actor=actor,
                action="handoff.ack",
                municipality_code=client.target.municipality.code,
                object_type="handoff_target",
                object_id=client.target.code,
                detail={"acked": result.acked[:500], "count": len(result.acked)},
            )
    return result


# ------------------------------------------------------------------------------------- sweeper
@dataclass
class SweepResult:
    requeued: int = 0
    failed: int = 0
    batches_retried: list[int] = field(default_factory=list)
    batches_failed: int = 0
    purged: int = 0
    enqueued: int = 0


def handoff_sweep(
    *, stuck_after: timedelta = DEFAULT_STUCK_AFTER, now: datetime | None = None, scan: bool = True
) -> SweepResult:
    """Re-queue jobs handed out but not acknowledged within ``stuck_after`` (or give up after the target's
    ``max_attempts`` with state 失敗, visible to staff), retry stuck export batches, purge expired tokens
    and assertion ids, and (``scan``) create missing jobs for approved/completed applications."""
    now = now or timezone.now()
    limit = now - stuck_after
    actor = Actor.system("handoff-sweeper")
    result = SweepResult()
    with transaction.atomic():
        stuck = list(
            HandoffJob.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(state=JobState.IN_PROGRESS, claimed_at__lt=limit)
            .select_related("target__municipality")
            .order_by("id")[:5000]
        )
        attempts = []
        for job in stuck:
            if job.attempts >= job.target.max_attempts:
                job.state = JobState.FAILED
                job.last_error = (
                    f"受領確認がありません ({job.attempts}回送信)。再送するか基幹システムを確認してください。"
                )
                attempts.append(_attempt(job, HandoffAttempt.Outcome.FAILED, actor, now, job.last_error))
                result.failed += 1
            else:
                job.state = JobState.PENDING
                job.last_error = f"受領確認がありません ({job.attempts}回目)。再送待ちです。"
                attempts.append(_attempt(job, HandoffAttempt.Outcome.TIMEOUT, actor, now))
                result.requeued += 1
        HandoffJob.objects.bulk_update(stuck, ["state", "last_error"])
        HandoffAttempt.objects.bulk_create(attempts)
        by_municipality: dict[str, list[str]] = {}
        for job in stuck:
            by_municipality.setdefault(job.target.municipality.code, []).append(
                f"{job.idempotency_key}:{job.state}"
            )
        for code, keys in by_municipality.items():
            _audit(
                actor=actor,
                action="handoff.sweep",
                municipality_code=code,
                object_type="handoff_job",
                object_id="*",
                detail={"jobs": keys[:500], "count": len(keys)},
            )
    stuck_batches = (
        HandoffBatch.objects.filter(state=HandoffBatch.State.BUILDING)
        .filter(Q(started_at__lt=limit) | Q(started_at__isnull=True, created_at__lt=limit))
        .select_related("target__municipality")
    )
    for batch in stuck_batches:
        with transaction.atomic():
            if batch.attempts >= batch.target.max_attempts:
                HandoffBatch.objects.filter(pk=batch.pk).update(
                    state=HandoffBatch.State.FAILED, error=batch.error or "作成が完了しませんでした。"
                )
                result.batches_failed += 1
                _audit(
                    actor=actor,
                    action="handoff.batch_failed",
                    municipality_code=batch.target.municipality.code,
                    object_type="handoff_batch",
                    object_id=str(batch.pk),
                    detail={"attempts": batch.attempts},
                )
            else:
                from madoguchi.handoff.tasks import build_batch

                batch_id = batch.pk
                HandoffBatch.objects.filter(pk=batch.pk).update(started_at=None, created_at=now)
                transaction.on_commit(lambda b=batch_id: build_batch.delay(b))  # type: ignore[misc]
                result.batches_retried.append(batch_id)
    with transaction.atomic():
        result.purged = HandoffAccessToken.objects.filter(expires_at__lt=now).delete()[0]
        result.purged += HandoffAssertionJti.objects.filter(expires_at__lt=now).delete()[0]
    if scan:
        result.enqueued = handoff_scan()
    return result


# ------------------------------------------------------------------------------------- OAuth2 (RFC 7523)
def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def handoff_client_create(*, target: HandoffTarget, actor: Actor) -> tuple[HandoffClient, str]:
    """Register a 基幹 system's client for the pull API. The secret is returned once (give it to the
    vendor); it is stored encrypted because it is the HMAC key of the client's assertions."""
    if target.method != Method.PULL:
        raise HandoffError("クライアント登録は方式3 (取込) の連携先だけに行えます。", code="handoff.not_pull")
    secret = secrets.token_urlsafe(48)
    with transaction.atomic():
        client = HandoffClient.objects.create(
            target=target,
            client_id=f"mdg-{target.code}-{secrets.token_hex(6)}",
            secret_encrypted=crypto.encrypt(secret),
            created_at=timezone.now(),
        )
        _audit(
            actor=actor,
            action="handoff.client_create",
            municipality_code=target.municipality.code,
            object_type="handoff_client",
            object_id=client.client_id,
            detail={"target": target.code},
        )
    return client, secret


@dataclass
class IssuedToken:
    access_token: str
    expires_in: int


def handoff_token_issue(
    *, grant_type: str, assertion_type: str, assertion: str, audiences: list[str]
) -> IssuedToken:
    """OAuth2 client credentials with ``client_secret_jwt``: verify the HS256 assertion (iss = sub =
    client_id, aud = this token endpoint, exp within 5 minutes, a jti never seen) and issue a short-lived
    bearer token, of which only a SHA-256 hash is stored."""
    if grant_type != "client_credentials":
        raise HandoffAuthError(
            "grant_type は client_credentials のみ使えます。",
            code="handoff.auth.grant_type",
            oauth_error="unsupported_grant_type",
        )
    if assertion_type != ASSERTION_TYPE:
        raise HandoffAuthError(
            "client_assertion_type が正しくありません。",
            code="handoff.auth.assertion_type",
            oauth_error="invalid_request",
        )
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise HandoffAuthError("client_assertion を読み取れません。", code="handoff.auth.malformed") from None
    if header.get("alg") != "HS256":
        raise HandoffAuthError("署名方式は HS256 のみ使えます。", code="handoff.auth.alg")
    client_id = str(claims.get("iss", ""))
    client = (
        HandoffClient.objects.select_related("target__municipality")
        .filter(client_id=client_id, is_active=True, target__is_active=True)
        .first()
    )
    if client is None:
        raise HandoffAuthError("クライアントが登録されていません。", code="handoff.auth.unknown_client")
    try:
        verified = jwt.decode(
            assertion,
            crypto.decrypt(client.secret_encrypted),
            algorithms=["HS256"],
            audience=audiences,
            issuer=client_id,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise HandoffAuthError(
            "client_assertion の有効期限が切れています。", code="handoff.auth.expired"
        ) from None
    except jwt.InvalidAudienceError:
        raise HandoffAuthError(
            "client_assertion の aud がトークンエンドポイントと一致しません。", code="handoff.auth.audience"
        ) from None
    except jwt.InvalidSignatureError:
        raise HandoffAuthError(
            "client_assertion の署名を検証できません。", code="handoff.auth.signature"
        ) from None
    except jwt.PyJWTError as exc:
        raise HandoffAuthError(
            f"client_assertion が正しくありません ({type(exc).__name__})。", code="handoff.auth.invalid"
        ) from None
    if verified.get("sub") != client_id:
        raise HandoffAuthError(
            "client_assertion の sub は client_id と同じにしてください。", code="handoff.auth.subject"
        )
    now = timezone.now()
    expires = datetime.fromtimestamp(int(verified["exp"]), tz=now.tzinfo)
    if expires - now > MAX_ASSERTION_LIFETIME + timedelta(seconds=CLOCK_SKEW):
        raise HandoffAuthError(
            "client_assertion の有効期間が長すぎます (5分以内)。", code="handoff.auth.lifetime"
        )
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            HandoffAssertionJti.objects.create(
                client=client,
                jti=str(verified["jti"])[:200],
                expires_at=expires + timedelta(seconds=CLOCK_SKEW),
            )
            HandoffAccessToken.objects.create(
                client=client, token_hash=_hash_token(token), expires_at=now + TOKEN_TTL
            )
            _audit(
                actor=Actor.system(f"handoff-client:{client_id}"),
                action="handoff.token",
                municipality_code=client.target.municipality.code,
                object_type="handoff_client",
                object_id=client_id,
                detail={"jti": str(verified["jti"])[:200]},
            )
    except IntegrityError:
        raise HandoffAuthError(
            "この client_assertion (jti) は既に使われています。", code="handoff.auth.replayed"
        ) from None
    return IssuedToken(access_token=token, expires_in=int(TOKEN_TTL.total_seconds()))
