"""Geometry for the server-rendered SVG charts (no chart library, no script): a Gantt chart on a 年度
axis (April to March, labelled in 和暦) and a line chart over dates. Templates draw what this computes:
``dxplan/_gantt.html`` and ``dxplan/_line.html``; every chart comes with a table as its text alternative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from madoguchi.core.jp.wareki import to_wareki, to_wareki_parts

LABEL_WIDTH = 260
PLOT_WIDTH = 720
ROW_HEIGHT = 28
AXIS_HEIGHT = 28


def fiscal_year(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def fiscal_year_label(fy: int) -> str:
    era, year = to_wareki_parts(date(fy, 4, 1))
    return f"{era}{'元' if year == 1 else year}年度"


@dataclass
class Bar:
    x: float
    width: float
    css: str  # a class in dxplan.css: planned, actual, status colours
    label: str


@dataclass
class Marker:
    x: float
    css: str
    label: str


@dataclass
class GanttRow:
    label: str
    href: str = ""
    heading: bool = False  # a group heading row (重点取組事項, フェーズ)
    bars: list[Bar] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    y: float = 0


@dataclass
class Tick:
    x: float
    label: str
    width: float = 0


@dataclass
class Gantt:
    title: str
    rows: list[GanttRow]
    ticks: list[Tick]
    today_x: float | None
    width: int = LABEL_WIDTH + PLOT_WIDTH + 10
    height: float = 0
    label_width: int = LABEL_WIDTH


@dataclass
class BarSpec:
    start: date | None
    end: date | None
    css: str
    label: str


@dataclass
class RowSpec:
    label: str
    href: str = ""
    heading: bool = False
    bars: Sequence[BarSpec] = ()
    markers: Sequence[tuple[date, str, str]] = ()  # (date, css, label)


def gantt(*, title: str, rows: Sequence[RowSpec], today: date) -> Gantt:
    dates = [d for r in rows for b in r.bars for d in (b.start, b.end) if d] + [
        m[0] for r in rows for m in r.markers
    ]
    first_fy = fiscal_year(min(dates, default=today))
    last_fy = fiscal_year(max(dates, default=today))
    first_fy, last_fy = min(first_fy, fiscal_year(today)), max(last_fy, fiscal_year(today))
    lo, hi = date(first_fy, 4, 1), date(last_fy + 1, 4, 1)
    span = (hi - lo).days

    def x_of(d: date) -> float:
        return round(LABEL_WIDTH + PLOT_WIDTH * (d - lo).days / span, 1)

    ticks = []
    for fy in range(first_fy, last_fy + 1):
        x0, x1 = x_of(date(fy, 4, 1)), x_of(date(fy + 1, 4, 1))
        ticks.append(Tick(x=x0, width=round(x1 - x0, 1), label=fiscal_year_label(fy)))
    out: list[GanttRow] = []
    y = AXIS_HEIGHT
    for spec in rows:
        row = GanttRow(label=spec.label, href=spec.href, heading=spec.heading, y=y)
        for b in spec.bars:
            if b.start is None and b.end is None:
                continue
            start, end = b.start or b.end, b.end or b.start
            assert start is not None and end is not None
            if end < start:
                start, end = end, start
            x = x_of(start)
            row.bars.append(
                Bar(
                    x=x,
                    width=max(3.0, round(x_of(end) - x, 1)),
                    css=b.css,
                    label=f"{b.label} {to_wareki(start)}〜{to_wareki(end)}",
                )
            )
        for when, css, label in spec.markers:
            row.markers.append(Marker(x=x_of(when), css=css, label=f"{label} {to_wareki(when)}"))
        out.append(row)
        y += ROW_HEIGHT
    today_x = x_of(today) if lo <= today < hi else None
    return Gantt(title=title, rows=out, ticks=ticks, today_x=today_x, height=y + 8)


@dataclass
class Point:
    x: float
    y: float
    label: str


@dataclass
class Series:
    name: str
    css: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(self.points))


@dataclass
class LineChart:
    title: str
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = 720
    height: int = 300


def line_chart(
    *, title: str, dates: Sequence[date], series: Sequence[tuple[str, str, Sequence[Decimal | None]]]
) -> LineChart:
    """A percentage line chart: ``series`` is (name, css class, a value per date or None)."""
    left, right, top, bottom, width, height = 72, 72, 16, 40, 720, 300
    values = [v for _, _, vs in series for v in vs if v is not None]
    hi = float(max(values, default=Decimal(100)))
    lo = float(min(values, default=Decimal(0)))
    step = 10.0 if hi - lo > 20 else 5.0 if hi - lo > 5 else 1.0
    y_min = max(0.0, (lo // step) * step)
    y_max = max(y_min + step, -(-hi // step) * step)

    def y_of(v: float) -> float:
        return round(top + (height - top - bottom) * (1 - (v - y_min) / (y_max - y_min)), 1)

    n = len(dates)

    def x_of(i: int) -> float:
        if n == 1:
            return left + (width - left - right) / 2
        return round(left + (width - left - right) * i / (n - 1), 1)

    y_ticks = []
    v = y_min
    while v <= y_max + 1e-9:
        y_ticks.append(Tick(x=y_of(v), label=f"{v:g}%"))
        v += step
    x_ticks = [Tick(x=x_of(i), label=to_wareki(d)) for i, d in enumerate(dates)]
    if n > 6:  # keep the axis readable: label about six dates
        every = -(-n // 6)
        x_ticks = [
            t if i % every == 0 or i == n - 1 else Tick(x=t.x, label="") for i, t in enumerate(x_ticks)
        ]
    out = []
    for name, css, vs in series:
        points = [
            Point(x=x_of(i), y=y_of(float(val)), label=f"{name} {to_wareki(dates[i])} {val}%")
            for i, val in enumerate(vs)
            if val is not None
        ]
        out.append(Series(name=name, css=css, points=points))
    return LineChart(title=title, series=out, y_ticks=y_ticks, x_ticks=x_ticks, width=width, height=height)
