"""Reading 総務省's マイナンバーカード交付枚数 tables (CSV in UTF-8/UTF-8 BOM/cp932, or Excel .xlsx).

Pure functions, no database: ``cardrate_parse(content=…, filename=…)`` returns the table or raises
``ValidationFailed`` whose ``details`` list every problem as ``{"line", "column", "code", "message"}``
(line numbers as a person sees them in Excel, 1-based). The codes are listed in docs/dxplan.md.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from madoguchi.core.errors import ValidationFailed
from madoguchi.core.jp.codes import is_valid_municipality_code
from madoguchi.core.jp.wareki import parse_date_any

MAX_BYTES = 5 * 1024 * 1024
MAX_EXPANDED_BYTES = 100 * 1024 * 1024  # an .xlsx unpacked
MAX_ROWS = 5000
HEADER_SCAN_ROWS = 20
MAX_ERRORS = 50
RATE_TOLERANCE = Decimal("0.15")  # percentage points between the file's rate and 交付枚数 ÷ 人口

PREFECTURES = (
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 "
    "新潟県 富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 "
    "奈良県 和歌山県 鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 "
    "熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split()
SUMMARY_NAMES = {"合計", "計", "総計", "全国計"}

COLUMN_LABELS = {
    "code": "団体コード",
    "prefecture": "都道府県名",
    "name": "市区町村名",
    "category": "区分",
    "population": "人口",
    "issued": "交付枚数",
    "rate": "人口に対する交付枚数率",
}


@dataclass(frozen=True)
class ParsedRow:
    line: int
    kind: str  # municipality | prefecture | category
    code: str
    prefecture: str
    name: str
    population: int
    issued: int
    rate: Decimal


@dataclass
class ParsedTable:
    kind: str
    rows: list[ParsedRow]
    as_of: date | None  # found in a title line such as 「（令和3年11月1日現在）」
    errors: list[dict[str, object]] = field(default_factory=list)


def _problem(line: int, column: str, code: str, message: str) -> dict[str, object]:
    where = f"{line}行目" + (f"「{column}」列" if column else "")
    return {"line": line, "column": column, "code": code, "message": f"{where}: {message}"}


def fail(code: str, message: str, details: list[dict[str, object]] | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=details or [])


# --- numbers --------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def normalize_cell(value: object) -> str:
    """A cell as text: NFKC (全角 digits, ，．％ and spaces become ASCII), trimmed, inner spaces removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", "", text)


def parse_number(value: object, *, percent: bool = False) -> Decimal | None:
    """``"１２，３４５"`` → 12345, ``"39.1%"`` → 39.1, blank → None; raises ValueError otherwise.

    Commas are thousands separators wherever they are (``1,2345`` is read as 12345, as Excel would);
    a ``%`` is allowed only where ``percent`` is true. Numbers are never negative in these tables.
    """
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    text = normalize_cell(value).replace(",", "").replace("、", "")
    if text in {"", "-", "―", "ー", "…"}:
        return None
    if percent and text.endswith("%"):
        text = text[:-1]
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(text) from exc


# --- reading the grid -----------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise fail(
        "cardrate.encoding",
        "文字コードを判別できません。UTF-8 (BOM付き可) か Shift_JIS (cp932) の CSV にしてください。",
    )


def _grid(content: bytes, filename: str) -> list[list[object]]:
    if not content:
        raise fail("cardrate.empty", f"「{filename}」は空のファイルです。")
    if len(content) > MAX_BYTES:
        raise fail("cardrate.too_large", f"「{filename}」は大きすぎます (上限 {MAX_BYTES // 1048576}MB)。")
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_grid(content, filename)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise fail(
            "cardrate.format",
            "古い Excel 形式 (.xls) は読めません。Excel で .xlsx か CSV に保存し直してください。",
        )
    if b"\x00" in content[:4096]:
        raise fail("cardrate.format", f"「{filename}」は CSV でも Excel (.xlsx) でもありません。")
    text = _decode(content)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows: list[list[object]] = []
        for r in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(list(r))
            if len(rows) > MAX_ROWS:
                break
        return rows
    except csv.Error as exc:
        raise fail("cardrate.format", f"CSV として読めません ({exc})。") from exc


def _xlsx_grid(content: bytes, filename: str) -> list[list[object]]:
    from madoguchi.core.spreadsheet import SpreadsheetUnreadable, xlsx_rows

    try:
        return xlsx_rows(content, filename=filename, max_rows=MAX_ROWS, max_expanded=MAX_EXPANDED_BYTES)
    except SpreadsheetUnreadable as exc:  # a zip bomb, or far more than any 総務省 table: too_large
        raise fail(f"cardrate.{exc.kind}", exc.message) from exc


def _column_of(header: str) -> str | None:
    h = re.sub(r"[(（][^)）]*[)）]", "", header)  # 「人口 (R3.1.1時点)」→「人口」
    if not h:
        return None
    if "率" in h:
        return "rate"
    if "交付枚数" in h or "交付数" in h:
        return "issued"
    if h.startswith("人口") or h == "住民基本台帳人口":
        return "population"
    if "コード" in h:
        return "code"
    if h.startswith("都道府県"):
        return "prefecture"
    if h in {"市区町村名", "市区町村", "団体名", "市町村名", "市町村", "自治体名"}:
        return "name"
    if h in {"区分", "団体区分"}:
        return "category"
    return None


def _find_header(grid: list[list[object]]) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for col, cell in enumerate(row):
            key = _column_of(normalize_cell(cell))
            if key and key not in columns:
                columns[key] = col
        if "population" in columns and "issued" in columns:
            return index, columns
    raise fail(
        "cardrate.header_not_found",
        f"先頭{HEADER_SCAN_ROWS}行に「人口」と「交付枚数」の見出し行が見つかりません。",
    )


_AS_OF = re.compile(r"[（(]([^（()）]*?日)現在[)）]")


def _title_date(grid: list[list[object]], header_index: int) -> date | None:
    for row in grid[:header_index]:
        for cell in row:
            match = _AS_OF.search(normalize_cell(cell).replace("(", "（").replace(")", "）"))
            if match:
                try:
                    return parse_date_any(match.group(1))
                except ValueError:
                    continue
    return None


def split_prefecture(name: str) -> tuple[str, str]:
    """``石川県加賀市`` → (``石川県``, ``加賀市``); a name without a prefecture stays as it is."""
    for pref in PREFECTURES:
        if name.startswith(pref) and len(name) > len(pref):
            return pref, name[len(pref) :]
    return "", name


def cardrate_parse(*, content: bytes, filename: str) -> ParsedTable:
    grid = _grid(content, filename)
    header_index, columns = _find_header(grid)
    if "name" in columns:
        kind = "municipality"
    elif "prefecture" in columns:
        kind = "prefecture"
    elif "category" in columns:
        kind = "category"
    else:
        raise fail(
            "cardrate.column_missing",
            f"{header_index + 1}行目: 「市区町村名」「都道府県名」「区分」のいずれかの列が必要です。",
        )
    label_key = {"municipality": "name", "prefecture": "prefecture", "category": "category"}[kind]
    table = ParsedTable(kind=kind, rows=[], as_of=_title_date(grid, header_index))
    errors = table.errors
    seen: dict[tuple[str, str], int] = {}

    def cell(row: list[object], key: str) -> object:
        col = columns.get(key)
        return row[col] if col is not None and col < len(row) else None

    for index in range(header_index + 1, len(grid)):
        line = index + 1
        row = grid[index]
        texts = [normalize_cell(c) for c in row]
        if not any(texts):
            continue
        if _find_header_like(texts):
            continue  # the header repeated on a new page of the table
        label = normalize_cell(cell(row, label_key))
        if kind == "municipality" and label in SUMMARY_NAMES:
            continue
        prefecture = normalize_cell(cell(row, "prefecture")) if kind != "category" else ""
        name = label
        if kind == "municipality" and not prefecture:
            prefecture, name = split_prefecture(label)
        if kind == "prefecture":
            name = prefecture
        if not name:
            errors.append(_problem(line, COLUMN_LABELS[label_key], "cardrate.required", "名称が空欄です。"))
            continue
        values: dict[str, Decimal | None] = {}
        for key in ("population", "issued", "rate"):
            raw = cell(row, key)
            try:
                values[key] = parse_number(raw, percent=key == "rate")
            except ValueError:
                errors.append(
                    _problem(
                        line,
                        COLUMN_LABELS[key],
                        "cardrate.number_invalid",
                        f"「{normalize_cell(raw)}」は数値として読めません。",
                    )
                )
                values[key] = None
                continue
            if values[key] is None and key != "rate":
                errors.append(_problem(line, COLUMN_LABELS[key], "cardrate.required", "空欄です。"))
        population, issued, rate = values["population"], values["issued"], values["rate"]
        if population is None or issued is None:
            continue
        if population != population.to_integral_value() or issued != issued.to_integral_value():
            errors.append(
                _problem(line, "", "cardrate.number_invalid", "人口と交付枚数は整数にしてください。")
            )
            continue
        if population == 0:
            errors.append(_problem(line, "人口", "cardrate.population_zero", "人口が 0 です。"))
            continue
        computed = (issued * 100 / population).quantize(Decimal("0.01"))
        if rate is not None and "rate" in columns:
            if isinstance(cell(row, "rate"), float) and rate <= 1 and computed > 1:
                rate = rate * 100  # an Excel cell formatted as % holds 39.1% as 0.391
            if abs(rate - computed) > RATE_TOLERANCE:
                errors.append(
                    _problem(
                        line,
                        COLUMN_LABELS["rate"],
                        "cardrate.rate_mismatch",
                        f"交付率 {rate}% が 交付枚数÷人口 ({computed}%) と合いません。",
                    )
                )
                continue
        code = normalize_cell(cell(row, "code"))
        if code:
            if len(code) == 5 and code.isdigit():
                errors.append(
                    _problem(
                        line,
                        "団体コード",
                        "cardrate.code_invalid",
                        f"団体コード「{code}」は検査数字を含む6桁にしてください。",
                    )
                )
                continue
            if not is_valid_municipality_code(code):
                errors.append(
                    _problem(
                        line,
                        "団体コード",
                        "cardrate.code_invalid",
                        f"団体コード「{code}」が正しくありません。",
                    )
                )
                continue
        key2 = (prefecture, name)
        if key2 in seen:
            errors.append(
                _problem(
                    line,
                    COLUMN_LABELS[label_key],
                    "cardrate.duplicate_row",
                    f"「{prefecture}{name}」は{seen[key2]}行目と重複しています。",
                )
            )
            continue
        seen[key2] = line
        table.rows.append(
            ParsedRow(
                line=line,
                kind=kind,
                code=code,
                prefecture=prefecture,
                name=name[:60],
                population=int(population),
                issued=int(issued),
                rate=computed if rate is None else rate.quantize(Decimal("0.01")),
            )
        )
        if len(errors) >= MAX_ERRORS:
            break
    if len(grid) > MAX_ROWS:
        errors.append(_problem(MAX_ROWS + 1, "", "cardrate.too_many_rows", f"{MAX_ROWS}行を超えています。"))
    if errors:
        first = "／".join(str(e["message"]) for e in errors[:3])
        more = f" ほか{len(errors) - 3}件" if len(errors) > 3 else ""
        raise fail(str(errors[0]["code"]), f"取り込めません。{first}{more}", errors)
    if not table.rows:
        raise fail("cardrate.empty", "見出し行の下にデータ行がありません。")
    return table


def _find_header_like(texts: list[str]) -> bool:
    keys = {_column_of(t) for t in texts if t}
    return "population" in keys and "issued" in keys
