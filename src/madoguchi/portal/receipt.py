"""申請の控え (receipt) as PDF: what was applied for, when, under which 受付番号, and what was entered.

Japanese text uses reportlab's built-in CID font (HeiseiKakuGo-W5): nothing is downloaded and no font
file is needed on the server; PDF viewers supply the glyphs. A 個人番号 appears masked only.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone

from madoguchi.catalog.schema import display_rows
from madoguchi.core.jp.wareki import to_wareki

FONT = "HeiseiKakuGo-W5"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    try:
        pdfmetrics.getFont(FONT)
    except KeyError:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def receipt_pdf(*, application: Any) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=14)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.grey)

    def p(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    submitted = timezone.localtime(application.submitted_at)
    facts = [
        ["受付番号", application.reception_number],
        ["手続", application.procedure.name],
        ["受付日時", f"{to_wareki(submitted.date())} {submitted:%H:%M}"],
        ["申請先", f"{application.municipality.name} {application.department.name}"],
        ["申請者", application.applicant_name],
    ]
    definition = application.form_version.parsed()
    rows = [
        [p(("　" * row.depth) + row.label), p(row.display)]
        for row in display_rows(definition, application.data)
        if row.kind not in {"group", "group_item"}
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=f"申請の控え {application.reception_number}", author=application.municipality.name,
    )
    style = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 9.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])
    story: list[Any] = [
        p("申請の控え", title),
        p(f"{application.municipality.name}は、次の申請をオンラインで受け付けました。"),
        Spacer(1, 4 * mm),
        Table([[p(k), p(v)] for k, v in facts], colWidths=[35 * mm, 139 * mm], style=style),
        Spacer(1, 6 * mm),
        p("申請した内容", ParagraphStyle("h2", fontName=font, fontSize=12, leading=18, spaceAfter=4)),
    ]
    if rows:
        story.append(Table(rows, colWidths=[60 * mm, 114 * mm], style=style, repeatRows=0))
    story += [
        Spacer(1, 6 * mm),
        p("この控えは申請の受付を示すもので、審査の結果を示すものではありません。"
          "個人番号は下4桁以外を伏せて表示しています。", small),
        p(f"作成日時: {to_wareki(timezone.localdate())} {timezone.localtime():%H:%M}", small),
    ]
    doc.build(story)
    return buf.getvalue()
