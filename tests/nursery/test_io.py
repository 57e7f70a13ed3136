"""ChilmAI's CSV layout in and out, encodings, validation messages with row and column, our JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from madoguchi.nursery import io
from madoguchi.nursery.instance import NurseryInputError
from madoguchi.nursery.solvers import solvers

CHILDREN = (
    "申請者番号,世帯番号,年齢,点数1,点数2,希望保育園ID_1,希望保育園ID_2,在籍保育所ID,きょうだいパターン\n"
    "201,2001,3,90,90,10,20,,\n"
    "202,2002,3,85,85,10,30,20,\n"
    "203,2003,3,75,75,20,30,,\n"
    "204,2004,3,65,65,20,30,,1\n"
    "205,2004,3,65,65,20,30,,1\n"
)
FACILITIES = (
    "保育所ID,保育所名,0歳募集人数,1歳募集人数,2歳募集人数,3歳募集人数,4歳募集人数,5歳募集人数\n"
    "10,あおば保育園,0,0,0,1,0,0\n"
    "20,みどり保育園,0,0,0,1,0,0\n"
    "30,わかば保育園,0,0,0,3,0,0\n"
)


def _write(
    tmp_path: Path, children: str = CHILDREN, facilities: str = FACILITIES, encoding: str = "utf-8"
) -> tuple[Path, Path]:
    c, f = tmp_path / "children.csv", tmp_path / "facilities.csv"
    c.write_bytes(children.encode(encoding))
    f.write_bytes(facilities.encode(encoding))
    return c, f


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_reads_chilmai_layout_in_every_encoding(tmp_path: Path, encoding: str) -> None:
    instance = io.read_instance(*_write(tmp_path, encoding=encoding))
    assert [f.name for f in instance.facilities] == ["あおば保育園", "みどり保育園", "わかば保育園"]
    c = instance.child_by_id["202"]
    assert (c.age, c.points, c.wishes, c.current, c.wish_points) == (3, 85, ("10", "30"), "20", (85, 85))
    assert instance.child_by_id["204"].pattern == 1
    assert instance.capacity("20", 3) == 2  # 1 募集 + the seat of transfer applicant 202


def test_fullwidth_headers_and_excel_ids(tmp_path: Path) -> None:
    children = CHILDREN.replace("点数1", "点数１").replace("201,2001", "201.0,2001.0")
    instance = io.read_instance(*_write(tmp_path, children=children))
    assert instance.child_by_id["201"].household == "2001"


def test_result_csv_and_xlsx(tmp_path: Path) -> None:
    instance = io.read_instance(*_write(tmp_path))
    result = solvers["rule"].solve(instance)
    out = tmp_path / "result.csv"
    io.write_result_csv(instance, result, out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].endswith("入所選考結果保育所ID,入所選考結果保育所名")
    assert lines[1].startswith("201,2001,3,90,90,10,20,") and lines[1].endswith(",10,あおば保育園")
    # the result file is itself a valid children file (extra columns are ignored)
    again = io.read_instance(out, tmp_path / "facilities.csv")
    assert again.children == instance.children
    xlsx = tmp_path / "result.xlsx"
    io.write_result_xlsx(instance, result, xlsx, {"placed": result.stats.placed})
    wb = load_workbook(xlsx)
    assert wb["結果"]["A2"].value == "201"
    assert wb["集計"]["B1"].value == result.stats.placed


def test_json_round_trip(tmp_path: Path) -> None:
    instance = io.read_instance(*_write(tmp_path))
    again = io.instance_from_json(io.instance_to_json(instance))
    assert again.children == instance.children and again.facilities == instance.facilities


def test_combinations_file(tmp_path: Path) -> None:
    children = CHILDREN.replace(",,1\n", ",,\n")
    c, f = _write(tmp_path, children=children)
    x = tmp_path / "combinations.csv"
    x.write_text(
        "ファミリーコード,総当たり順位,宛名コード1,希望施設1,宛名コード2,希望施設2\n"
        "2004,1,204,30,205,30\n2004,2,204,20,205,\n",
        encoding="utf-8-sig",
    )
    instance = io.read_instance(c, f, x)
    unit = instance.unit_of["204"]
    assert unit.options == (("30", "30"), ("20", None), (None, None))


def _problems(tmp_path: Path, children: str = CHILDREN, facilities: str = FACILITIES) -> list[str]:
    with pytest.raises(NurseryInputError) as info:
        io.read_instance(*_write(tmp_path, children=children, facilities=facilities))
    return [str(p) for p in info.value.problems]


def test_validation_names_row_and_column(tmp_path: Path) -> None:
    bad = CHILDREN.replace("203,2003,3,", "203,2003,7,").replace(
        "201,2001,3,90,90,10,20", "201,2001,3,9x,90,10,99"
    )
    problems = _problems(tmp_path, children=bad)
    assert "【nursery.csv.bad_age】children.csv 4行目 年齢: 0〜5 の整数にしてください" in problems
    assert any(p.startswith("【nursery.csv.bad_points】children.csv 2行目 点数1") for p in problems)
    assert any(
        p.startswith("【nursery.csv.unknown_facility】children.csv 2行目 希望保育園ID_2") for p in problems
    )


@pytest.mark.parametrize(
    ("children", "facilities", "code"),
    [
        (CHILDREN.replace(",きょうだいパターン", ""), FACILITIES, "nursery.csv.missing_column"),
        (CHILDREN.replace("202,2002", "201,2002"), FACILITIES, "nursery.csv.duplicate_id"),
        (CHILDREN.replace(",,1\n", ",,9\n"), FACILITIES, "nursery.csv.bad_pattern"),
        (
            CHILDREN.replace("204,2004,3,65,65,20,30,,1", "204,2004,3,65,65,20,30,,2"),
            FACILITIES,
            "nursery.csv.pattern_mismatch",
        ),
        (
            CHILDREN.replace("205,2004,3,65,65,20,30", "205,2004,3,65,65,10,"),
            FACILITIES,
            "nursery.csv.no_common_facility",
        ),
        (CHILDREN.replace(",,1\n", ",,\n"), FACILITIES, "nursery.csv.pattern_missing"),
        (
            CHILDREN.replace("202,2002,3,85,85,10,30,20", "202,2002,3,85,85,10,20,20"),
            FACILITIES,
            "nursery.csv.current_in_wishes",
        ),
        (
            CHILDREN.replace("203,2003,3,75,75,20,30", "203,2003,3,75,75,,"),
            FACILITIES,
            "nursery.csv.no_wishes",
        ),
        (
            CHILDREN,
            FACILITIES.replace("30,わかば保育園,0,0,0,3", "30,わかば保育園,0,0,0,-1"),
            "nursery.csv.bad_capacity",
        ),
    ],
)
def test_validation_codes(tmp_path: Path, children: str, facilities: str, code: str) -> None:
    assert any(p.startswith(f"【{code}】") for p in _problems(tmp_path, children, facilities))


def test_excel_files_read_like_their_csv(tmp_path: Path) -> None:
    """ChilmAI's layout saved from Excel (.xlsx, first sheet) reads exactly as the CSV does."""
    import csv as csvlib

    from openpyxl import Workbook

    from madoguchi.nursery.generate import generate_instance

    instance = generate_instance(children=60, facilities=4, seed=2)
    io.write_children_csv(instance, tmp_path / "children.csv")
    io.write_facilities_csv(instance, tmp_path / "facilities.csv")
    for name in ("children", "facilities"):
        wb = Workbook()
        ws = wb.active
        for row in csvlib.reader((tmp_path / f"{name}.csv").read_text(encoding="utf-8-sig").splitlines()):
            ws.append([int(v) if v.isdigit() and not v.startswith("0") else v for v in row])
        wb.save(tmp_path / f"{name}.xlsx")
    from_csv = io.read_instance(tmp_path / "children.csv", tmp_path / "facilities.csv")
    from_xlsx = io.read_instance(tmp_path / "children.xlsx", tmp_path / "facilities.xlsx")
    assert from_xlsx.children == from_csv.children and from_xlsx.facilities == from_csv.facilities
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(NurseryInputError) as exc:
        io.read_instance(tmp_path / "broken.xlsx", tmp_path / "facilities.csv")
    assert exc.value.problems[0].code == "nursery.xlsx.format"
