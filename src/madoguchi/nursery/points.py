"""利用調整基準指数 from a ruleset kept as data (per municipality, per year): each guardian's 基準指数
from the reason care is needed (就労 by weekly hours, 疾病, 介護 …), the two combined by sum, the lower
or the average, 調整指数 items added or subtracted, and a tie-break chain — written out as ChilmAI's
申込者データ (点数, タイブレーク1…N), so every solver reads the same points.

Ruleset (JSON)::

    {"name": "みどり市 令和8年度",
     "reasons": {"就労": {"weekly_hours": [[40, 10], [35, 9], [30, 8], [20, 6], [0, 4]]},
                 "疾病": 10, "介護": 8, "就学": 7, "求職": 3, "不在": 10},
     "combine": "sum",                                   # sum | lower | average
     "adjustments": {"ひとり親": 5, "兄弟在園": 2, "同居祖父母": -1},
     "tiebreak": ["ひとり親", "兄弟在園", "所得の低い順"]}   # 調整項目 names, or 所得の低い順

Applicants (申請者データ, our layout, one row per child): 申請者番号, 世帯番号, 年齢, 父の事由, 父の就労時間,
母の事由, 母の就労時間, 調整項目 (「ひとり親、兄弟在園」), 所得, 希望保育園ID_1…N, 在籍保育所ID,
きょうだいパターン. A guardian with no reason given scores 0 (a single-parent household marks the
absent one 不在). Every problem is named with row, column and code; nothing is written then.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from madoguchi.nursery.instance import Child, NurseryInputError, Problem
from madoguchi.nursery.io import WISH_RE, clean_id, decode

COMBINE = ("sum", "lower", "average")
INCOME = "所得の低い順"
COLUMNS = (
    "申請者番号",
    "世帯番号",
    "年齢",
    "父の事由",
    "父の就労時間",
    "母の事由",
    "母の就労時間",
    "調整項目",
    "所得",
)


@dataclass(frozen=True)
class Ruleset:
    name: str
    reasons: dict[str, Any]
    combine: str = "sum"
    adjustments: dict[str, float] = field(default_factory=dict)
    tiebreak: tuple[str, ...] = ()

    def guardian(self, reason: str, hours: float | None) -> float:
        if not reason:
            return 0.0
        rule = self.reasons[reason]
        if isinstance(rule, dict):
            for minimum, points in rule["weekly_hours"]:
                if (hours or 0) >= minimum:
                    return float(points)
            return 0.0
        return float(rule)

    def points(self, father: float, mother: float, items: list[str]) -> float:
        base = {"sum": father + mother, "lower": min(father, mother), "average": (father + mother) / 2}[
            self.combine
        ]
        return base + sum(self.adjustments[i] for i in items)

    def chain(self, items: list[str], income: float | None) -> tuple[float, ...]:
        return tuple(-(income or 0.0) if t == INCOME else float(t in items) for t in self.tiebreak)


def ruleset_from_json(text: str) -> Ruleset:
    problems: list[Problem] = []

    def bad(code: str, message: str) -> None:
        problems.append(Problem(code, f"基準表: {message}"))

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NurseryInputError(
            [Problem("nursery.ruleset.json", f"基準表: JSON として読めません（{exc.lineno} 行目）")]
        ) from None
    if not isinstance(data, dict):
        raise NurseryInputError(
            [Problem("nursery.ruleset.json", "基準表: JSON のオブジェクトにしてください")]
        )
    reasons = data.get("reasons")
    if not isinstance(reasons, dict) or not reasons:
        bad("nursery.ruleset.reasons", "reasons（事由ごとの基準指数）がありません")
        reasons = {}
    for name, rule in reasons.items():
        if isinstance(rule, dict):
            steps = rule.get("weekly_hours")
            ok = (
                isinstance(steps, list)
                and steps
                and all(
                    isinstance(s, list) and len(s) == 2 and all(isinstance(v, int | float) for v in s)
                    for s in steps
                )
            )
            if not ok or [s[0] for s in steps or []] != sorted((s[0] for s in steps or []), reverse=True):
                bad(
                    "nursery.ruleset.hours",
                    f"「{name}」の weekly_hours は [時間, 点数] を時間の多い順に並べてください",
                )
        elif not isinstance(rule, int | float):
            bad("nursery.ruleset.reason", f"「{name}」の基準指数は数値か weekly_hours にしてください")
    combine = data.get("combine", "sum")
    if combine not in COMBINE:
        bad("nursery.ruleset.combine", "combine は sum・lower・average のどれかにしてください")
    adjustments = data.get("adjustments", {})
    if not isinstance(adjustments, dict) or not all(isinstance(v, int | float) for v in adjustments.values()):
        bad("nursery.ruleset.adjustments", "adjustments は 項目名: 点数 にしてください")
        adjustments = {}
    tiebreak = data.get("tiebreak", [])
    if not isinstance(tiebreak, list):
        bad("nursery.ruleset.tiebreak", "tiebreak は項目名のリストにしてください")
        tiebreak = []
    for t in tiebreak:
        if t != INCOME and t not in adjustments:
            bad("nursery.ruleset.tiebreak", f"tiebreak の「{t}」は調整項目にも「{INCOME}」にもありません")
    if problems:
        raise NurseryInputError(problems)
    return Ruleset(str(data.get("name", "")), reasons, combine, dict(adjustments), tuple(tiebreak))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def children_from_applicants(data: bytes, ruleset: Ruleset, *, file: str = "applicants.csv") -> list[Child]:
    """The applicants with their points and tie-break chain computed by the ruleset."""
    rows = list(csv.reader(io.StringIO(decode(data))))
    if not rows:
        raise NurseryInputError([Problem("nursery.points.empty", f"{file}: 空のファイルです")])
    header = [_fold(h) for h in rows[0]]
    problems: list[Problem] = []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise NurseryInputError(
            [Problem("nursery.points.column", f"{file}: 列がありません: {'、'.join(missing)}")]
        )
    at = {h: i for i, h in enumerate(header)}
    wishes = sorted(((int(m.group(1)), i) for i, h in enumerate(header) if (m := WISH_RE.match(h))))
    children = []
    for n, row in enumerate(rows[1:], start=2):
        if any(cell.strip() for cell in row):
            child = _applicant(
                _Row(file, n, {h: _fold(row[i]) if i < len(row) else "" for h, i in at.items()}, problems),
                row,
                wishes,
                ruleset,
            )
            if child is not None:
                children.append(child)
    if problems:
        raise NurseryInputError(problems)
    return children


@dataclass
class _Row:
    file: str
    n: int
    cell: dict[str, str]
    problems: list[Problem]
    failed: bool = False

    def fail(self, column: str, code: str, message: str) -> None:
        self.failed = True
        self.problems.append(Problem(code, f"{self.file} {self.n}行目「{column}」: {message}"))

    def number(self, column: str, *, required: bool = False) -> float | None:
        text = self.cell[column].replace(",", "")
        if not text:
            if required:
                self.fail(column, "nursery.points.required", "値がありません")
            return None
        try:
            return float(text)
        except ValueError:
            self.fail(column, "nursery.points.number", f"数値ではありません（{text[:20]}）")
            return None


def _applicant(r: _Row, row: list[str], wishes: list[tuple[int, int]], ruleset: Ruleset) -> Child | None:
    cell = r.cell
    items = [
        i for i in (p.strip() for p in cell["調整項目"].replace("、", ",").replace(";", ",").split(",")) if i
    ]
    for item in items:
        if item not in ruleset.adjustments:
            r.fail("調整項目", "nursery.points.adjustment", f"基準表にない調整項目です（{item}）")
    scores = []
    for who in ("父", "母"):
        reason = cell[f"{who}の事由"]
        if reason and reason not in ruleset.reasons:
            r.fail(f"{who}の事由", "nursery.points.reason", f"基準表にない事由です（{reason}）")
            continue
        hours = r.number(f"{who}の就労時間")
        scores.append(ruleset.guardian(reason, hours) if reason else 0.0)
    age = r.number("年齢", required=True)
    if age is not None and (not age.is_integer() or not 0 <= age <= 5):
        r.fail("年齢", "nursery.points.age", "0〜5 の整数にしてください")
    income = r.number("所得")
    if not cell["申請者番号"] or not cell["世帯番号"]:
        r.fail("申請者番号", "nursery.points.id", "申請者番号と世帯番号は必須です")
    pattern = r.number("きょうだいパターン") if "きょうだいパターン" in cell else None
    if r.failed:
        return None
    return Child(
        id=clean_id(cell["申請者番号"]),
        household=clean_id(cell["世帯番号"]),
        age=int(age or 0),
        points=ruleset.points(scores[0], scores[1], items),
        wishes=tuple(clean_id(row[i]) for _, i in wishes if i < len(row) and row[i].strip()),
        current=(clean_id(cell["在籍保育所ID"]) or None) if "在籍保育所ID" in cell else None,
        pattern=int(pattern or 0),
        tiebreak=ruleset.chain(items, income),
    )
