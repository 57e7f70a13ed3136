"""The KPI report for the 庁議: every current KPI with target, latest actual, judgement, its monthly
series and chart, the year's figures by department — as a PDF (WeasyPrint, the same own-resources-only
renderer as the 帳票, Noto CJK embedded) and as an Excel workbook with native line charts."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django.template import Context, Engine
from django.utils import timezone

from madoguchi.core.jp.wareki import to_wareki
from madoguchi.core.models import Municipality
from madoguchi.dx import charts, selectors
from madoguchi.dx.templatetags.dx import figure, nendo, wareki_month

TEMPLATE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4 portrait; margin: 16mm 14mm 18mm 16mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
html { font-family: "Noto Sans CJK JP", sans-serif; font-size: 9.5pt; line-height: 1.45; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; border-left: 2mm solid #000; padding-left: 2mm; margin: 6mm 0 2mm; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }
th, td { border: 0.5pt solid #000; padding: 1mm 1.5mm; text-align: left; }
thead th { background: #e8e8e8; }
.kpi { break-inside: avoid; }
.chart { width: 100%; height: auto; }
.chart__grid { stroke: #ccc; } .chart__axis { font-size: 10px; }
.chart__line { fill: none; stroke: #0017c1; stroke-width: 2.5; } .chart__dot { fill: #0017c1; }
.chart__target { stroke: #c74700; stroke-width: 2; stroke-dasharray: 6 4; } .chart__target-label { font-size: 10px; fill: #a33600; }
.ok { font-weight: bold; } .ng { font-weight: bold; text-decoration: underline; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ municipality }}　作成 {{ made }}　DX推進課</p>
<h2>KPI の進み具合</h2>
<table><thead><tr><th>KPI</th><th>期間</th><th>目標</th><th>実績（最新）</th><th>判定</th></tr></thead><tbody>
{% for c in checks %}<tr><td>{{ c.name }}</td><td>{{ c.period }}</td><td>{{ c.target }}</td><td>{{ c.latest }}</td><td class="{% if c.achieved %}ok{% else %}ng{% endif %}">{{ c.judgement }}</td></tr>
{% empty %}<tr><td colspan="5">期間中の KPI はありません。</td></tr>{% endfor %}</tbody></table>
{% for c in checks %}<section class="kpi"><h3>{{ c.name }}</h3>{{ c.chart }}</section>{% endfor %}
<h2>{{ year }}の実績（担当課別）</h2>
<table><thead><tr><th>担当課</th><th>受付件数</th><th>オンライン申請率</th><th>処理日数（中央値・開庁日）</th><th>標準処理期間内</th><th>補正率</th></tr></thead><tbody>
{% for d in departments %}<tr><td>{{ d.0 }}</td><td>{{ d.1 }}</td><td>{{ d.2 }}</td><td>{{ d.3 }}</td><td>{{ d.4 }}</td><td>{{ d.5 }}</td></tr>{% endfor %}
</tbody></table>
</body></html>"""


def _context(municipality: Municipality, today: date) -> dict[str, Any]:
    board = selectors.dashboard(municipality, today=today)
    checks = []
    for check in board.checks:
        k = check.kpi
        checks.append(
            {
                "name": k.name,
                "period": f"{wareki_month(k.period_start)}〜{wareki_month(k.period_end)}",
                "target": figure(k.target, k.unit),
                "latest": figure(check.latest, k.unit),
                "achieved": bool(check.achieved),
                "judgement": "達成" if check.achieved else ("未達" if check.achieved is False else "—"),
                "chart": charts.line_chart(check.series, title=k.name, unit=k.unit, target=k.target),
                "series": check.series,
                "kpi": k,
            }
        )
    departments = [
        (
            name,
            figure(f.submitted),
            figure(f.online_rate, "%"),
            figure(f.median_days),
            figure(f.on_time_rate, "%"),
            figure(f.correction_rate, "%"),
        )
        for name, f in board.departments
    ]
    return {
        "title": f"DX推進 KPI 報告（{nendo(board.fiscal_year)}）",
        "municipality": f"{municipality.prefecture}{municipality.name}",
        "made": to_wareki(today),
        "year": nendo(board.fiscal_year),
        "checks": checks,
        "departments": departments,
    }


def report_pdf(*, municipality: Municipality, today: date | None = None) -> bytes:
    from weasyprint import HTML

    from madoguchi.printing.render import url_fetcher

    context = _context(municipality, today or timezone.localdate())
    html = Engine(autoescape=True).from_string(TEMPLATE).render(Context(context))
    pdf = HTML(string=html, url_fetcher=url_fetcher()).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def report_xlsx(*, municipality: Municipality, today: date | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.styles import Font

    context = _context(municipality, today or timezone.localdate())
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "KPI"
    ws.append([context["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([context["municipality"], f"作成 {context['made']}"])
    ws.append([])
    ws.append(["KPI", "期間", "目標", "実績（最新）", "判定"])
    for c in context["checks"]:
        ws.append([c["name"], c["period"], c["target"], c["latest"], c["judgement"]])
    ws.column_dimensions["A"].width = 48
    for column in "BCDE":
        ws.column_dimensions[column].width = 18
    for index, c in enumerate(context["checks"], start=1):
        sheet = wb.create_sheet(f"KPI{index}")
        sheet.append(["月", "実績", "目標"])
        for month, value in c["series"]:
            sheet.append([wareki_month(month), value, c["kpi"].target])
        chart = LineChart()
        chart.title = c["name"]
        chart.y_axis.title = c["kpi"].unit
        data = Reference(sheet, min_col=2, min_row=1, max_col=3, max_row=len(c["series"]) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(c["series"]) + 1))
        sheet.add_chart(chart, "E2")
    dept = wb.create_sheet("担当課別")
    dept.append(
        ["担当課", "受付件数", "オンライン申請率", "処理日数（中央値・開庁日）", "標準処理期間内", "補正率"]
    )
    for row in context["departments"]:
        dept.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
