"""The card-rate importer: adversarial files, every error names its row and column with a code, and
nothing is written unless every row is right; the same file twice is a no-op."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.errors import ValidationFailed
from madoguchi.core.models import AuditEvent
from madoguchi.core.scope import Actor
from madoguchi.dxplan import selectors
from madoguchi.dxplan.cardrate import cardrate_parse, parse_number
from madoguchi.dxplan.models import CardRateImport, CardRateRow
from madoguchi.dxplan.services import cardrate_import

HEADER = "団体コード,都道府県名,市区町村名,人口,交付枚数,人口に対する交付枚数率"
ZENKAKU = str.maketrans("0123456789,.%", "０１２３４５６７８９，．％")


def table(
    *rows: str, title: str = "マイナンバーカードの市区町村別交付枚数等について（令和3年11月1日現在）"
) -> str:
    return "\r\n".join([title, "", HEADER, *rows]) + "\r\n"


ROWS = [
    '999997,架空県,みどり市,"84,312","60,199",71.4%',
    ',架空県,あおば町,"12,000","6,000",50.0%',
    ',石川県,加賀市,"65,307","46,153",70.7%',
    ',石川県,珠洲市,"13,700","8,465",61.8%',
]


# --- numbers --------------------------------------------------------------------------------------


@given(
    st.integers(min_value=0, max_value=10**12), st.booleans(), st.booleans(), st.sampled_from(["", " ", "　"])
)
def test_parse_number_reads_commas_zenkaku_and_spaces(n: int, commas: bool, zenkaku: bool, pad: str) -> None:
    text = f"{n:,}" if commas else str(n)
    if zenkaku:
        text = text.translate(ZENKAKU)
    assert parse_number(f"{pad}{text}{pad}") == n


@given(st.decimals(min_value=0, max_value=100, places=1), st.booleans(), st.booleans())
def test_parse_number_reads_percentages(rate: Decimal, zenkaku: bool, sign: bool) -> None:
    text = f"{rate}{'%' if sign else ''}"
    if zenkaku:
        text = text.translate(ZENKAKU)
    assert parse_number(text, percent=True) == rate


@given(st.sampled_from(["", " ", "　", "-", "―", None]))
def test_parse_number_blank_is_none(blank: Any) -> None:
    assert parse_number(blank) is None


@given(st.text(alphabet="abcあ年%-+e/", min_size=1).filter(lambda t: t.strip(" 　") not in {"", "-"}))
def test_parse_number_refuses_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)  # a % only where percent=True; letters, signs and slashes never


def test_percent_only_in_rate_columns() -> None:
    with pytest.raises(ValueError):
        parse_number("12%")


# --- parsing files --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_parse_csv_in_every_encoding_with_title_date(encoding: str) -> None:
    parsed = cardrate_parse(content=table(*ROWS).encode(encoding), filename="a.csv")
    assert parsed.kind == "municipality"
    assert parsed.as_of == date(2021, 11, 1)
    r = parsed.rows[0]
    assert (r.prefecture, r.name, r.population, r.issued, r.rate) == (
        "架空県",
        "みどり市",
        84312,
        60199,
        Decimal("71.40"),
    )
    assert parsed.rows[0].line == 4  # the line a person sees in Excel


def test_zenkaku_numbers_combined_names_and_repeated_header() -> None:
    text = "\r\n".join(
        [
            "団体名,人口 （R3.1.1時点）,交付枚数,人口に対する 交付枚数率",
            "石川県加賀市,６５，３０７,４６，１５３,７０．７％",
            "団体名,人口 （R3.1.1時点）,交付枚数,人口に対する 交付枚数率",  # a page break in the PDF-made CSV
            '高知県宿毛市,"19,895","13,659",68.7%',
            '合計,"85,202","59,812",70.2%',
        ]
    )
    parsed = cardrate_parse(content=text.encode("cp932"), filename="top.csv")
    assert [(r.prefecture, r.name, r.rate) for r in parsed.rows] == [
        ("石川県", "加賀市", Decimal("70.70")),
        ("高知県", "宿毛市", Decimal("68.70")),
    ]
    assert parsed.as_of is None


def test_prefecture_and_category_tables() -> None:
    pref = "都道府県名\t人口 (R3.1.1時点)\t交付枚数\t人口に対する 交付枚数率\r\n北海道\t5,228,732\t1,832,151\t35.0%\r\n"
    assert cardrate_parse(content=pref.encode(), filename="p.tsv").kind == "prefecture"
    cat = (
        '区分,人口（R3.1.1時点）,交付枚数,人口に対する交付枚数率\r\n全国,"126,654,244","49,552,693",39.1%\r\n'
    )
    parsed = cardrate_parse(content=cat.encode(), filename="c.csv")
    assert parsed.kind == "category" and parsed.rows[0].name == "全国"


def test_xlsx_with_percent_cells() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["マイナンバーカード交付状況（令和7年3月31日現在）"])
    ws.append([])
    ws.append(["都道府県名", "市区町村名", "人口", "交付枚数", "人口に対する交付枚数率"])
    ws.append(["架空県", "みどり市", 84312, 60199, 0.714])
    ws.append(["架空県", "あおば町", "12,000", "6,000", "50.0%"])
    out = io.BytesIO()
    wb.save(out)
    parsed = cardrate_parse(content=out.getvalue(), filename="t.xlsx")
    assert parsed.as_of == date(2025, 3, 31)
    assert [r.rate for r in parsed.rows] == [Decimal("71.40"), Decimal("50.00")]


def errors_of(content: bytes, filename: str = "bad.csv") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        cardrate_parse(content=content, filename=filename)
    return info.value


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "cardrate.empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "cardrate.format"),
        (b"PK\x03\x04broken zip", "cardrate.format"),
        (b"\x00\x01\x02binary", "cardrate.format"),
        ("名前,値\r\nみどり市,1\r\n".encode(), "cardrate.header_not_found"),
        (table().encode(), "cardrate.empty"),
        ("人口,交付枚数\r\n1,1\r\n".encode(), "cardrate.column_missing"),
        (b"\xff\xfe\xfa\x80\x81 not text", "cardrate.encoding"),
    ],
)
def test_unreadable_files(content: bytes, code: str) -> None:
    assert errors_of(content).code == code


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        (',架空県,さくら市,"12,000",六千,50.0%', "cardrate.number_invalid", "交付枚数"),
        (",架空県,さくら市,,6000,50.0%", "cardrate.required", "人口"),
        (",架空県,さくら市,12000,6000,55.0%", "cardrate.rate_mismatch", "人口に対する交付枚数率"),
        (",架空県,さくら市,0,0,0%", "cardrate.population_zero", "人口"),
        ("12345,架空県,さくら市,12000,6000,50%", "cardrate.code_invalid", "団体コード"),
        ("123456,架空県,さくら市,12000,6000,50%", "cardrate.code_invalid", "団体コード"),
        (",架空県,あおば町,12000,6000,50%", "cardrate.duplicate_row", "市区町村名"),
        (",架空県,さくら市,12000.5,6000,50%", "cardrate.number_invalid", ""),
        (",架空県,さくら市,12000,6000%,50%", "cardrate.number_invalid", "交付枚数"),
    ],
)
def test_row_errors_name_line_column_and_code(row: str, code: str, column: str) -> None:
    exc = errors_of(table(*ROWS, row).encode("cp932"))
    problems = [d for d in exc.details if d["code"] == code]  # type: ignore[union-attr]
    assert problems, exc.details
    assert problems[0]["line"] == 8 and problems[0]["column"] == column
    assert str(problems[0]["message"]).startswith("8行目")


def test_every_error_is_listed() -> None:
    exc = errors_of(table(",架空県,さくら市,x,1,1%", ",架空県,ひかり村,1,y,1%").encode())
    assert [(d["line"], d["column"]) for d in exc.details] == [(4, "人口"), (5, "交付枚数")]  # type: ignore[union-attr]


# --- the import service ---------------------------------------------------------------------------


def test_import_writes_rows_audit_and_same_file_is_a_no_op(dx: Actor) -> None:
    content = table(*ROWS).encode("utf-8-sig")
    first = cardrate_import(actor=dx, content=content, filename="r3.csv")
    assert first.created and first.record.row_count == 4 and first.record.as_of == date(2021, 11, 1)
    assert AuditEvent.objects.filter(action="dxplan.cardrate_import").count() == 1
    again = cardrate_import(actor=dx, content=content, filename="renamed.csv")
    assert not again.created and again.record.pk == first.record.pk
    assert CardRateImport.objects.count() == 1 and CardRateRow.objects.count() == 4
    assert AuditEvent.objects.filter(action="dxplan.cardrate_import").count() == 1


def test_a_bad_row_writes_nothing(dx: Actor) -> None:
    with pytest.raises(ValidationFailed):
        cardrate_import(actor=dx, content=table(*ROWS, ",架空県,x,1,2,3%").encode(), filename="bad.csv")
    assert not CardRateImport.objects.exists() and not CardRateRow.objects.exists()


def test_date_missing_and_date_exists(dx: Actor) -> None:
    untitled = table(*ROWS, title="交付枚数").encode()
    with pytest.raises(ValidationFailed) as info:
        cardrate_import(actor=dx, content=untitled, filename="u.csv")
    assert info.value.code == "cardrate.date_missing"
    cardrate_import(actor=dx, content=untitled, filename="u.csv", as_of=date(2021, 11, 1))
    with pytest.raises(ValidationFailed) as info:
        cardrate_import(actor=dx, content=table(*ROWS[:3]).encode(), filename="other.csv")
    assert info.value.code == "cardrate.date_exists"


def test_position_ranks_overall_and_in_prefecture(dx: Actor, municipality: Any) -> None:
    cardrate_import(actor=dx, content=table(*ROWS).encode(), filename="a.csv")
    later = [r.replace('"60,199",71.4%', '"63,000",74.7%') for r in ROWS]
    cardrate_import(actor=dx, content=table(*later, title="（令和4年5月1日現在）").encode(), filename="b.csv")
    positions = selectors.cardrate_positions(municipality=municipality)
    assert [p.source.as_of for p in positions] == [date(2021, 11, 1), date(2022, 5, 1)]
    first, second = positions
    assert (first.rank, first.total, first.pref_rank, first.pref_total) == (1, 4, 1, 2)
    assert first.row is not None and first.row.rate == Decimal("71.40")
    assert second.row is not None and second.row.rate == Decimal("74.70")
    assert first.prefecture_rate == Decimal("68.7")  # (60,199 + 6,000) ÷ (84,312 + 12,000)
    chart = selectors.cardrate_trend(municipality=municipality, positions=positions)
    assert chart is not None and len(chart.series[0].points) == 2
    ranking = selectors.cardrate_ranking(source=first.source, prefecture="石川県")
    assert [(r.name, r.rank, r.pref_rank) for r in ranking] == [("加賀市", 2, 1), ("珠洲市", 3, 2)]


def test_xlsx_zip_bomb_is_refused_before_unpacking() -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(101):
                member.write(chunk)
    assert len(buffer.getvalue()) < 1 << 20
    assert errors_of(buffer.getvalue(), "bomb.xlsx").code == "cardrate.too_large"


def _cell(n: int, *, commas: bool, zenkaku: bool, quote: bool) -> str:
    text = f"{n:,}" if commas else str(n)
    if zenkaku:
        text = text.translate(ZENKAKU)
    return f'"{text}"' if quote or commas else text


row_strategy = st.tuples(
    st.integers(min_value=1, max_value=10**8),
    st.floats(min_value=0, max_value=1),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@given(
    st.lists(row_strategy, min_size=1, max_size=20),
    st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
    st.integers(min_value=0, max_value=5),
)
def test_any_well_formed_table_reads_back_exactly(rows: list[Any], encoding: str, offset: int) -> None:
    """Whatever the encoding, title lines above the header, commas, 全角 digits or quotes: the numbers
    read back as written, and the rate from the file is kept."""
    lines = ["表題"] * offset + ["都道府県名,市区町村名,人口,交付枚数,交付率"]
    expected = []
    for i, (population, share, commas, zenkaku, quote) in enumerate(rows):
        issued = int(population * share)
        rate = (Decimal(issued) * 100 / population).quantize(Decimal("0.1"))
        lines.append(
            f"架空県,町{i},{_cell(population, commas=commas, zenkaku=zenkaku, quote=quote)},"
            f"{_cell(issued, commas=not commas, zenkaku=not zenkaku, quote=quote)},{rate}%"
        )
        expected.append((f"町{i}", population, issued, rate))
    parsed = cardrate_parse(content="\r\n".join(lines).encode(encoding), filename="p.csv")
    assert [(r.name, r.population, r.issued, r.rate) for r in parsed.rows] == expected
    assert [r.line for r in parsed.rows] == [offset + 2 + i for i in range(len(rows))]
