"""保留/内定 notices (入所内定通知書 / 入所保留通知書) as PDF, one household per notice: each child's result
and, for a 保留 or a lower wish, the reasons (explain.why). WeasyPrint with the 帳票 renderer's URL
fetcher (nothing is fetched), Noto CJK embedded, 和暦 dates."""

from __future__ import annotations

from datetime import date

from django.template import Context, Engine

from madoguchi.core.jp.wareki import to_wareki
from madoguchi.nursery.explain import borders, why
from madoguchi.nursery.instance import Instance

TEMPLATE = """<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4 portrait; margin: 20mm 18mm; }
html { font-family: "Noto Sans CJK JP", sans-serif; font-size: 10.5pt; line-height: 1.6; }
h1 { font-family: "Noto Serif CJK JP", serif; font-size: 17pt; text-align: center; margin: 8mm 0 6mm; }
.right { text-align: right; } table { border-collapse: collapse; width: 100%; margin: 3mm 0; }
th, td { border: 0.6pt solid #000; padding: 1.5mm 2mm; text-align: left; vertical-align: top; } th { background: #eee; }
.notice { break-after: page; } .notice:last-child { break-after: auto; }
</style></head><body>
{% for n in notices %}<section class="notice">
<p class="right">{{ today }}</p>
<p>世帯番号 {{ n.household }} の保護者 様</p>
<p class="right">{{ municipality }}長</p>
<h1>{{ n.title }}</h1>
<p>{{ round }}の保育所等の利用調整の結果を、次のとおりお知らせします。</p>
<table><thead><tr><th>申請者番号</th><th>年齢</th><th>結果</th></tr></thead><tbody>
{% for c in n.children %}<tr><td>{{ c.id }}</td><td>{{ c.age }}歳</td><td>{{ c.result }}</td></tr>{% endfor %}
</tbody></table>
{% for c in n.children %}{% if c.reasons %}<p>申請者番号 {{ c.id }} の希望ごとの結果</p>
<table><thead><tr><th>希望</th><th>保育所</th><th>結果</th></tr></thead><tbody>
{% for r in c.reasons %}<tr><td>第{{ r.rank }}希望</td><td>{{ r.name }}</td><td>{{ r.outcome }}</td></tr>{% endfor %}
</tbody></table>{% endif %}{% endfor %}
<p>この結果についてのお問い合わせは、保育課までお願いします。</p>
</section>{% endfor %}
</body></html>"""


def notices_pdf(
    *,
    instance: Instance,
    assignment: dict[str, str | None],
    households: list[str],
    round_name: str,
    municipality: str,
    today: date,
) -> bytes:
    from weasyprint import HTML

    from madoguchi.printing.render import url_fetcher

    names = {f.id: f.name for f in instance.facilities}
    table = borders(instance, assignment)  # once for all children, not once per why()
    notices = []
    for household in households:
        kids = instance.households.get(household, ())
        children = []
        for child in kids:
            given = assignment.get(child.id)
            reasons = why(instance, assignment, child, table)
            first = bool(child.wishes) and given == child.wishes[0]
            children.append(
                {
                    "id": child.id,
                    "age": child.age,
                    "result": f"内定: {names.get(given, given)}" if given else "保留",
                    "reasons": [] if first else reasons,
                }
            )
        placed = all(assignment.get(c.id) for c in kids)
        notices.append(
            {
                "household": household,
                "children": children,
                "title": "保育所等利用調整結果通知書（入所内定）"
                if placed
                else "保育所等利用調整結果通知書（入所保留を含む）",
            }
        )
    html = (
        Engine(autoescape=True)
        .from_string(TEMPLATE)
        .render(
            Context(
                {
                    "notices": notices,
                    "today": to_wareki(today),
                    "municipality": municipality,
                    "round": round_name,
                    "title": f"{round_name} 利用調整結果通知書",
                }
            )
        )
    )
    pdf = HTML(string=html, url_fetcher=url_fetcher()).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
