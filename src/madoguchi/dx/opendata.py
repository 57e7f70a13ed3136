"""オープンデータ: the published datasets' rows, DCAT-style metadata, and the suppression rule.

Never personal data: every dataset is built from the aggregates (counts per procedure and month, KPI
values, counter statistics). A count from 1 to ``SUPPRESS_BELOW - 1`` is shown as 「*」 (秘匿) and so is
any rate computed from such a count, so that no one can be singled out from a small cell. Column names
follow the 自治体標準オープンデータセット where one fits (全国地方公共団体コード, 地方公共団体名, …).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse

from madoguchi.core.models import Municipality
from madoguchi.dx.models import CounterMonth, Dataset, DatasetKind, Kpi, ProcedureMonth
from madoguchi.dx.selectors import kpi_series

SUPPRESS_BELOW = 5
SUPPRESSED = "*"

COLUMNS: dict[str, list[str]] = {
    DatasetKind.APPLICATION_STATS: [
        "全国地方公共団体コード",
        "都道府県名",
        "地方公共団体名",
        "年月",
        "手続名",
        "担当課",
        "申請件数",
        "オンライン申請件数",
        "オンライン申請率",
        "処理件数",
        "標準処理期間内処理率",
    ],
    DatasetKind.KPI_VALUES: [
        "全国地方公共団体コード",
        "地方公共団体名",
        "KPI名",
        "指標",
        "単位",
        "目標値",
        "期間開始",
        "期間終了",
        "年月",
        "実績値",
    ],
    DatasetKind.NURSERY_FACILITIES: [
        "全国地方公共団体コード",
        "ID",
        "地方公共団体名",
        "名称",
        *(f"{a}歳児募集人数" for a in range(6)),
    ],
    DatasetKind.COUNTER_STATS: [
        "全国地方公共団体コード",
        "地方公共団体名",
        "業務",
        "年月",
        "発券数",
        "待ち時間中央値（分）",
        "対応時間中央値（分）",
    ],
}


def suppress(count: int) -> str | int:
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else count


def rate(part: int, whole: int) -> str | float:
    if whole == 0:
        return ""
    if 0 < part < SUPPRESS_BELOW or whole < SUPPRESS_BELOW:
        return SUPPRESSED
    return round(100.0 * part / whole, 1)


def rows(dataset: Dataset) -> Iterator[list[Any]]:
    m = dataset.municipality
    if dataset.kind == DatasetKind.APPLICATION_STATS:
        for r in (
            ProcedureMonth.objects.filter(municipality=m)
            .select_related("procedure", "department")
            .order_by("month", "procedure__code")
        ):
            online = r.online + r.pittari
            yield [
                m.code,
                m.prefecture,
                m.name,
                r.month.strftime("%Y-%m"),
                r.procedure.name,
                r.department.name,
                suppress(r.submitted),
                suppress(online),
                rate(online, r.submitted),
                suppress(r.finished),
                rate(r.on_time, r.with_deadline),
            ]
    elif dataset.kind == DatasetKind.KPI_VALUES:
        for kpi in Kpi.objects.filter(municipality=m).order_by("period_start", "pk"):
            for month, value in kpi_series(kpi):
                yield [
                    m.code,
                    m.name,
                    kpi.name,
                    kpi.get_measure_display(),
                    kpi.unit,
                    kpi.target,
                    kpi.period_start.isoformat(),
                    kpi.period_end.isoformat(),
                    month.strftime("%Y-%m"),
                    "" if value is None else value,
                ]
    elif dataset.kind == DatasetKind.NURSERY_FACILITIES:
        yield from _nursery_facilities(m)
    else:
        for c in CounterMonth.objects.filter(municipality=m).order_by("month", "service_name"):
            small = 0 < c.tickets < SUPPRESS_BELOW
            yield [
                m.code,
                m.name,
                c.service_name,
                c.month.strftime("%Y-%m"),
                suppress(c.tickets),
                SUPPRESSED if small else ("" if c.median_wait_min is None else round(c.median_wait_min, 1)),
                SUPPRESSED
                if small
                else ("" if c.median_service_min is None else round(c.median_service_min, 1)),
            ]


def _nursery_facilities(m: Municipality) -> Iterator[list[Any]]:
    """The facilities and places of the latest completed 利用調整 run (保育課's own file)."""
    from madoguchi.nursery.models import MatchingRun, RunStatus
    from madoguchi.nursery.services import run_instance

    run = (
        MatchingRun.objects.filter(municipality=m, status=RunStatus.DONE)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if run is None:
        return
    for f in run_instance(run).facilities:
        yield [m.code, f.id, m.name, f.name, *f.capacity]


def records(dataset: Dataset) -> list[dict[str, Any]]:
    header = COLUMNS[dataset.kind]
    return [dict(zip(header, row, strict=True)) for row in rows(dataset)]


def dcat(municipality: Municipality, datasets: list[Dataset], base_url: str) -> dict[str, Any]:
    """DCAT (JSON-LD) metadata of the municipality's published datasets."""

    def url(slug: str, ext: str) -> str:
        return base_url + reverse("opendata:download", args=[municipality.code, slug, ext])

    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"},
        "@type": "dcat:Catalog",
        "dct:title": f"{municipality.prefecture}{municipality.name} オープンデータ",
        "dct:publisher": {
            "@type": "foaf:Organization",
            "foaf:name": municipality.name,
            "dct:identifier": municipality.code,
        },
        "dcat:dataset": [
            {
                "@type": "dcat:Dataset",
                "dct:identifier": f"{municipality.code}-{d.kind}",
                "dct:title": d.title,
                "dct:description": d.description or d.get_kind_display(),
                "dct:license": d.license,
                "dct:issued": d.published_at.isoformat() if d.published_at else None,
                "dcat:keyword": ["自治体DX", "行政手続", d.get_kind_display()],
                "dcat:distribution": [
                    {
                        "@type": "dcat:Distribution",
                        "dcat:mediaType": "text/csv",
                        "dcat:downloadURL": url(d.kind, "csv"),
                        "dct:format": "CSV (UTF-8 BOM)",
                    },
                    {
                        "@type": "dcat:Distribution",
                        "dcat:mediaType": "application/json",
                        "dcat:downloadURL": url(d.kind, "json"),
                        "dct:format": "JSON",
                    },
                ],
            }
            for d in datasets
        ],
    }
