"""``madoguchi nursery generate`` then ``match`` end to end; bad input exits 2 without running."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook


@pytest.mark.parametrize("solver", ["rule", "stable", "exact"])
def test_generate_then_match(tmp_path: Path, solver: str) -> None:
    out = StringIO()
    call_command(
        "nursery",
        "generate",
        "--children",
        "300",
        "--facilities",
        "15",
        "--seed",
        "4",
        "--out",
        str(tmp_path),
        stdout=out,
    )
    assert "300 人" in out.getvalue()
    out = StringIO()
    call_command(
        "nursery",
        "match",
        "--children",
        str(tmp_path / "children.csv"),
        "--facilities",
        str(tmp_path / "facilities.csv"),
        "--solver",
        solver,
        "--out",
        str(tmp_path / "r.csv"),
        "--xlsx",
        str(tmp_path / "r.xlsx"),
        "--summary",
        str(tmp_path / "s.json"),
        stdout=out,
    )
    text = out.getvalue()
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert f"内定: {summary['placed']} 人" in text and "ブロッキング提携" in text
    assert summary["placed"] + summary["unplaced"] == 300
    if solver == "exact":
        assert summary["status"] == "OPTIMAL" and summary["blocking_coalitions"] == 0
        assert "解法: exact (OPTIMAL)" in text
    assert sum(summary["placed_by_age"].values()) == summary["placed"]
    v = summary["verifier"]
    assert v["capacity"] == v["wish"] == v["transfer"] == v["sibling"] == 0
    rows = (tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 301 and rows[0].endswith("入所選考結果保育所ID,入所選考結果保育所名")
    assert load_workbook(tmp_path / "r.xlsx")["結果"].max_row == 301


def test_invalid_input_exits_2_and_names_the_cell(tmp_path: Path) -> None:
    call_command(
        "nursery",
        "generate",
        "--children",
        "20",
        "--facilities",
        "3",
        "--out",
        str(tmp_path),
        stdout=StringIO(),
    )
    children = tmp_path / "children.csv"
    lines = children.read_text(encoding="utf-8-sig").splitlines()
    cells = lines[3].split(",")
    cells[2] = "6"
    lines[3] = ",".join(cells)
    children.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "nursery",
            "match",
            "--children",
            str(children),
            "--facilities",
            str(tmp_path / "facilities.csv"),
            "--out",
            str(tmp_path / "r.csv"),
            stderr=err,
        )
    assert info.value.returncode == 2
    assert "【nursery.csv.bad_age】children.csv 4行目 年齢: 0〜5 の整数にしてください" in err.getvalue()
    assert not (tmp_path / "r.csv").exists()
