"""利用調整基準指数 from a ruleset kept as data: guardians' 基準指数 (就労 by weekly hours …), combined by
sum / lower / average, 調整指数, the tie-break chain; bad rulesets and rows named with codes."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.nursery import io
from madoguchi.nursery.instance import NurseryInputError
from madoguchi.nursery.points import children_from_applicants, ruleset_from_json

RULESET = {
    "name": "みどり市 令和8年度",
    "reasons": {
        "就労": {"weekly_hours": [[40, 10], [35, 9], [30, 8], [20, 6], [0, 4]]},
        "疾病": 10,
        "不在": 10,
    },
    "combine": "sum",
    "adjustments": {"ひとり親": 5, "兄弟在園": 2, "同居祖父母": -1},
    "tiebreak": ["ひとり親", "兄弟在園", "所得の低い順"],
}
HEADER = "申請者番号,世帯番号,年齢,父の事由,父の就労時間,母の事由,母の就労時間,調整項目,所得,希望保育園ID_1,希望保育園ID_2,在籍保育所ID,きょうだいパターン"


def csv_of(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8-sig")


def test_points_and_chain_follow_the_ruleset() -> None:
    rules = ruleset_from_json(json.dumps(RULESET, ensure_ascii=False))
    kids = children_from_applicants(
        csv_of(
            "A1,H1,0,就労,40,就労,３２,,5000000,F1,F2,,",  # 10 + 8 (全角 hours folded)
            "A2,H2,1,不在,,就労,45,ひとり親、同居祖父母,2000000,F2,,,",  # 10 + 10 + 5 − 1
            "A3,H3,2,就労,20,,,,,F1,,F9,",  # 6 + 0, a transfer applicant at F9
        ),
        rules,
    )
    by_id = {c.id: c for c in kids}
    assert by_id["A1"].points == 18 and by_id["A2"].points == 24 and by_id["A3"].points == 6
    assert by_id["A2"].tiebreak == (1.0, 0.0, -2000000.0) and by_id["A1"].tiebreak == (0.0, 0.0, -5000000.0)
    assert by_id["A3"].current == "F9" and by_id["A1"].wishes == ("F1", "F2")
    lower = ruleset_from_json(json.dumps({**RULESET, "combine": "lower"}))
    assert children_from_applicants(csv_of("A1,H1,0,就労,40,就労,32,,,F1,,,"), lower)[0].points == 8


@given(st.integers(min_value=0, max_value=80), st.integers(min_value=0, max_value=80))
def test_more_hours_never_fewer_points(a: int, b: int) -> None:
    rules = ruleset_from_json(json.dumps(RULESET, ensure_ascii=False))
    lo, hi = sorted((a, b))
    assert rules.guardian("就労", lo) <= rules.guardian("就労", hi)


def test_bad_ruleset_and_rows_are_named_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(NurseryInputError) as exc:
        ruleset_from_json(
            json.dumps(
                {
                    "reasons": {"就労": {"weekly_hours": [[0, 4], [40, 10]]}},
                    "combine": "max",
                    "tiebreak": ["未知"],
                },
                ensure_ascii=False,
            )
        )
    codes = {p.code for p in exc.value.problems}
    assert {"nursery.ruleset.hours", "nursery.ruleset.combine", "nursery.ruleset.tiebreak"} <= codes
    rules = ruleset_from_json(json.dumps(RULESET, ensure_ascii=False))
    with pytest.raises(NurseryInputError) as exc:
        children_from_applicants(
            csv_of("A1,H1,7,就労,四十,転職,,ひとり暮らし,,F1,,,"), rules, file="申請.csv"
        )
    messages = [str(p) for p in exc.value.problems]
    assert any("申請.csv 2行目「年齢」" in m for m in messages)
    assert {p.code for p in exc.value.problems} >= {
        "nursery.points.age",
        "nursery.points.number",
        "nursery.points.reason",
        "nursery.points.adjustment",
    }
    (tmp_path / "r.json").write_text(json.dumps(RULESET, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "a.csv").write_bytes(csv_of("A1,H1,7,就労,40,,,,,F1,,,"))
    with pytest.raises(CommandError):
        _points_command(tmp_path, stdout=StringIO(), stderr=StringIO())
    assert not (tmp_path / "children.csv").exists()


def test_command_writes_chilmai_layout_the_solvers_read(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps(RULESET, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "a.csv").write_bytes(
        csv_of("A1,H1,0,就労,40,就労,40,,3000000,F1,,,", "A2,H2,0,不在,,就労,40,ひとり親,,F1,,,")
    )
    (tmp_path / "f.csv").write_text(
        "保育所ID,保育所名,0歳募集人数,1歳募集人数,2歳募集人数,3歳募集人数,4歳募集人数,5歳募集人数\nF1,みどり保育園,1,0,0,0,0,0\n",
        encoding="utf-8",
    )
    out = StringIO()
    _points_command(tmp_path, stdout=out)
    assert "2 人の点数" in out.getvalue()
    instance = io.read_instance(tmp_path / "children.csv", tmp_path / "f.csv")
    assert {c.id: c.points for c in instance.children} == {"A1": 20, "A2": 25}
    from madoguchi.nursery.solvers import solvers

    assert solvers["exact"].solve(instance).assignment == {
        "A1": None,
        "A2": "F1",
    }  # ひとり親 +5 wins the seat


def _points_command(tmp_path: Path, **streams: StringIO) -> None:
    """``nursery_points`` on tmp_path's a.csv and r.json, writing children.csv."""
    call_command(
        "nursery_points",
        "--applicants",
        str(tmp_path / "a.csv"),
        "--ruleset",
        str(tmp_path / "r.json"),
        "--out",
        str(tmp_path / "children.csv"),
        **streams,
    )
