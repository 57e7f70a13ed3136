"""/dx/plan/: the 工程表, the 標準化移行 tracker and マイナンバーカード交付率. Thin: the actor, a form,
a service or a selector, a template. Errors from services come back as messages (``dx_view``)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from madoguchi.applications.storage import blob_path
from madoguchi.core.csvexport import csv_stream, excel_safe
from madoguchi.core.errors import ValidationFailed
from madoguchi.core.jp.wareki import to_wareki
from madoguchi.core.scope import Actor
from madoguchi.dx.access import dx_view
from madoguchi.dxplan import selectors, services
from madoguchi.dxplan.catalog import BUSINESS_NAMES, PHASES
from madoguchi.dxplan.forms import CardRateForm, EvidenceForm, MilestoneForm, ProjectForm, TaskForm
from madoguchi.dxplan.models import MigrationEvidence


def _municipality(actor: Actor) -> Any:
    assert actor.municipality is not None  # dx_view admits only actors with a municipality
    return actor.municipality


def _valid(form: django_forms.Form) -> django_forms.Form:
    """A bound form's errors as one ValidationFailed (shown as a message after the redirect)."""
    if not form.is_valid():
        problems = "／".join(
            f"{form.fields[name].label if name in form.fields else ''}: {' '.join(str(e) for e in errs)}"
            for name, errs in form.errors.items()
        )
        raise ValidationFailed(problems, code="dxplan.form_invalid")
    return form


# --- 工程表 ---------------------------------------------------------------------------------------


@dx_view
def projects(request: HttpRequest, actor: Actor) -> HttpResponse:
    municipality = _municipality(actor)
    groups = selectors.projects_by_priority(municipality=municipality)
    return render(
        request, "dxplan/projects.html", {"actor": actor, "groups": groups, "today": timezone.localdate()}
    )


@dx_view
def project_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        form = _valid(ProjectForm(request.POST))
        project = services.project_save(actor=actor, fields=form.fields_value())  # type: ignore[attr-defined]
        messages.success(request, _("工程表に取組を追加しました。"))
        return redirect("dxplan:project", project.pk)
    today = timezone.localdate()
    form = ProjectForm(initial={"start_date": today, "end_date": date(today.year + 1, 3, 31)})
    return render(request, "dxplan/project_form.html", {"actor": actor, "form": form, "project": None})


@dx_view
def project(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """A project: its form, and its milestones (each form posts here with its ``action``, so an error
    comes back to this page)."""
    municipality = _municipality(actor)
    item = selectors.project_get(municipality=municipality, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "milestone_add":
            milestone = _valid(MilestoneForm(request.POST, prefix="milestone"))
            services.milestone_add(
                actor=actor,
                project=item,
                title=milestone.cleaned_data["title"],
                due_date=milestone.cleaned_data["due_date"],
            )
            messages.success(request, _("マイルストーンを追加しました。"))
        elif action == "milestone_done":
            services.milestone_set_done(
                actor=actor,
                milestone_id=int(request.POST.get("milestone", "0") or 0),
                done=request.POST.get("done") == "1",
            )
        else:
            form = _valid(ProjectForm(request.POST))
            services.project_save(
                actor=actor,
                project=item,
                fields=form.fields_value(),  # type: ignore[attr-defined]
                expected_version=form.cleaned_data["version"],
            )
            messages.success(request, _("取組を更新しました。"))
        return redirect("dxplan:project", pk)
    initial = {f: getattr(item, f) for f in ProjectForm.base_fields}
    return render(
        request,
        "dxplan/project_form.html",
        {
            "actor": actor,
            "project": item,
            "form": ProjectForm(initial=initial),
            "milestone_form": MilestoneForm(prefix="milestone"),
            "milestones": item.milestones.order_by("due_date", "id"),
            "today": timezone.localdate(),
        },
    )


@dx_view
def timeline(request: HttpRequest, actor: Actor) -> HttpResponse:
    today = timezone.localdate()
    chart = selectors.project_timeline(municipality=_municipality(actor), today=today)
    groups = selectors.projects_by_priority(municipality=_municipality(actor))
    return render(
        request, "dxplan/timeline.html", {"actor": actor, "chart": chart, "groups": groups, "today": today}
    )


# --- 標準化移行 tracker ----------------------------------------------------------------------------


@dx_view
def migration(request: HttpRequest, actor: Actor) -> HttpResponse:
    today = timezone.localdate()
    tracker = selectors.migration_tracker(municipality=_municipality(actor), today=today)
    return render(
        request,
        "dxplan/migration.html",
        {"actor": actor, "tracker": tracker, "phases": PHASES, "today": today},
    )


@dx_view
def migration_business(request: HttpRequest, actor: Actor, business: str) -> HttpResponse:
    if business not in BUSINESS_NAMES:
        raise Http404
    today = timezone.localdate()
    chart, cells = selectors.migration_business_gantt(
        municipality=_municipality(actor), business=business, today=today
    )
    return render(
        request,
        "dxplan/migration_business.html",
        {"actor": actor, "chart": chart, "cells": cells, "business_name": BUSINESS_NAMES[business]},
    )


@dx_view
def cell(request: HttpRequest, actor: Actor, business: str, item: int) -> HttpResponse:
    """One cell of the tracker: its form and its evidence files (both post here, told apart by ``action``)."""
    municipality = _municipality(actor)
    today = timezone.localdate()
    if request.method == "POST" and request.POST.get("action") == "evidence":
        upload = _valid(EvidenceForm(request.POST, request.FILES)).cleaned_data["file"]
        services.migration_evidence_add(
            actor=actor,
            business=business,
            item=item,
            content=upload.read(),
            filename=upload.name,
            declared_mime=upload.content_type,
        )
        messages.success(request, _("証跡ファイルを登録しました。"))
        return redirect("dxplan:cell", business, item)
    if request.method == "POST":
        form = _valid(TaskForm(request.POST))
        services.migration_task_update(
            actor=actor,
            business=business,
            item=item,
            fields=form.fields_value(),  # type: ignore[attr-defined]
            expected_version=form.cleaned_data["version"],
        )
        messages.success(request, _("作業の状況を保存しました。"))
        return redirect(f"{reverse('dxplan:migration')}#cell-{business}-{item}")
    current, evidence = selectors.migration_cell(
        municipality=municipality, business=business, item=item, today=today
    )
    initial = {
        f: getattr(current, f)
        for f in ("status", "planned_start", "planned_end", "actual_start", "actual_end", "note", "version")
    }
    return render(
        request,
        "dxplan/cell.html",
        {
            "actor": actor,
            "cell": current,
            "form": TaskForm(initial=initial),
            "evidence_form": EvidenceForm(),
            "evidence": evidence,
        },
    )


@dx_view
def evidence_file(request: HttpRequest, actor: Actor, evidence_id: int) -> FileResponse:
    item = (
        MigrationEvidence.objects.select_related("blob")
        .filter(pk=evidence_id, task__municipality=_municipality(actor))
        .first()
    )
    if item is None:
        raise Http404
    response = FileResponse(
        blob_path(item.blob_id).open("rb"),
        content_type=item.blob.mime,
        as_attachment=True,
        filename=item.filename,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _export_cell(value: object) -> str:
    if isinstance(value, date):
        return to_wareki(value)
    return "" if value is None else str(value)


@dx_view
def migration_export(request: HttpRequest, actor: Actor, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The tracker for the prefecture's survey: ``xlsx`` (a matrix sheet and a detail sheet) or ``csv``."""
    municipality = _municipality(actor)
    today = timezone.localdate()
    services.migration_export_record(actor=actor, fmt=fmt)
    rows = selectors.migration_export_rows(municipality=municipality, today=today)
    stamp = today.strftime("%Y%m%d")
    response: HttpResponse | StreamingHttpResponse
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_stream(selectors.EXPORT_HEADER, ([_export_cell(v) for v in r] for r in rows)),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"標準化移行-{municipality.code}-{stamp}.csv"
    else:
        content = _xlsx(municipality=municipality, today=today, rows=list(rows))
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        filename = f"標準化移行-{municipality.code}-{stamp}.xlsx"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["Cache-Control"] = "private, no-store"
    return response


def _xlsx(*, municipality: Any, today: date, rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    tracker = selectors.migration_tracker(municipality=municipality, today=today)
    wb = Workbook()
    matrix = wb.active
    assert matrix is not None
    matrix.title = "進捗一覧"
    matrix.append([f"{municipality} 標準化・共通化 作業状況 ({to_wareki(today)}現在)"])
    matrix.append(["業務", *[label for _, label, _ in tracker.items], "完了率(%)"])
    for row in tracker.rows:
        matrix.append([row.name, *[c.status_label for c in row.cells], row.percent])
    matrix.append([])
    matrix.append(["フェーズ", "未着手", "着手", "完了", "対象外", "完了率(%)"])
    for p in tracker.phases:
        matrix.append([p.name, *[n for _, n in p.rows], p.percent])
    matrix["A1"].font = Font(bold=True)
    for cell in matrix[2]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(bold=True)
    matrix.column_dimensions["A"].width = 18
    detail = wb.create_sheet("作業明細")
    detail.append(selectors.EXPORT_HEADER)
    for r in rows:  # a note typed as "=…" must stay text: openpyxl would write it as a formula
        detail.append([excel_safe(v) if isinstance(v, str) else v for v in r])
    for col in "EFGH":
        for c in detail[col][1:]:
            c.number_format = "yyyy/mm/dd"
    detail.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- マイナンバーカード交付率 ---------------------------------------------------------------------


@dx_view
def cardrate(request: HttpRequest, actor: Actor) -> HttpResponse:
    municipality = _municipality(actor)
    if request.method == "POST":
        form = _valid(CardRateForm(request.POST, request.FILES))
        upload = form.cleaned_data["file"]
        try:
            outcome = services.cardrate_import(
                actor=actor, content=upload.read(), filename=upload.name, as_of=form.cleaned_data["as_of"]
            )
        except ValidationFailed as exc:
            return render(
                request,
                "dxplan/cardrate.html",
                _cardrate_context(actor, municipality) | {"import_error": exc, "form": form},
                status=400,
            )
        if outcome.created:
            messages.success(
                request,
                _("%(date)s 現在の表を取り込みました (%(rows)s 行)。")
                % {"date": to_wareki(outcome.record.as_of), "rows": outcome.record.row_count},
            )
        else:
            messages.info(request, _("同じファイルは取込済みです。何も変更していません。"))
        return redirect("dxplan:cardrate")
    return render(
        request, "dxplan/cardrate.html", _cardrate_context(actor, municipality) | {"form": CardRateForm()}
    )


def _cardrate_context(actor: Actor, municipality: Any) -> dict[str, Any]:
    positions = selectors.cardrate_positions(municipality=municipality)
    return {
        "actor": actor,
        "positions": positions,
        "latest": next((p for p in reversed(positions) if p.row), None),
        "chart": selectors.cardrate_trend(municipality=municipality, positions=positions),
        "imports": selectors.cardrate_imports(municipality=municipality),
        "prefecture_position": selectors.cardrate_prefecture_position(municipality=municipality),
    }


@dx_view
def cardrate_table(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    municipality = _municipality(actor)
    source = selectors.cardrate_import_get(municipality=municipality, pk=pk)
    prefecture = request.GET.get("prefecture", "")
    rows = selectors.cardrate_ranking(source=source, prefecture=prefecture)
    return render(
        request,
        "dxplan/cardrate_table.html",
        {
            "actor": actor,
            "source": source,
            "rows": rows,
            "prefecture": prefecture,
            "prefectures": selectors.cardrate_prefectures(source=source),
            "own_prefecture": municipality.prefecture,
            "own_name": municipality.name,
            "own_code": municipality.code,
        },
    )
