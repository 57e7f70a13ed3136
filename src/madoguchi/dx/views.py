"""/dx/: the DX推進課's pages. Thin: the actor, a selector or a service, a template."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from madoguchi.catalog.models import Department, Procedure
from madoguchi.core.errors import ValidationFailed
from madoguchi.core.scope import Actor
from madoguchi.dx import charts, selectors, services
from madoguchi.dx.access import dx_view
from madoguchi.dx.models import ActionStatus, Kpi, KpiAction, Measure, OodaEntry


def _date(value: str, *, label: str, code: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"{label}を YYYY-MM-DD の形で入力してください。", code=code) from None


@dx_view
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    assert actor.municipality is not None
    board = selectors.dashboard(actor.municipality)
    online = [(m, board.overall[m].online_rate if m in board.overall else None) for m in board.months]
    days = [(m, board.overall[m].median_days if m in board.overall else None) for m in board.months]
    from madoguchi.dxplan.selectors import dxplan_summary

    return render(
        request,
        "dx/dashboard.html",
        {
            "actor": actor,
            "board": board,
            "plan": dxplan_summary(municipality=actor.municipality, today=timezone.localdate()),
            "online_rows": [(m, board.overall.get(m)) for m in board.months],
            "online_chart": charts.line_chart(
                online, title="オンライン申請率（月別・%）", unit="%", y_max=100
            ),
            "days_chart": charts.line_chart(days, title="処理日数の中央値（月別・開庁日）", unit="日"),
            "kpi_charts": [
                (
                    check,
                    charts.line_chart(
                        check.series, title=check.kpi.name, unit=check.kpi.unit, target=check.kpi.target
                    ),
                )
                for check in board.checks
            ],
        },
    )


@require_POST
@dx_view
def refresh(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    assert actor.municipality is not None
    result = services.kpi_refresh(municipality=actor.municipality)
    messages.success(
        request, f"最新のデータで集計し直しました（{result.rows} 件、{result.seconds:.1f} 秒）。"
    )
    return redirect("dx:dashboard")


@dx_view
def kpis(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    assert actor.municipality is not None
    if request.method == "POST":
        p = request.POST
        kpi = services.kpi_create(
            actor=actor,
            name=p.get("name", ""),
            measure=p.get("measure", ""),
            target=p.get("target"),
            baseline=p.get("baseline"),
            period_start=_date(p.get("period_start", ""), label="期間の開始", code="dx.kpi_period"),
            period_end=_date(p.get("period_end", ""), label="期間の終了", code="dx.kpi_period"),
            procedure_id=_pk(p.get("procedure"), Procedure, actor),
            department_id=_pk(p.get("department"), Department, actor),
            owner=p.get("owner", ""),
        )
        messages.success(request, f"KPI「{kpi.name}」を登録しました。")
        return redirect("dx:kpi", pk=kpi.pk)
    today = timezone.localdate()
    fy = selectors.fiscal_year_of(today)
    return render(
        request,
        "dx/kpis.html",
        {
            "actor": actor,
            "checks": [selectors.kpi_check(k) for k in selectors.kpis_for(actor.municipality)],
            "measures": Measure.choices,
            "procedures": Procedure.objects.filter(municipality=actor.municipality).order_by(
                "department", "name"
            ),
            "departments": Department.objects.filter(municipality=actor.municipality).order_by("name"),
            "default_start": date(fy, 4, 1),
            "default_end": date(fy + 1, 3, 31),
        },
    )


def _pk(value: str | None, model: type[Procedure] | type[Department], actor: Actor) -> int | None:
    if not value:
        return None
    obj = model.objects.filter(pk=value, municipality=actor.municipality).first() if value.isdigit() else None
    if obj is None:
        raise ValidationFailed("選んだ手続・担当課が見つかりません。", code="dx.kpi_scope")
    return int(obj.pk)


def _projects(actor: Actor) -> Any:
    from madoguchi.dxplan.models import Project

    return Project.objects.filter(municipality=actor.municipality)


def _kpi(actor: Actor, pk: int) -> Kpi:
    kpi = (
        Kpi.objects.select_related("procedure", "department", "previous")
        .filter(pk=pk, municipality=actor.municipality)
        .first()
    )
    if kpi is None:
        raise Http404
    return kpi


@dx_view
def kpi(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    k = _kpi(actor, pk)
    check = selectors.kpi_check(k)
    return render(
        request,
        "dx/kpi.html",
        {
            "actor": actor,
            "check": check,
            "chart": charts.line_chart(check.series, title=k.name, unit=k.unit, target=k.target),
            "actions": k.actions.order_by("due", "pk"),
            "decisions": k.decisions.select_related("next_kpi").order_by("-decided_on", "-pk"),
            "statuses": ActionStatus.choices,
            "next_cycles": k.next_cycles.order_by("period_start"),
            "projects": k.projects.order_by("start_date"),
            "other_projects": _projects(actor).exclude(kpis=k).order_by("priority", "start_date"),
            "today": timezone.localdate(),
        },
    )


@require_POST
@dx_view
def kpi_post(request: HttpRequest, actor: Actor, pk: int, what: str) -> HttpResponseBase:
    k = _kpi(actor, pk)
    p = request.POST
    if what == "action":
        due = _date(p["due"], label="期限", code="dx.action_due") if p.get("due") else None
        services.kpi_action_add(
            actor=actor, kpi=k, title=p.get("title", ""), owner=p.get("owner", ""), due=due
        )
        messages.success(request, "取組を追加しました。")
    elif what == "action-status":
        action = KpiAction.objects.filter(pk=p.get("action") or 0, kpi=k).first()
        if action is None:
            raise Http404
        services.kpi_action_status(actor=actor, action=action, status=p.get("status", ""))
        messages.success(request, "取組の状況を更新しました。")
    elif what == "project":
        project = p.get("project", "")
        services.kpi_project_link(
            actor=actor,
            kpi=k,
            project_id=int(project) if project.isdigit() else 0,
            linked=p.get("link") != "0",
        )
        messages.success(request, "工程表の取組との関連を更新しました。")
    elif what == "value":
        month = _date(
            p.get("month", "") + "-01" if len(p.get("month", "")) == 7 else p.get("month", ""),
            label="月",
            code="dx.manual_month",
        )
        services.kpi_manual_value_set(
            actor=actor, kpi=k, month=month, value=p.get("value"), note=p.get("note", "")
        )
        messages.success(request, "実績値を記録しました。")
    elif what == "decision":
        next_period = None
        if p.get("next_target"):
            next_period = (
                _date(p.get("next_start", ""), label="次の期間の開始", code="dx.kpi_period"),
                _date(p.get("next_end", ""), label="次の期間の終了", code="dx.kpi_period"),
            )
        decision = services.kpi_decide(
            actor=actor,
            kpi=k,
            decided_on=_date(p.get("decided_on", ""), label="決定日", code="dx.decision_date"),
            decision=p.get("decision", ""),
            decided_by=p.get("decided_by", ""),
            next_target=p.get("next_target"),
            next_period=next_period,
        )
        messages.success(
            request, "決定を記録しました。" + ("次の期間の KPI を作りました。" if decision.next_kpi else "")
        )
        if decision.next_kpi:
            return redirect("dx:kpi", pk=decision.next_kpi.pk)
    else:
        raise Http404
    return redirect("dx:kpi", pk=k.pk)


@dx_view
def ooda(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    if request.method == "POST":
        p = request.POST
        services.ooda_record(
            actor=actor,
            noted_on=_date(p.get("noted_on", ""), label="日付", code="dx.ooda_date"),
            observe=p.get("observe", ""),
            orient=p.get("orient", ""),
            decide=p.get("decide", ""),
            act=p.get("act", ""),
        )
        messages.success(request, "記録しました。")
        return redirect("dx:ooda")
    entries = OodaEntry.objects.filter(municipality=actor.municipality).select_related("recorded_by")[:100]
    return render(
        request, "dx/ooda.html", {"actor": actor, "entries": entries, "today": timezone.localdate()}
    )


@dx_view
def opendata(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    """Choose what to publish; preview the first rows exactly as they will be served."""
    from madoguchi.dx import opendata as od
    from madoguchi.dx.models import Dataset, DatasetKind

    if request.method == "POST":
        p = request.POST
        dataset = services.dataset_publish(
            actor=actor,
            kind=p.get("kind", ""),
            publish=p.get("publish") == "1",
            title=p.get("title", ""),
            description=p.get("description", ""),
        )
        messages.success(
            request, f"「{dataset.title}」を{'公開しました' if dataset.published else '非公開にしました'}。"
        )
        return redirect("dx:opendata")
    existing = {d.kind: d for d in Dataset.objects.filter(municipality=actor.municipality)}
    kinds = []
    for kind, label in DatasetKind.choices:
        dataset = existing.get(kind) or Dataset(municipality=actor.municipality, kind=kind, title=str(label))
        preview = [row for _, row in zip(range(5), od.rows(dataset), strict=False)]
        kinds.append(
            {"kind": kind, "label": label, "dataset": dataset, "header": od.COLUMNS[kind], "preview": preview}
        )
    return render(
        request, "dx/opendata.html", {"actor": actor, "kinds": kinds, "suppress_below": od.SUPPRESS_BELOW}
    )


@dx_view
def bpr(request: HttpRequest, actor: Actor) -> HttpResponse:
    """As-Is flow of one procedure from its status history; before/after a change date."""
    from madoguchi.dx.bpr import procedure_flow

    procedures = (
        Procedure.objects.filter(municipality=actor.municipality).select_related("workflow").order_by("name")
    )
    code = request.GET.get("procedure", "")
    procedure = procedures.filter(code=code).first() if code else None
    change_text = request.GET.get("change", "").strip()
    change = _date(change_text, label="変更日", code="dx.bpr_change") if change_text else None
    context: dict[str, object] = {
        "actor": actor,
        "procedures": procedures,
        "procedure": procedure,
        "change": change,
    }
    if procedure is not None:
        flow = procedure_flow(procedure)
        context["flow"] = flow
        context["max_days"] = max([s.median_days or 0 for s in flow.steps] + [1])
        if change is not None:
            context["before"] = procedure_flow(procedure, until=change)
            context["after"] = procedure_flow(procedure, since=change)
    return render(request, "dx/bpr.html", context)


@dx_view
def report(request: HttpRequest, actor: Actor, fmt: str) -> HttpResponse:
    """The KPI report for the 庁議 (PDF or Excel)."""
    from django.utils.http import content_disposition_header

    from madoguchi.dx.report import report_pdf, report_xlsx

    assert actor.municipality is not None
    stamp = timezone.localdate().strftime("%Y%m%d")
    if fmt == "pdf":
        response = HttpResponse(report_pdf(municipality=actor.municipality), content_type="application/pdf")
    elif fmt == "xlsx":
        response = HttpResponse(
            report_xlsx(municipality=actor.municipality),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=fmt == "xlsx", filename=f"KPI報告-{stamp}.{fmt}")
        or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    return response
