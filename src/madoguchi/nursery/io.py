"""Files: ChilmAI's default CSV layout (read unchanged), our JSON (round trip), results as CSV/Excel.

Children (申込者データ, one row per child): 申請者番号, 世帯番号, 年齢, 点数 or 点数1…N (per wish),
希望保育園ID_1…N (no limit), 在籍保育所ID, きょうだいパターン; optional タイブレーク1…N (larger wins).
Facilities (保育所データ): 保育所ID, 保育所名, 0歳募集人数 … 5歳募集人数. Combinations (組み合わせ
ファイル, optional): ファミリーコード, 総当たり順位, 宛名コードN, 希望施設N (blank = 未入所).

Headers are folded with NFKC (全角/半角 alike, as ChilmAI). IDs are compared as text after trimming
and dropping an Excel ``.0``. Files may be UTF-8 (with or without BOM) or cp932. Every problem is
collected with its code, file, row and column; nothing runs when there is one.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import asdict
from pathlib import Path
from typing import Any

from madoguchi.nursery.instance import (
    AGES,
    PATTERNS,
    SAME_FACILITY_PATTERNS,
    Child,
    Combination,
    Facility,
    Instance,
    NurseryInputError,
    Problem,
)
from madoguchi.nursery.result import Result

CHILD_ID, HOUSEHOLD, AGE, POINTS, CURRENT, PATTERN = (
    "申請者番号",
    "世帯番号",
    "年齢",
    "点数",
    "在籍保育所ID",
    "きょうだいパターン",
)
WISH_RE = re.compile(r"^希望保育園ID_(\d+)$")
POINTS_RE = re.compile(r"^点数(\d+)$")
TIEBREAK_RE = re.compile(r"^タイブレーク(\d+)$")
FAC_ID, FAC_NAME = "保育所ID", "保育所名"
CAP_RE = re.compile(r"^([0-5])歳募集人数$")
COMBO_FAMILY, COMBO_RANK = "ファミリーコード", "総当たり順位"
COMBO_CHILD_RE = re.compile(r"^宛名コード(\d+)$")
COMBO_FAC_RE = re.compile(r"^希望施設(\d+)$")
RESULT_ID, RESULT_NAME = "入所選考結果保育所ID", "入所選考結果保育所名"


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), else cp932 (Excel's Japanese CSV)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if not rows:
        return [], []
    header = [unicodedata.normalize("NFKC", h).strip() for h in rows[0]]
    return header, rows[1:]


def clean_id(value: str) -> str:
    v = value.strip()
    return v[:-2] if re.fullmatch(r"\d+\.0", v) else v


def _numbered(header: list[str], pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """(number, column index) of the headers matching ``pattern``, by number."""
    found = [(int(m.group(1)), i) for i, h in enumerate(header) if (m := pattern.match(h))]
    return sorted(found)


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, code: str, row: int | None, column: str | None, text: str) -> None:
        where = self.file + (f" {row}行目" if row is not None else "") + (f" {column}" if column else "")
        self.problems.append(Problem(f"nursery.csv.{code}", f"{where}: {text}"))


def _number(col: _Collector, row: int, column: str, value: str, code: str) -> float | None:
    v = value.strip()
    try:
        return float(v) if "." in v or "e" in v.lower() else int(v)
    except ValueError:
        col.add(code, row, column, "数値にしてください" + (f"（「{v}」）" if v else "（空欄）"))
        return None


def parse_facilities(text: str, *, file: str = "facilities.csv") -> tuple[list[Facility], list[Problem]]:
    col = _Collector(file)
    header, rows = _rows(text)
    caps = dict((n, i) for n, i in _numbered(header, CAP_RE))
    for name in (FAC_ID, FAC_NAME):
        if name not in header:
            col.add("missing_column", None, name, "列がありません")
    for age in AGES:
        if age not in caps:
            col.add("missing_column", None, f"{age}歳募集人数", "列がありません")
    if col.problems:
        return [], col.problems
    facilities: list[Facility] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        cells = row + [""] * (len(header) - len(row))
        fid = clean_id(cells[header.index(FAC_ID)])
        if not fid:
            col.add("missing_id", n, FAC_ID, "空欄です")
            continue
        if fid in seen:
            col.add("duplicate_id", n, FAC_ID, f"「{fid}」が重複しています")
        seen.add(fid)
        capacity = []
        for age in AGES:
            raw = cells[caps[age]].strip() or "0"
            if not re.fullmatch(r"\d+(\.0)?", raw):
                col.add("bad_capacity", n, f"{age}歳募集人数", "0 以上の整数にしてください")
                capacity.append(0)
            else:
                capacity.append(int(float(raw)))
        facilities.append(Facility(fid, cells[header.index(FAC_NAME)].strip(), tuple(capacity)))  # type: ignore[arg-type]
    return facilities, col.problems


def parse_children(
    text: str, facility_ids: set[str], *, file: str = "children.csv"
) -> tuple[list[Child], list[Problem]]:
    col = _Collector(file)
    header, rows = _rows(text)
    wish_cols = _numbered(header, WISH_RE)
    points_cols = _numbered(header, POINTS_RE)
    tie_cols = _numbered(header, TIEBREAK_RE)
    for name in (CHILD_ID, HOUSEHOLD, AGE, CURRENT, PATTERN):
        if name not in header:
            col.add("missing_column", None, name, "列がありません（値は空欄でも列は必要です）")
    if POINTS not in header and not points_cols:
        col.add("missing_column", None, "点数", "「点数」または「点数1」…の列がありません")
    if not wish_cols:
        col.add("missing_column", None, "希望保育園ID_1", "希望の列がありません")
    if col.problems:
        return [], col.problems
    ix = {name: header.index(name) for name in (CHILD_ID, HOUSEHOLD, AGE, CURRENT, PATTERN)}
    children: list[Child] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        cells = row + [""] * (len(header) - len(row))
        before = len(col.problems)
        cid = clean_id(cells[ix[CHILD_ID]])
        hid = clean_id(cells[ix[HOUSEHOLD]])
        if not cid:
            col.add("missing_id", n, CHILD_ID, "空欄です")
        elif cid in seen:
            col.add("duplicate_id", n, CHILD_ID, f"「{cid}」が重複しています")
        seen.add(cid)
        if not hid:
            col.add("missing_household", n, HOUSEHOLD, "空欄です")
        raw_age = cells[ix[AGE]].strip()
        age = int(float(raw_age)) if re.fullmatch(r"[0-5](\.0)?", raw_age) else -1
        if age < 0:
            col.add("bad_age", n, AGE, "0〜5 の整数にしてください")
        wishes: list[str] = []
        wish_numbers: list[int] = []
        for number, i in wish_cols:
            w = clean_id(cells[i])
            if not w:
                continue
            column = header[i]
            if w not in facility_ids:
                col.add("unknown_facility", n, column, f"保育所「{w}」は保育所データにありません")
            elif w in wishes:
                col.add("duplicate_wish", n, column, f"保育所「{w}」を重ねて希望しています")
            wishes.append(w)
            wish_numbers.append(number)
        current = clean_id(cells[ix[CURRENT]]) or None
        if current is not None and current not in facility_ids:
            col.add("unknown_facility", n, CURRENT, f"保育所「{current}」は保育所データにありません")
        if current is not None and current in wishes:
            col.add("current_in_wishes", n, CURRENT, "在籍中の保育所を希望の列に書かないでください")
        if not wishes:
            col.add("no_wishes", n, "希望保育園ID_1", "希望する保育所が1つもありません")
        raw_pattern = cells[ix[PATTERN]].strip()
        pattern = 0
        if raw_pattern:
            if re.fullmatch(r"[1-7](\.0)?", raw_pattern):
                pattern = int(float(raw_pattern))
            else:
                col.add("bad_pattern", n, PATTERN, "1〜7 の整数か空欄にしてください")
        points: float = 0
        wish_points: tuple[float, ...] | None = None
        if points_cols:
            by_number = dict(points_cols)
            values: list[float] = []
            for number in wish_numbers:
                if number not in by_number:
                    col.add(
                        "missing_column", n, f"点数{number}", f"希望{number}に対応する点数の列がありません"
                    )
                    continue
                v = _number(col, n, f"点数{number}", cells[by_number[number]], "bad_points")
                values.append(v if v is not None else 0)
            wish_points = tuple(values)
            points = values[0] if values else 0
        else:
            v = _number(col, n, POINTS, cells[header.index(POINTS)], "bad_points")
            points = v if v is not None else 0
        tiebreak: list[float] = []
        for number, i in tie_cols:
            v = _number(col, n, f"タイブレーク{number}", cells[i] or "0", "bad_tiebreak")
            tiebreak.append(v if v is not None else 0)
        if len(col.problems) == before:
            children.append(
                Child(cid, hid, age, points, tuple(wishes), current, pattern, tuple(tiebreak), wish_points)
            )
    _check_households(col, children)
    return children, col.problems


def _check_households(col: _Collector, children: list[Child]) -> None:
    groups: dict[str, list[Child]] = {}
    for c in children:
        groups.setdefault(c.household, []).append(c)
    for hid, kids in groups.items():
        if len(kids) < 2:
            continue
        patterns = {c.pattern for c in kids if c.pattern}
        if len(patterns) > 1:
            col.add("pattern_mismatch", None, PATTERN, f"世帯 {hid} のきょうだいでパターンが異なります")
        elif patterns and patterns <= SAME_FACILITY_PATTERNS:
            common = set(kids[0].wishes).intersection(*(set(c.wishes) for c in kids[1:]))
            if not common:
                (p,) = patterns
                col.add(
                    "no_common_facility",
                    None,
                    PATTERN,
                    f"世帯 {hid} はパターン{p}（{PATTERNS[p]}）ですが、きょうだい全員に共通の希望保育所がありません",
                )


def parse_combinations(
    text: str, children: dict[str, Child], facility_ids: set[str], *, file: str = "combinations.csv"
) -> tuple[list[Combination], list[Problem]]:
    col = _Collector(file)
    header, rows = _rows(text)
    for name in (COMBO_FAMILY, COMBO_RANK):
        if name not in header:
            col.add("missing_column", None, name, "列がありません")
    kid_cols = dict(_numbered(header, COMBO_CHILD_RE))
    fac_cols = dict(_numbered(header, COMBO_FAC_RE))
    if col.problems:
        return [], col.problems
    combos: list[Combination] = []
    for n, row in enumerate(rows, start=2):
        cells = row + [""] * (len(header) - len(row))
        family = clean_id(cells[header.index(COMBO_FAMILY)])
        raw_rank = cells[header.index(COMBO_RANK)].strip()
        if not re.fullmatch(r"\d+", raw_rank):
            col.add("bad_rank", n, COMBO_RANK, "1 以上の整数にしてください")
            continue
        pairs: list[tuple[str, str | None]] = []
        for number, i in sorted(kid_cols.items()):
            cid = clean_id(cells[i])
            if not cid:
                continue
            if cid not in children or children[cid].household != family:
                col.add("unknown_child", n, header[i], f"世帯 {family} に申請者「{cid}」はいません")
                continue
            fac = clean_id(cells[fac_cols[number]]) if number in fac_cols else ""
            if fac and fac not in facility_ids:
                col.add(
                    "unknown_facility", n, f"希望施設{number}", f"保育所「{fac}」は保育所データにありません"
                )
            pairs.append((cid, fac or None))
        combos.append(Combination(family, int(raw_rank), tuple(pairs)))
    return combos, col.problems


XLSX_MAX_EXPANDED = 200 * 1024 * 1024
XLSX_MAX_ROWS = 200_000


def read_text(path: Path) -> str:
    """A file's text: CSV as it is (UTF-8, BOM, cp932), or the first sheet of an .xlsx as CSV text
    (ChilmAI reads both; numbers Excel stored as floats lose their ``.0``)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return decode(path.read_bytes())
    from madoguchi.core.spreadsheet import SpreadsheetUnreadable, xlsx_rows

    try:
        grid = xlsx_rows(
            path.read_bytes(), filename=path.name, max_rows=XLSX_MAX_ROWS, max_expanded=XLSX_MAX_EXPANDED
        )
    except SpreadsheetUnreadable as exc:
        raise NurseryInputError([Problem(f"nursery.xlsx.{exc.kind}", exc.message)]) from exc
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in grid:
        writer.writerow(["" if v is None else _num(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()


def read_instance(children: Path, facilities: Path, combinations: Path | None = None) -> Instance:
    """Read ChilmAI-layout files (CSV or .xlsx); raise ``NurseryInputError`` with every problem found."""
    facs, problems = parse_facilities(read_text(facilities), file=facilities.name)
    kids, more = parse_children(read_text(children), {f.id for f in facs}, file=children.name)
    problems += more
    combos: list[Combination] = []
    if combinations is not None:
        combos, more = parse_combinations(
            read_text(combinations),
            {c.id: c for c in kids},
            {f.id for f in facs},
            file=combinations.name,
        )
        problems += more
    combined = {c.household for c in combos}
    households: dict[str, list[Child]] = {}
    for c in kids:
        households.setdefault(c.household, []).append(c)
    for hid, members in households.items():
        if len(members) > 1 and hid not in combined and not any(c.pattern for c in members):
            problems.append(
                Problem(
                    "nursery.csv.pattern_missing",
                    f"{children.name} {PATTERN}: 世帯 {hid} はきょうだい申請ですがパターン（1〜7）も組み合わせもありません",
                )
            )
    if problems:
        raise NurseryInputError(problems)
    return Instance(tuple(facs), tuple(kids), tuple(combos), name=children.stem)


# ---- writing -------------------------------------------------------------------------------------


def children_rows(instance: Instance) -> tuple[list[str], list[list[Any]]]:
    n_wishes = max((len(c.wishes) for c in instance.children), default=1)
    per_wish = any(c.wish_points is not None for c in instance.children)
    n_tie = max((len(c.tiebreak) for c in instance.children), default=0)
    header = [CHILD_ID, HOUSEHOLD, AGE]
    header += [f"点数{i}" for i in range(1, n_wishes + 1)] if per_wish else [POINTS]
    header += [f"希望保育園ID_{i}" for i in range(1, n_wishes + 1)]
    header += [f"タイブレーク{i}" for i in range(1, n_tie + 1)]
    header += [CURRENT, PATTERN]
    rows: list[list[Any]] = []
    for c in instance.children:
        row: list[Any] = [c.id, c.household, c.age]
        if per_wish:
            pts = list(c.wish_points or [c.points] * len(c.wishes))
            row += [_num(p) for p in pts] + [""] * (n_wishes - len(pts))
        else:
            row.append(_num(c.points))
        row += list(c.wishes) + [""] * (n_wishes - len(c.wishes))
        row += [_num(t) for t in c.tiebreak] + [""] * (n_tie - len(c.tiebreak))
        row += [c.current or "", c.pattern or ""]
        rows.append(row)
    return header, rows


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # BOM: Excel opens it as UTF-8


def write_children_csv(instance: Instance, path: Path) -> None:
    path.write_bytes(_csv_bytes(*children_rows(instance)))


def write_facilities_csv(instance: Instance, path: Path) -> None:
    header = [FAC_ID, FAC_NAME, *(f"{a}歳募集人数" for a in AGES)]
    path.write_bytes(_csv_bytes(header, [[f.id, f.name, *f.capacity] for f in instance.facilities]))


def write_combinations_csv(instance: Instance, path: Path) -> None:
    width = max((len(c.assignment) for c in instance.combinations), default=1)
    header = [COMBO_FAMILY, COMBO_RANK]
    for i in range(1, width + 1):
        header += [f"宛名コード{i}", f"希望施設{i}"]
    rows = []
    for combo in instance.combinations:
        row: list[Any] = [combo.household, combo.rank]
        for cid, fac in combo.assignment:
            row += [cid, fac or ""]
        rows.append(row + [""] * (len(header) - len(row)))
    path.write_bytes(_csv_bytes(header, rows))


def result_rows(instance: Instance, result: Result) -> tuple[list[str], list[list[Any]]]:
    header, rows = children_rows(instance)
    names = {f.id: f.name for f in instance.facilities}
    for c, row in zip(instance.children, rows, strict=True):
        d = result.assignment.get(c.id)
        row += [d or "", names.get(d, "") if d else ""]
    return [*header, RESULT_ID, RESULT_NAME], rows


def write_result_csv(instance: Instance, result: Result, path: Path) -> None:
    path.write_bytes(_csv_bytes(*result_rows(instance, result)))


def write_result_xlsx(instance: Instance, result: Result, path: Path, summary: dict[str, Any]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "結果"
    header, rows = result_rows(instance, result)
    ws.append(header)
    for row in rows:
        ws.append(row)
    meta = wb.create_sheet("集計")
    for key, value in _flatten(summary):
        meta.append([key, value])
    wb.save(path)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in data.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        elif isinstance(v, list):
            out.append((f"{prefix}{k}", "\n".join(str(x) for x in v)))
        else:
            out.append((f"{prefix}{k}", v))
    return out


# ---- our JSON ------------------------------------------------------------------------------------


def instance_to_json(instance: Instance) -> str:
    data = {
        "format": "madoguchi.nursery/1",
        "name": instance.name,
        "facilities": [asdict(f) for f in instance.facilities],
        "children": [asdict(c) for c in instance.children],
        "combinations": [asdict(c) for c in instance.combinations],
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


def instance_from_json(text: str) -> Instance:
    data = json.loads(text)
    facilities = tuple(
        Facility(f["id"], f["name"], tuple(int(x) for x in f["capacity"]))  # type: ignore[arg-type]
        for f in data["facilities"]
    )
    children = tuple(
        Child(
            id=c["id"],
            household=c["household"],
            age=int(c["age"]),
            points=c["points"],
            wishes=tuple(c["wishes"]),
            current=c.get("current"),
            pattern=int(c.get("pattern") or 0),
            tiebreak=tuple(c.get("tiebreak") or ()),
            wish_points=tuple(c["wish_points"]) if c.get("wish_points") is not None else None,
        )
        for c in data["children"]
    )
    combinations = tuple(
        Combination(c["household"], int(c["rank"]), tuple((a, b) for a, b in c["assignment"]))
        for c in data.get("combinations", [])
    )
    return Instance(facilities, children, combinations, name=data.get("name", ""))
