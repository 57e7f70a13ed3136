"""Reads of the DX推進計画 app: always within one municipality, never writing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse

from madoguchi.core.jp.business_days import business_days_between
from madoguchi.core.jp.wareki import to_wareki
from madoguchi.core.models import ClosedDay, Municipality
from madoguchi.dxplan.catalog import BUSINESS_NAMES, BUSINESSES, ITEMS, PHASE_OF_ITEM, PHASES, item_label
from madoguchi.dxplan.charts import BarSpec, Gantt, LineChart, RowSpec, gantt, line_chart
from madoguchi.dxplan.models import (
    CardRateImport,
    CardRateRow,
    MigrationTask,
    Milestone,
    Priority,
    Project,
    ProjectStatus,
    RowKind,
    TaskStatus,
)
from madoguchi.dxplan.services import TaskFields

STATUS_CSS = {
    TaskStatus.NOT_STARTED: "todo",
    TaskStatus.STARTED: "doing",
    TaskStatus.DONE: "done",
    TaskStatus.NOT_APPLICABLE: "na",
}
STATUS_SHORT = {
    TaskStatus.NOT_STARTED: "未",
    TaskStatus.STARTED: "着",
    TaskStatus.DONE: "完",
    TaskStatus.NOT_APPLICABLE: "－",
}
PROJECT_CSS = {
    ProjectStatus.PLANNED: "todo",
    ProjectStatus.IN_PROGRESS: "doing",
    ProjectStatus.DONE: "done",
    ProjectStatus.ON_HOLD: "na",
}


# --- 工程表 ---------------------------------------------------------------------------------------


@dataclass
class PriorityGroup:
    code: str
    label: str
    projects: list[Project]


def projects_by_priority(*, municipality: Municipality) -> list[PriorityGroup]:
    projects = list(
        Project.objects.filter(municipality=municipality).prefetch_related(
            Prefetch("milestones", queryset=Milestone.objects.order_by("due_date", "id"))
        )
    )
    return [
        PriorityGroup(
            code=p.value, label=str(p.label), projects=[x for x in projects if x.priority == p.value]
        )
        for p in Priority
    ]


def project_get(*, municipality: Municipality, pk: int) -> Project:
    return get_object_or_404(Project, pk=pk, municipality=municipality)


def project_timeline(*, municipality: Municipality, today: date) -> Gantt:
    rows: list[RowSpec] = []
    for group in projects_by_priority(municipality=municipality):
        if not group.projects:
            continue
        rows.append(RowSpec(label=group.label, heading=True))
        for p in group.projects:
            rows.append(
                RowSpec(
                    label=p.title,
                    href=reverse("dxplan:project", args=[p.pk]),
                    bars=[
                        BarSpec(
                            p.start_date, p.end_date, f"bar--{PROJECT_CSS[ProjectStatus(p.status)]}", p.title
                        )
                    ],
                    markers=[
                        (
                            m.due_date,
                            "milestone--done" if m.done else "milestone",
                            f"{m.title}{'（達成）' if m.done else ''}",
                        )
                        for m in p.milestones.all()
                    ],
                )
            )
    return gantt(title="DX推進計画 工程表", rows=rows, today=today)


# --- 標準化移行 tracker ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Cell(TaskFields):
    """One 業務 × 作業項目 as the pages show it (a cell never saved reads as 未着手, version 0)."""

    business: str
    item: int
    version: int = 0
    overdue_days: int = 0  # 開庁日 past the planned end (not 完了, not 対象外)
    evidence_count: int = 0

    @property
    def css(self) -> str:
        return STATUS_CSS[TaskStatus(self.status)]

    @property
    def short(self) -> str:
        return STATUS_SHORT[TaskStatus(self.status)]

    @property
    def status_label(self) -> str:
        return str(TaskStatus(self.status).label)

    @property
    def item_label(self) -> str:
        return item_label(self.item)

    @property
    def business_label(self) -> str:
        return BUSINESS_NAMES[self.business]


_OPEN = (TaskStatus.NOT_STARTED, TaskStatus.STARTED)


def _overdue_days(planned_end: date | None, status: str, today: date, closed: frozenset[date]) -> int:
    """開庁日 since the planned end of work not 完了 (nor 対象外); 0 when on time."""
    if planned_end is None or planned_end >= today or status not in _OPEN:
        return 0
    return max(1, business_days_between(planned_end, today, closed))


def _closed_days(municipality: Municipality) -> frozenset[date]:
    return frozenset(ClosedDay.objects.filter(municipality=municipality).values_list("date", flat=True))


def _cells(
    municipality: Municipality, today: date, business: str | None = None
) -> dict[tuple[str, int], Cell]:
    qs = MigrationTask.objects.filter(municipality=municipality).annotate(n_evidence=Count("evidence"))
    if business:
        qs = qs.filter(business=business)
    closed = _closed_days(municipality)
    cells: dict[tuple[str, int], Cell] = {}
    for t in qs:
        cells[(t.business, t.item)] = Cell(
            business=t.business,
            item=t.item,
            status=t.status,
            planned_start=t.planned_start,
            planned_end=t.planned_end,
            actual_start=t.actual_start,
            actual_end=t.actual_end,
            note=t.note,
            version=t.version,
            evidence_count=t.n_evidence,
            overdue_days=_overdue_days(t.planned_end, t.status, today, closed),
        )
    for code, _ in BUSINESSES if business is None else [(business, "")]:
        for n in ITEMS:
            cells.setdefault((code, n), Cell(business=code, item=n, status=TaskStatus.NOT_STARTED))
    return cells


@dataclass
class MatrixRow:
    code: str
    name: str
    cells: list[Cell]
    done: int = 0
    applicable: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.applicable) if self.applicable else 100


@dataclass
class PhaseProgress:
    code: str
    name: str
    items: tuple[int, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def applicable(self) -> int:
        return sum(n for s, n in self.counts.items() if s != TaskStatus.NOT_APPLICABLE)

    @property
    def percent(self) -> int:
        done = self.counts.get(TaskStatus.DONE, 0)
        return round(100 * done / self.applicable) if self.applicable else 100

    @property
    def rows(self) -> list[tuple[str, int]]:
        return [(str(s.label), self.counts.get(s.value, 0)) for s in TaskStatus]


@dataclass
class Tracker:
    rows: list[MatrixRow]
    phases: list[PhaseProgress]
    overdue: list[Cell]
    items: list[tuple[int, str, str]]  # (number, label, phase code)

    @property
    def total_percent(self) -> int:
        done = sum(p.counts.get(TaskStatus.DONE, 0) for p in self.phases)
        applicable = sum(p.applicable for p in self.phases)
        return round(100 * done / applicable) if applicable else 100


def migration_tracker(*, municipality: Municipality, today: date) -> Tracker:
    cells = _cells(municipality, today)
    rows = []
    for code, name in BUSINESSES:
        row = MatrixRow(code=code, name=name, cells=[cells[(code, n)] for n in ITEMS])
        row.applicable = sum(1 for c in row.cells if c.status != TaskStatus.NOT_APPLICABLE)
        row.done = sum(1 for c in row.cells if c.status == TaskStatus.DONE)
        rows.append(row)
    phases = [PhaseProgress(code=p.code, name=p.name, items=p.items) for p in PHASES]
    by_code = {p.code: p for p in phases}
    for cell in cells.values():
        progress = by_code[PHASE_OF_ITEM[cell.item].code]
        progress.counts[cell.status] = progress.counts.get(cell.status, 0) + 1
    overdue = sorted(
        (c for c in cells.values() if c.overdue_days), key=lambda c: (-c.overdue_days, c.business, c.item)
    )
    items = [(n, item_label(n), PHASE_OF_ITEM[n].code) for n in ITEMS]
    return Tracker(rows=rows, phases=phases, overdue=overdue, items=items)


def migration_cell(*, municipality: Municipality, business: str, item: int, today: date) -> tuple[Cell, list]:
    """One cell and its evidence files (404 for an unknown 業務 or 作業項目)."""
    if business not in BUSINESS_NAMES or item not in ITEMS:
        from django.http import Http404

        raise Http404
    cell = _cells(municipality, today, business)[(business, item)]
    task = MigrationTask.objects.filter(municipality=municipality, business=business, item=item).first()
    evidence = list(task.evidence.select_related("blob")) if task else []
    return cell, evidence


def migration_business_gantt(
    *, municipality: Municipality, business: str, today: date
) -> tuple[Gantt, list[Cell]]:
    cells = _cells(municipality, today, business)
    rows: list[RowSpec] = []
    ordered: list[Cell] = []
    for phase in PHASES:
        rows.append(RowSpec(label=f"{phase.name}フェーズ", heading=True))
        for n in phase.items:
            c = cells[(business, n)]
            ordered.append(c)
            rows.append(
                RowSpec(
                    label=c.item_label,
                    href=reverse("dxplan:cell", args=[business, n]),
                    bars=[
                        BarSpec(c.planned_start, c.planned_end, "bar--planned", "予定"),
                        BarSpec(
                            c.actual_start,
                            c.actual_end or (today if c.status == TaskStatus.STARTED else None),
                            f"bar--{'late' if c.overdue_days else c.css}",
                            "実績",
                        ),
                    ],
                )
            )
    return gantt(title=f"{BUSINESS_NAMES[business]} 標準化移行", rows=rows, today=today), ordered


EXPORT_HEADER = [
    "業務",
    "フェーズ",
    "作業項目",
    "状況",
    "開始予定日",
    "完了予定日",
    "着手日",
    "完了日",
    "遅延(開庁日)",
    "証跡数",
    "備考",
]


def migration_export_rows(*, municipality: Municipality, today: date) -> Iterator[list[object]]:
    """One row per 業務 × 作業項目 for the prefecture's survey (dates as ``date``; the writer formats them)."""
    cells = _cells(municipality, today)
    for code, name in BUSINESSES:
        for n in ITEMS:
            c = cells[(code, n)]
            yield [
                name,
                PHASE_OF_ITEM[n].name,
                item_label(n),
                c.status_label,
                c.planned_start,
                c.planned_end,
                c.actual_start,
                c.actual_end,
                c.overdue_days or "",
                c.evidence_count,
                c.note,
            ]


# --- マイナンバーカード交付率 ---------------------------------------------------------------------


def _own(municipality: Municipality) -> Q:
    return Q(code=municipality.code) | Q(prefecture=municipality.prefecture, name=municipality.name)


@dataclass
class Position:
    source: CardRateImport
    row: CardRateRow | None
    rank: int | None
    total: int
    pref_rank: int | None
    pref_total: int
    national_rate: Decimal | None
    prefecture_rate: Decimal | None


def _higher(same_prefecture: bool = False) -> Subquery:
    """How many rows of the same table (and prefecture) have a higher rate: rank − 1, ties sharing a rank."""
    qs = CardRateRow.objects.filter(
        source_id=OuterRef("source_id"), kind=RowKind.MUNICIPALITY, rate__gt=OuterRef("rate")
    )
    if same_prefecture:
        qs = qs.filter(prefecture=OuterRef("prefecture"))
    return Subquery(qs.order_by().values("source_id").annotate(c=Count("id")).values("c")[:1])


def _ranked_own(source_ids: list[int], municipality: Municipality) -> dict[int, CardRateRow]:
    rows = (
        CardRateRow.objects.filter(source_id__in=source_ids, kind=RowKind.MUNICIPALITY)
        .filter(_own(municipality))
        .annotate(rank=Coalesce(_higher(), 0) + 1, pref_rank=Coalesce(_higher(True), 0) + 1)
    )
    return {r.source_id: r for r in rows}


def cardrate_positions(*, municipality: Municipality) -> list[Position]:
    """For every imported 市区町村別 table (oldest first): our row, our rank among all municipalities and
    within our prefecture, and the rates of the whole table and of our prefecture (Σ交付枚数 ÷ Σ人口)."""
    sources = list(
        CardRateImport.objects.filter(municipality=municipality, table_kind=RowKind.MUNICIPALITY).order_by(
            "as_of"
        )
    )
    ids = [s.pk for s in sources]
    own = _ranked_own(ids, municipality)
    totals = {
        t["source_id"]: t
        for t in CardRateRow.objects.filter(source_id__in=ids, kind=RowKind.MUNICIPALITY)
        .values("source_id")
        .annotate(n=Count("id"), pop=Sum("population"), issued=Sum("issued"))
    }
    prefs = {
        t["source_id"]: t
        for t in CardRateRow.objects.filter(
            source_id__in=ids, kind=RowKind.MUNICIPALITY, prefecture=municipality.prefecture
        )
        .values("source_id")
        .annotate(n=Count("id"), pop=Sum("population"), issued=Sum("issued"))
    }

    def rate(t: dict | None) -> Decimal | None:
        if not t or not t["pop"]:
            return None
        return (Decimal(t["issued"]) * 100 / Decimal(t["pop"])).quantize(Decimal("0.1"))

    out = []
    for s in sources:
        row = own.get(s.pk)
        out.append(
            Position(
                source=s,
                row=row,
                rank=getattr(row, "rank", None),
                total=totals.get(s.pk, {}).get("n", 0),
                pref_rank=getattr(row, "pref_rank", None),
                pref_total=prefs.get(s.pk, {}).get("n", 0),
                national_rate=rate(totals.get(s.pk)),
                prefecture_rate=rate(prefs.get(s.pk)),
            )
        )
    return out


def cardrate_trend(*, municipality: Municipality, positions: list[Position]) -> LineChart | None:
    if not positions:
        return None
    dates = [p.source.as_of for p in positions]
    return line_chart(
        title="マイナンバーカード交付率の推移",
        dates=dates,
        series=[
            (municipality.name, "series--own", [p.row.rate if p.row else None for p in positions]),
            (
                f"{municipality.prefecture}内の市区町村計",
                "series--pref",
                [p.prefecture_rate for p in positions],
            ),
            ("表の全市区町村計", "series--all", [p.national_rate for p in positions]),
        ],
    )


def cardrate_imports(*, municipality: Municipality) -> list[CardRateImport]:
    return list(CardRateImport.objects.filter(municipality=municipality).order_by("-as_of", "-id"))


def cardrate_import_get(*, municipality: Municipality, pk: int) -> CardRateImport:
    return get_object_or_404(CardRateImport, pk=pk, municipality=municipality)


def cardrate_ranking(*, source: CardRateImport, prefecture: str = "", limit: int = 200) -> list[CardRateRow]:
    """Rows of one table by rate (ranks over the whole table, or the prefecture's when filtered)."""
    rows = list(CardRateRow.objects.filter(source=source).order_by("-rate", "line"))
    overall: dict[int, int] = {}
    by_pref: dict[str, list[CardRateRow]] = {}
    for i, r in enumerate(rows):
        overall[r.pk] = overall[rows[i - 1].pk] if i and rows[i - 1].rate == r.rate else i + 1
        by_pref.setdefault(r.prefecture, []).append(r)
    for r in rows:
        r.rank = overall[r.pk]  # type: ignore[attr-defined]
    for group in by_pref.values():
        for i, r in enumerate(group):
            r.pref_rank = group[i - 1].pref_rank if i and group[i - 1].rate == r.rate else i + 1  # type: ignore[attr-defined]
    if prefecture:
        rows = [r for r in rows if r.prefecture == prefecture]
    return rows[:limit]


def cardrate_prefectures(*, source: CardRateImport) -> list[str]:
    return list(
        CardRateRow.objects.filter(source=source, kind=RowKind.MUNICIPALITY)
        .exclude(prefecture="")
        .values_list("prefecture", flat=True)
        .distinct()
        .order_by("prefecture")
    )


def wareki_or_blank(d: date | None) -> str:
    return to_wareki(d) if d else ""


@dataclass(frozen=True)
class PlanSummary:
    """The few figures the /dx/ dashboard shows from this app (one call, a handful of queries)."""

    projects: int
    projects_in_progress: int
    milestones_overdue: int
    migration_percent: int
    migration_overdue: int
    card_rate: Decimal | None
    card_rank: int | None
    card_total: int
    card_as_of: date | None


def dxplan_summary(*, municipality: Municipality, today: date) -> PlanSummary:
    tracker = migration_tracker(municipality=municipality, today=today)
    projects = Project.objects.filter(municipality=municipality)
    latest = next((p for p in reversed(cardrate_positions(municipality=municipality)) if p.row), None)
    return PlanSummary(
        projects=projects.count(),
        projects_in_progress=projects.filter(status=ProjectStatus.IN_PROGRESS).count(),
        milestones_overdue=Milestone.objects.filter(
            project__municipality=municipality, done=False, due_date__lt=today
        ).count(),
        migration_percent=tracker.total_percent,
        migration_overdue=len(tracker.overdue),
        card_rate=latest.row.rate if latest and latest.row else None,
        card_rank=latest.rank if latest else None,
        card_total=latest.total if latest else 0,
        card_as_of=latest.source.as_of if latest else None,
    )


def cardrate_prefecture_position(
    *, municipality: Municipality
) -> tuple[CardRateImport, CardRateRow, int] | None:
    """Our prefecture in the latest 都道府県別 table: (the table, its row with ``rank``, the number of rows)."""
    source = (
        CardRateImport.objects.filter(municipality=municipality, table_kind=RowKind.PREFECTURE)
        .order_by("-as_of")
        .first()
    )
    if source is None:
        return None
    rows = cardrate_ranking(source=source, limit=100)
    own = next((r for r in rows if r.name == municipality.prefecture), None)
    return (source, own, len(rows)) if own else None
