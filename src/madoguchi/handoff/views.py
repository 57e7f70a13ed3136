"""Staff actions on hand-off jobs (the panel on the application page). Thin: actor, service, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from madoguchi.applications import selectors as app_selectors
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.scope import Actor
from madoguchi.handoff import services
from madoguchi.handoff.models import HandoffJob
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
