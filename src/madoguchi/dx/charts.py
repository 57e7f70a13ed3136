"""Small server-rendered SVG charts (no script, no download): a line of monthly values with an
optional target line. Each chart carries a <title>/<desc> for screen readers; pages also give the
numbers as a table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

from madoguchi.core.jp.wareki import to_wareki

W, H = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36


def month_label(m: date) -> str:
    """「R8.4」-style short 和暦 month for an axis (the table beside it gives the long form)."""
    era = to_wareki(m)  # e.g. 令和8年4月1日
    short = {"令和": "R", "平成": "H", "昭和": "S"}
    for name, letter in short.items():
        if era.startswith(name):
            year = era[len(name) : era.index("年")]
            return f"{letter}{1 if year == '元' else year}.{m.month}"
    return f"{m.year}.{m.month}"


def line_chart(
    points: Sequence[tuple[date, float | None]],
    *,
    title: str,
    unit: str = "",
    target: float | None = None,
    y_max: float | None = None,
) -> SafeString:
    values = [v for _, v in points if v is not None]
    top: float = max([*values, target or 0.0, 1.0]) * 1.1 if y_max is None else y_max
    n = max(len(points), 1)
    step = (W - LEFT - RIGHT) / max(n - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - v / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{_id(title)}-t {_id(title)}-d"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(_describe(points, unit, target))}</desc>',
    ]
    for k in range(5):  # grid and axis labels
        v = top * k / 4
        parts.append(
            f'<line class="chart__grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        )
        parts.append(
            f'<text class="chart__axis" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
        )
    for i, (m, _) in enumerate(points):
        if n <= 12 or i % max(n // 12, 1) == 0:
            parts.append(
                f'<text class="chart__axis" x="{x(i):.1f}" y="{H - 12}" text-anchor="middle">{month_label(m)}</text>'
            )
    if target is not None:
        parts.append(
            f'<line class="chart__target" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(target):.1f}" y2="{y(target):.1f}"/>'
            f'<text class="chart__target-label" x="{W - RIGHT}" y="{y(target) - 4:.1f}" text-anchor="end">'
            f"目標 {target:g}{escape(unit)}</text>"
        )
    path, pen = [], "M"
    for i, (_, value) in enumerate(points):
        if value is None:
            pen = "M"
            continue
        path.append(f"{pen}{x(i):.1f},{y(value):.1f}")
        pen = "L"
    if path:
        parts.append(f'<path class="chart__line" d="{" ".join(path)}"/>')
    for i, (_, value) in enumerate(points):
        if value is not None:
            parts.append(f'<circle class="chart__dot" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _describe(points: Sequence[tuple[date, float | None]], unit: str, target: float | None) -> str:
    known = [(m, v) for m, v in points if v is not None]
    if not known:
        return "データがまだありません。"
    first, last = known[0], known[-1]
    text = f"{month_label(first[0])} {first[1]:g}{unit} から {month_label(last[0])} {last[1]:g}{unit}"
    if target is not None:
        text += f"（目標 {target:g}{unit}）"
    return text


def _id(title: str) -> str:
    return "c" + format(abs(hash(title)) % 10**8, "08d")
