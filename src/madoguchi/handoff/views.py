"""Staff actions on hand-off jobs (the panel on the application page). Thin: actor, service, redirect."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from madoguchi.applications import selectors as app_selectors
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.scope import Actor
from madoguchi.handoff import selectors, services
from madoguchi.handoff.models import HandoffBatch, HandoffJob
from madoguchi.staff.views import staff_view


def _job(actor: Actor, pk: int, job_id: int) -> HandoffJob:
    application = app_selectors.application_detail(actor=actor, pk=pk)  # scope check
    job = HandoffJob.objects.filter(pk=job_id, application=application).select_related("application").first()
    if job is None:
        raise PermissionDeniedError("連携ジョブが見つかりません。", code="handoff.job_not_found")
    return job


@require_POST
@staff_view
def job_done(request: HttpRequest, actor: Actor, pk: int, job_id: int) -> HttpResponse:
    job = services.handoff_job_mark_done(
        job=_job(actor, pk, job_id), actor=actor, note=request.POST.get("note", "")
    )
    messages.success(request, f"「{job.target.name}」への連携を完了にしました。")
    return redirect("staff:detail", pk=pk)


@require_POST
@staff_view
def job_resend(request: HttpRequest, actor: Actor, pk: int, job_id: int) -> HttpResponse:
    job = services.handoff_job_resend(job=_job(actor, pk, job_id), actor=actor)
    messages.success(request, f"「{job.target.name}」へ再送します (連携キーは同じです)。")
    return redirect("staff:detail", pk=pk)


@require_POST
@staff_view
def enqueue(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    application = app_selectors.application_detail(actor=actor, pk=pk)
    if not actor.roles_for(application.department_id) & {"handler", "approver", "admin"}:
        raise PermissionDeniedError("連携を登録する権限がありません。", code="permission.role")
    jobs = services.handoff_enqueue_for(application=application, actor=actor)
    messages.success(
        request, f"連携先 {len(jobs)} 件を登録しました。" if jobs else "新たに登録する連携先はありません。"
    )
    return redirect("staff:detail", pk=pk)


@require_GET
@staff_view
def overview(request: HttpRequest, actor: Actor) -> HttpResponse:
    """基幹連携: the targets with their job counts, the latest export files and the failed jobs."""
    return render(
        request, "handoff/overview.html", {"actor": actor, **selectors.handoff_overview(actor=actor)}
    )


@require_GET
@staff_view
def batch_download(request: HttpRequest, actor: Actor, batch_id: int) -> FileResponse:
    """One ready export file, for a staff member who may see its target and procedure (audited)."""
    scope = selectors.handoff_scope(actor=actor)
    batch = (
        selectors.visible_batches(scope=scope)
        .select_related("target__municipality")
        .filter(pk=batch_id, state=HandoffBatch.State.READY)
        .first()
    )
    if batch is None or not batch.path:
        raise Http404("連携ファイルが見つかりません。")
    path = Path(batch.path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise Http404("連携ファイルが見つかりません。") from exc
    try:
        with transaction.atomic():
            audit_record(
                actor=actor.label,
                action="handoff.batch_download",
                municipality_code=batch.target.municipality.code,
                object_type="handoff_batch",
                object_id=batch.pk,
                detail={
                    "target": batch.target.code,
                    "procedure": batch.procedure.code,
                    "rows": batch.rows,
                    "sha256": batch.checksum,
                },
            )
    except BaseException:
        fh.close()
        raise
    response = FileResponse(fh, as_attachment=True, filename=path.name)
    response["Cache-Control"] = "private, no-store"
    return response
