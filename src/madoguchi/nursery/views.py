"""/staff/nursery/: 保育課's 利用調整 — upload, validation report, the run as a job with progress,
results with ボーダー and fill per facility, why-not per child, comparison of two runs, export."""

from __future__ import annotations

import csv
import io as stdio
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header

from madoguchi.core.scope import Actor
from madoguchi.nursery import io, services
from madoguchi.nursery.explain import borders, why
from madoguchi.nursery.instance import NurseryInputError
from madoguchi.nursery.models import MatchingRun, RunStatus
from madoguchi.nursery.solvers import solvers
from madoguchi.staff.views import staff_view

SOLVER_LABELS = {
    "exact": "厳密解（安定で、内定が最も多い）",
    "stable": "安定マッチング（高速）",
    "rule": "指数優先（これまでの手作業の手順）",
}


def _runs(actor: Actor) -> Any:
    services.require_hoiku(actor)
    return MatchingRun.objects.filter(municipality=actor.municipality)


def _run(actor: Actor, pk: int) -> MatchingRun:
    run = _runs(actor).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def _upload(request: HttpRequest, name: str) -> services.Upload | None:
    f = request.FILES.get(name)
    return services.Upload(f.name or f"{name}.csv", f.read()) if f else None


@staff_view
def index(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    runs = _runs(actor)
    problems: list[Any] = []
    if request.method == "POST":
        children, facilities = _upload(request, "children"), _upload(request, "facilities")
        if children is None or facilities is None:
            messages.error(
                request, "申込者データと保育所データの両方を選んでください。（nursery.file_missing）"
            )
            return redirect("nursery:index")
        limit_text = request.POST.get("time_limit") or "300"
        try:
            run = services.run_create(
                actor=actor,
                name=request.POST.get("name", ""),
                children=children,
                facilities=facilities,
                combinations=_upload(request, "combinations"),
                solver=request.POST.get("solver", "exact"),
                time_limit=int(limit_text) if limit_text.isdigit() else 0,  # 0: the service says why
            )
        except NurseryInputError as exc:
            problems = list(exc.problems)
        else:
            messages.success(request, f"「{run.name}」を受け付けました。選考を実行しています。")
            return redirect("nursery:run", pk=run.pk)
    return render(
        request,
        "nursery/index.html",
        {
            "actor": actor,
            "runs": runs.select_related("created_by")[:50],
            "problems": problems,
            "solvers": [(key, label) for key, label in SOLVER_LABELS.items() if key in solvers],
        },
    )


@staff_view
def run(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    r = _run(actor, pk)
    context: dict[str, Any] = {"actor": actor, "run": r}
    if r.status == RunStatus.DONE:
        instance = services.run_instance(r)
        table = borders(instance, r.assignment)
        context["borders"] = table
        query = request.GET.get("child", "").strip()
        if query:
            child = instance.child_by_id.get(query)
            context["child_query"] = query
            context["child"] = child
            context["reasons"] = why(instance, r.assignment, child, table) if child else None
        other_id = request.GET.get("compare", "")
        context["others"] = _runs(actor).filter(status=RunStatus.DONE).exclude(pk=r.pk)[:20]
        if other_id.isdigit():
            other = _run(actor, int(other_id))
            names = {f.id: f.name for f in instance.facilities}
            moved = [
                (
                    cid,
                    names.get(other.assignment.get(cid) or "", "保留"),
                    names.get(r.assignment.get(cid) or "", "保留"),
                )
                for cid in sorted(instance.child_by_id)
                if other.assignment.get(cid) != r.assignment.get(cid)
            ]
            context["compare"] = {"other": other, "moved": moved[:500], "count": len(moved)}
    return render(request, "nursery/run.html", context)


@staff_view
def run_status(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """The progress fragment htmx polls; when the run has ended the page reloads itself."""
    r = _run(actor, pk)
    response = render(request, "nursery/_progress.html", {"run": r})
    if r.status in (RunStatus.DONE, RunStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response


@staff_view
def export(request: HttpRequest, actor: Actor, pk: int, fmt: str) -> HttpResponse:
    r = _run(actor, pk)
    if r.status != RunStatus.DONE or fmt not in ("csv", "xlsx"):
        raise Http404
    instance = services.run_instance(r)
    from madoguchi.nursery.result import Result, make_stats

    result = Result(r.solver, dict(r.assignment), make_stats(instance, r.assignment, 0.0))
    if fmt == "csv":
        header, rows = io.result_rows(instance, result)
        buffer = stdio.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        body = buffer.getvalue().encode("utf-8-sig")
        content_type = "text/csv; charset=utf-8"
    else:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "result.xlsx"
            io.write_result_xlsx(instance, result, path, r.summary)
            body = path.read_bytes()
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=f"入所選考結果-{r.pk}.{fmt}") or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view
def notices(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """The 内定/保留 notice of one household (``?household=``) as PDF, to print and post."""
    from django.utils import timezone

    from madoguchi.nursery.notices import notices_pdf

    r = _run(actor, pk)
    if r.status != RunStatus.DONE:
        raise Http404
    instance = services.run_instance(r)
    household = request.GET.get("household", "")
    if household not in instance.households:
        raise Http404
    assert actor.municipality is not None
    pdf = notices_pdf(
        instance=instance,
        assignment=r.assignment,
        households=[household],
        round_name=r.name,
        municipality=f"{actor.municipality.prefecture}{actor.municipality.name}",
        today=timezone.localdate(),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=False, filename=f"利用調整結果通知書-{household}.pdf")
        or "inline"
    )
    response["Cache-Control"] = "private, no-store"
    return response
