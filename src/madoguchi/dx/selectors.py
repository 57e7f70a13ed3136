"""DX推進 reads: KPI values per month and the dashboard, from the refreshed aggregates only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from madoguchi.core.models import Municipality
from madoguchi.dx.models import CounterMonth, Kpi, Measure, ProcedureMonth, RefreshRun

SUMS = (
    "submitted",
    "online",
    "pittari",
    "counter",
    "paper",
    "finished",
    "with_deadline",
    "on_time",
    "corrected",
    "withdrawn",
    "handoff_jobs",
    "handoff_failed",
)


def fiscal_year_of(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def months_between(start: date, end: date) -> list[date]:
    months, m = [], start.replace(day=1)
    while m <= end:
        months.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return months


@dataclass
class Figures:
    """Summed counts of some procedure-months, and the measures made of them."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMS, 0))
    weighted_days: float = 0.0
    days_weight: int = 0

    def add(self, row: Any) -> None:
        for name in SUMS:
            self.counts[name] += getattr(row, name) if not isinstance(row, dict) else row[name]
        median = row.median_days if not isinstance(row, dict) else row["median_days"]
        finished = row.finished if not isinstance(row, dict) else row["finished"]
        if median is not None and finished:
            self.weighted_days += median * finished
            self.days_weight += finished

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole else None

    @property
    def submitted(self) -> int:
        return self.counts["submitted"]

    @property
    def online_rate(self) -> float | None:
        return self._rate(self.counts["online"] + self.counts["pittari"], self.counts["submitted"])

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.counts["on_time"], self.counts["with_deadline"])

    @property
    def correction_rate(self) -> float | None:
        return self._rate(self.counts["corrected"], self.counts["submitted"])

    @property
    def withdrawal_rate(self) -> float | None:
        return self._rate(self.counts["withdrawn"], self.counts["submitted"])

    @property
    def handoff_failure_rate(self) -> float | None:
        return self._rate(self.counts["handoff_failed"], self.counts["handoff_jobs"])

    @property
    def median_days(self) -> float | None:
        """The median in 開庁日 (one procedure-month: exact; several: their medians weighted by count)."""
        return round(self.weighted_days / self.days_weight, 1) if self.days_weight else None

    def measure(self, measure: str) -> float | None:
        return getattr(self, measure, None) if measure in Measure.values else None


def _months(rows: Iterable[ProcedureMonth]) -> dict[date, Figures]:
    by_month: dict[date, Figures] = defaultdict(Figures)
    for row in rows:
        by_month[row.month].add(row)
    return by_month


def kpi_series(kpi: Kpi, *, today: date | None = None) -> list[tuple[date, float | None]]:
    """The KPI's actual value for each month of its period up to this month (Check)."""
    today = today or timezone.localdate()
    months = months_between(kpi.period_start, min(kpi.period_end, today))
    if not months:
        return []
    if kpi.measure == Measure.MANUAL:
        values = dict(kpi.manual_values.values_list("month", "value"))
        return [(m, values.get(m)) for m in months]
    if kpi.measure == Measure.COUNTER_WAIT:
        waits: dict[date, list[tuple[float, int]]] = defaultdict(list)
        for row in CounterMonth.objects.filter(municipality_id=kpi.municipality_id, month__in=months):
            if row.median_wait_min is not None:
                waits[row.month].append((row.median_wait_min, row.tickets))
        return [(m, _weighted(waits.get(m, []))) for m in months]
    rows = ProcedureMonth.objects.filter(municipality_id=kpi.municipality_id, month__in=months)
    if kpi.procedure_id:
        rows = rows.filter(procedure_id=kpi.procedure_id)
    if kpi.department_id:
        rows = rows.filter(department_id=kpi.department_id)
    by_month = _months(rows)
    return [(m, by_month[m].measure(kpi.measure) if m in by_month else None) for m in months]


def _weighted(pairs: Sequence[tuple[float, int]]) -> float | None:
    total = sum(w for _, w in pairs)
    return round(sum(v * w for v, w in pairs) / total, 1) if total else None


@dataclass
class KpiCheck:
    kpi: Kpi
    series: list[tuple[date, float | None]]
    latest: float | None
    achieved: bool | None

    @property
    def gap(self) -> float | None:
        return None if self.latest is None else round(self.latest - self.kpi.target, 1)


def kpi_check(kpi: Kpi, *, today: date | None = None) -> KpiCheck:
    series = kpi_series(kpi, today=today)
    latest = next((v for _, v in reversed(series) if v is not None), None)
    achieved = None
    if latest is not None:
        achieved = latest >= kpi.target if kpi.higher_is_better else latest <= kpi.target
    return KpiCheck(kpi, series, latest, achieved)


def kpis_for(municipality: Municipality) -> list[Kpi]:
    return list(
        Kpi.objects.filter(municipality=municipality)
        .select_related("procedure", "department")
        .order_by("-period_end", "name")
    )


@dataclass
class Dashboard:
    fiscal_year: int
    months: list[date]
    overall: dict[date, Figures]
    year: Figures
    departments: list[tuple[str, Figures]]
    procedures: list[tuple[str, str, Figures]]
    counter: list[CounterMonth]
    checks: list[KpiCheck]
    refreshed: RefreshRun | None


def dashboard(municipality: Municipality, *, today: date | None = None) -> Dashboard:
    """The front page: the last 12 months overall, this 年度 by department and by procedure, counter
    waits, and every current KPI against its target. Reads aggregates only (a few small queries)."""
    today = today or timezone.localdate()
    fy = fiscal_year_of(today)
    first = date(today.year - 1, today.month, 1)
    months = months_between(first, today)[-12:]
    fy_start = date(fy, 4, 1)
    rows = list(
        ProcedureMonth.objects.filter(municipality=municipality, month__gte=min(months[0], fy_start))
        .select_related("procedure", "department")
        .only("procedure__name", "procedure__code", "department__name", "month", "median_days", *SUMS)
    )
    overall = _months(r for r in rows if r.month >= months[0])
    year = Figures()
    by_department: dict[str, Figures] = defaultdict(Figures)
    by_procedure: dict[tuple[str, str], Figures] = defaultdict(Figures)
    for row in rows:
        if row.month >= fy_start:
            year.add(row)
            by_department[row.department.name].add(row)
            by_procedure[(row.procedure.code, row.procedure.name)].add(row)
    procedures = sorted(by_procedure.items(), key=lambda kv: -kv[1].submitted)
    counter = list(
        CounterMonth.objects.filter(municipality=municipality, month__gte=fy_start).order_by(
            "service_name", "month"
        )
    )
    checks = [
        kpi_check(k, today=today) for k in kpis_for(municipality) if k.period_end >= today.replace(day=1)
    ]
    return Dashboard(
        fiscal_year=fy,
        months=months,
        overall=overall,
        year=year,
        departments=sorted(by_department.items(), key=lambda kv: -kv[1].submitted),
        procedures=[(code, name, f) for (code, name), f in procedures],
        counter=counter,
        checks=checks,
        refreshed=RefreshRun.objects.filter(municipality=municipality).order_by("-started_at").first(),
    )


def procedure_month_totals(municipality: Municipality) -> dict[str, int]:
    return {
        k: v or 0
        for k, v in ProcedureMonth.objects.filter(municipality=municipality)
        .aggregate(**{name: Sum(name) for name in SUMS})
        .items()
    }
