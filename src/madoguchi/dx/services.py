"""DX推進 writes: the KPI refresh, KPIs (Plan), actions (Do), manual values, decisions (Act), OODA.

Keyword-only, one transaction per change, an audit row in the same transaction (STYLE.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from madoguchi.core.audit import audit_record
from madoguchi.core.bulkcopy import rows_insert
from madoguchi.core.errors import ValidationFailed
from madoguchi.core.models import Municipality
from madoguchi.core.scope import Actor
from madoguchi.dx import refresh
from madoguchi.dx.access import require_dx
from madoguchi.dx.models import (
    ActionStatus,
    BusinessDay,
    CounterMonth,
    Dataset,
    DatasetKind,
    Kpi,
    KpiAction,
    KpiDecision,
    KpiManualValue,
    Measure,
    OodaEntry,
    ProcedureMonth,
    RefreshRun,
)


@dataclass(frozen=True)
class RefreshResult:
    municipality: str
    rows: int
    seconds: float


def kpi_refresh(*, municipality: Municipality) -> RefreshResult:
    """Rebuild the municipality's aggregates in one transaction (pages keep reading the previous ones
    until it commits). Derived data only, so no audit row: each run is logged as a ``RefreshRun``."""
    started = timezone.now()
    t0 = time.perf_counter()
    start, end = refresh.calendar_range(municipality)
    with transaction.atomic():
        BusinessDay.objects.filter(municipality=municipality).delete()
        rows_insert(BusinessDay, refresh.calendar_rows(municipality, start, end))
        ProcedureMonth.objects.filter(municipality=municipality).delete()
        CounterMonth.objects.filter(municipality=municipality).delete()
        if connection.vendor == "postgresql":
            rows = refresh.rebuild_postgresql(municipality, start=start, end=end)
        else:
            rows = refresh.rebuild_python(municipality)
        seconds = time.perf_counter() - t0
        RefreshRun.objects.create(municipality=municipality, started_at=started, seconds=seconds, rows=rows)
    return RefreshResult(municipality.code, rows, seconds)


# ----------------------------------------------------------------------------------------------- Plan
def _parse_float(value: Any, *, label: str, code: str, required: bool = True) -> float | None:
    text = str(value if value is not None else "").strip().replace(",", "").replace("％", "").replace("%", "")
    text = text.translate(str.maketrans("０１２３４５６７８９．－", "0123456789.-"))
    if not text:
        if required:
            raise ValidationFailed(f"{label}を入力してください。", code=code)
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(f"{label}は数値で入力してください（例: 50）。", code=code) from None


def kpi_create(
    *,
    actor: Actor,
    name: str,
    measure: str,
    target: Any,
    period_start: date,
    period_end: date,
    procedure_id: int | None = None,
    department_id: int | None = None,
    baseline: Any = None,
    owner: str = "",
    unit: str = "",
    higher_is_better: bool | None = None,
    previous: Kpi | None = None,
) -> Kpi:
    require_dx(actor)
    assert actor.municipality is not None
    name = name.strip()
    if not name:
        raise ValidationFailed("KPI名を入力してください。", code="dx.kpi_name")
    if measure not in Measure.values:
        raise ValidationFailed("指標を選んでください。", code="dx.kpi_measure")
    if period_end < period_start:
        raise ValidationFailed("期間の終了は開始より後にしてください。", code="dx.kpi_period")
    target_value = _parse_float(target, label="目標値", code="dx.kpi_target")
    assert target_value is not None  # required
    baseline_value = _parse_float(baseline, label="基準値", code="dx.kpi_baseline", required=False)
    if higher_is_better is None:
        higher_is_better = measure not in {
            Measure.MEDIAN_DAYS,
            Measure.CORRECTION_RATE,
            Measure.WITHDRAWAL_RATE,
            Measure.COUNTER_WAIT,
            Measure.HANDOFF_FAILURE_RATE,
        }
    default_unit = {Measure.MEDIAN_DAYS: "開庁日", Measure.COUNTER_WAIT: "分", Measure.MANUAL: ""}.get(
        Measure(measure), "%"
    )
    with transaction.atomic():
        kpi = Kpi.objects.create(
            municipality=actor.municipality,
            name=name[:120],
            measure=measure,
            target=target_value,
            baseline=baseline_value,
            period_start=period_start,
            period_end=period_end,
            procedure_id=procedure_id,
            department_id=department_id,
            owner=owner.strip()[:60],
            unit=(unit or default_unit)[:20],
            higher_is_better=higher_is_better,
            previous=previous,
        )
        _audit(actor, "dx.kpi_created", kpi, {"measure": measure, "target": target_value})
    return kpi


def _audit(actor: Actor, action: str, kpi: Kpi | None, detail: dict[str, Any]) -> None:
    assert actor.municipality is not None
    audit_record(
        actor=actor.label,
        action=action,
        municipality_code=actor.municipality.code,
        object_type="kpi" if kpi else "dx",
        object_id=kpi.pk if kpi else "",
        detail=detail,
    )


def _own(actor: Actor, kpi: Kpi) -> None:
    require_dx(actor)
    assert actor.municipality is not None
    if kpi.municipality_id != actor.municipality.pk:
        from madoguchi.core.errors import PermissionDeniedError

        raise PermissionDeniedError()


# ------------------------------------------------------------------------------------------------- Do
def kpi_action_add(
    *, actor: Actor, kpi: Kpi, title: str, owner: str = "", due: date | None = None
) -> KpiAction:
    _own(actor, kpi)
    if not title.strip():
        raise ValidationFailed("取組の内容を入力してください。", code="dx.action_title")
    with transaction.atomic():
        action = KpiAction.objects.create(
            kpi=kpi, title=title.strip()[:200], owner=owner.strip()[:60], due=due
        )
        _audit(actor, "dx.action_added", kpi, {"action": action.pk})
    return action


def kpi_project_link(*, actor: Actor, kpi: Kpi, project_id: int, linked: bool = True) -> Kpi:
    """Link (or unlink) a 工程表 project to the KPI: the Do of its cycle."""
    from madoguchi.dxplan.models import Project

    _own(actor, kpi)
    project = Project.objects.filter(pk=project_id, municipality_id=kpi.municipality_id).first()
    if project is None:
        raise ValidationFailed("その取組は工程表にありません。", code="dx.project_unknown")
    with transaction.atomic():
        if linked:
            kpi.projects.add(project)
        else:
            kpi.projects.remove(project)
        _audit(actor, "dx.project_linked" if linked else "dx.project_unlinked", kpi, {"project": project.pk})
    return kpi


def kpi_action_status(*, actor: Actor, action: KpiAction, status: str) -> KpiAction:
    _own(actor, action.kpi)
    if status not in ActionStatus.values:
        raise ValidationFailed("状況を選んでください。", code="dx.action_status")
    with transaction.atomic():
        action.status = status
        action.save(update_fields=["status"])
        _audit(actor, "dx.action_status", action.kpi, {"action": action.pk, "status": status})
    return action


def kpi_manual_value_set(
    *, actor: Actor, kpi: Kpi, month: date, value: Any, note: str = ""
) -> KpiManualValue:
    _own(actor, kpi)
    if kpi.measure != Measure.MANUAL:
        raise ValidationFailed("この KPI はデータから自動で計算されます。", code="dx.kpi_not_manual")
    number = _parse_float(value, label="実績値", code="dx.manual_value")
    with transaction.atomic():
        row, _ = KpiManualValue.objects.update_or_create(
            kpi=kpi, month=month.replace(day=1), defaults={"value": number, "note": note.strip()[:200]}
        )
        _audit(actor, "dx.manual_value", kpi, {"month": month.replace(day=1).isoformat(), "value": number})
    return row


# ------------------------------------------------------------------------------------------------ Act
def kpi_decide(
    *,
    actor: Actor,
    kpi: Kpi,
    decided_on: date,
    decision: str,
    decided_by: str = "",
    next_target: Any = None,
    next_period: tuple[date, date] | None = None,
) -> KpiDecision:
    """Record an Act decision; with a next target and period it opens the next Plan (a new KPI cycle)."""
    _own(actor, kpi)
    if not decision.strip():
        raise ValidationFailed("決定内容を入力してください。", code="dx.decision_text")
    assert actor.user is not None
    with transaction.atomic():
        next_kpi = None
        if next_target not in (None, "") and next_period is not None:
            next_kpi = kpi_create(
                actor=actor,
                name=kpi.name,
                measure=kpi.measure,
                target=next_target,
                period_start=next_period[0],
                period_end=next_period[1],
                procedure_id=kpi.procedure_id,
                department_id=kpi.department_id,
                baseline=kpi.target,
                owner=kpi.owner,
                unit=kpi.unit,
                higher_is_better=kpi.higher_is_better,
                previous=kpi,
            )
        row = KpiDecision.objects.create(
            kpi=kpi,
            decided_on=decided_on,
            decision=decision.strip(),
            decided_by=decided_by.strip()[:60],
            recorded_by_id=actor.user.pk,
            next_kpi=next_kpi,
        )
        _audit(actor, "dx.decision", kpi, {"decision": row.pk, "next_kpi": next_kpi.pk if next_kpi else None})
    return row


def ooda_record(
    *, actor: Actor, noted_on: date, observe: str, orient: str = "", decide: str = "", act: str = ""
) -> OodaEntry:
    require_dx(actor)
    assert actor.municipality is not None and actor.user is not None
    if not observe.strip():
        raise ValidationFailed("何が起きているか（観察）を入力してください。", code="dx.ooda_observe")
    with transaction.atomic():
        entry = OodaEntry.objects.create(
            municipality=actor.municipality,
            noted_on=noted_on,
            observe=observe.strip(),
            orient=orient.strip(),
            decide=decide.strip(),
            act=act.strip(),
            recorded_by_id=actor.user.pk,
        )
        _audit(actor, "dx.ooda", None, {"entry": entry.pk})
    return entry


# ------------------------------------------------------------------------------------------ open data
def dataset_publish(
    *, actor: Actor, kind: str, publish: bool, title: str = "", description: str = ""
) -> Dataset:
    """Publish (or withdraw) one of the municipality's datasets; the rows are built when served."""
    require_dx(actor)
    assert actor.municipality is not None
    if kind not in DatasetKind.values:
        raise ValidationFailed("公開するデータの種類を選んでください。", code="dx.dataset_kind")
    with transaction.atomic():
        dataset, _ = Dataset.objects.select_for_update().get_or_create(
            municipality=actor.municipality, kind=kind, defaults={"title": DatasetKind(kind).label}
        )
        dataset.title = (title.strip() or dataset.title)[:120]
        dataset.description = description.strip() or dataset.description
        if publish and not dataset.published:
            dataset.published_at = timezone.now()
        dataset.published = publish
        dataset.save()
        _audit(actor, "dx.dataset_published" if publish else "dx.dataset_withdrawn", None, {"kind": kind})
    return dataset
