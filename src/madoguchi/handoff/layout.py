"""File layouts of the file methods (方式2 RPA, 方式4 一括取込): columns, CSV and fixed-length records.

The column order is stable and documented (docs/handoff.md): the fixed columns below, then every
top-level field of the procedure's current form in catalog order (``form.<field id>``), except
個人番号 and attachments, which never leave Madoguchi in a file.

On PostgreSQL the rows are streamed by ``COPY (SELECT ...) TO STDOUT`` and only transcoded, padded
and hashed in Python; elsewhere (SQLite demo) the same columns are built row by row in Python.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from psycopg import sql

from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import parse_definition

LAYOUT_VERSION = "MDGHO1"
GETA = "〓"
ENCODINGS = ("cp932", "utf-8-sig")
FORMATS = ("csv", "fixed", "xlsx")


def _geta(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeEncodeError):
        return GETA, exc.start + 1
    raise exc


codecs.register_error("madoguchi-geta", _geta)

# Bytes (cp932) per field type in the fixed-length layout; the target's layout may override per column.
TYPE_WIDTHS = {
    "text": 100,
    "textarea": 400,
    "kana": 100,
    "date": 10,
    "postal_code": 8,
    "address": 200,
    "phone": 15,
    "email": 100,
    "choice": 40,
    "number": 15,
    "money": 15,
    "boolean": 5,
    "group": 1000,
}
EXCLUDED_TYPES = {"mynumber", "file"}


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    width: int
    sql: sql.Composable
    get: Callable[[Any], Any]  # python fallback: job (with application loaded) -> value


def _submitted(job: Any) -> str:
    return str(timezone.localtime(job.application.submitted_at).strftime("%Y-%m-%dT%H:%M:%S"))


FIXED: list[Column] = [
    Column("idempotency_key", "連携キー", 36, sql.SQL("j.idempotency_key"), lambda j: j.idempotency_key),
    Column(
        "reception_number",
        "受付番号",
        30,
        sql.SQL("a.reception_number"),
        lambda j: j.application.reception_number,
    ),
    Column("procedure_code", "手続ID", 60, sql.SQL("p.code"), lambda j: j.application.procedure.code),
    Column(
        "form_version",
        "様式の版",
        4,
        sql.SQL("fv.version::text"),
        lambda j: j.application.form_version.version,
    ),
    Column(
        "submitted_at",
        "受付日時",
        19,
        sql.SQL("to_char(a.submitted_at AT TIME ZONE {}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"),
        _submitted,
    ),
    Column("status", "状態", 20, sql.SQL("s.code"), lambda j: j.application.status.code),
    Column(
        "applicant_name",
        "申請者氏名",
        60,
        sql.SQL("a.applicant_name"),
        lambda j: j.application.applicant_name,
    ),
    Column(
        "applicant_kana",
        "申請者カナ",
        120,
        sql.SQL("a.applicant_kana"),
        lambda j: j.application.applicant_kana,
    ),
]


def _form_getter(field_id: str, is_group: bool) -> Callable[[Any], Any]:
    def get(job: Any) -> Any:
        value = (job.application.data or {}).get(field_id)
        if value is None:
            return ""
        if is_group or isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    return get


def columns_for(*, procedure: Procedure, widths: dict[str, int] | None = None) -> list[Column]:
    """The stable column list of a procedure (fixed columns, then its form fields in catalog order)."""
    definition = parse_definition(procedure.current_form.definition)
    widths = widths or {}
    cols = list(FIXED)
    for _, f in definition.top_level_fields():
        if f.type in EXCLUDED_TYPES:
            continue
        is_group = f.type == "group"
        expr = (
            sql.SQL("(a.data -> {})::text").format(sql.Literal(f.id))
            if is_group
            else sql.SQL("(a.data ->> {})").format(sql.Literal(f.id))
        )
        cols.append(
            Column(f"form.{f.id}", f.label, TYPE_WIDTHS.get(f.type, 100), expr, _form_getter(f.id, is_group))
        )
    return [Column(c.name, c.label, int(widths.get(c.name, c.width)), c.sql, c.get) for c in cols]


def uses_copy() -> bool:
    return connection.vendor == "postgresql"


def batch_where(batch: Any) -> sql.Composed:
    """The jobs a claimed batch carries, as SQL (the twin of ``services.batch_jobs``): its id range of
    jobs still 未連携 plus the re-sent jobs it re-pointed; with ``include_exported`` every job up to its
    high-water mark that is not failed."""
    head = sql.SQL("j.target_id = {} AND a.procedure_id = {} AND j.id <= {}").format(
        sql.Literal(batch.target_id), sql.Literal(batch.procedure_id), sql.Literal(batch.high_water)
    )
    if batch.include_exported:
        return sql.SQL("{} AND j.state IN ('pending', 'delivered', 'done')").format(head)
    return sql.SQL(
        "{} AND (j.batch_id = {} OR (j.state = 'pending' AND NOT j.requeued AND j.id > {}))"
    ).format(head, sql.Literal(batch.pk), sql.Literal(batch.low_water))


def _select(columns: list[Column], *, batch: Any, fixed: bool, record_type: bool = False) -> sql.Composed:
    tz = sql.Literal(timezone.get_current_timezone_name())
    exprs: list[sql.Composable] = []
    for c in columns:
        e: sql.Composable = (
            c.sql.format(tz) if c.name == "submitted_at" and isinstance(c.sql, sql.SQL) else c.sql
        )
        # fixed: plain COPY text; NULL, escapes and control characters are resolved in _fixed_block.
        # CSV: '' and NULL both unquoted and empty, as Python's csv writes them
        if not fixed:
            e = sql.SQL("NULLIF({}, '')").format(e)
        exprs.append(e)
    if record_type:
        exprs.insert(0, sql.SQL("'D'"))
    from madoguchi.applications.models import Application
    from madoguchi.catalog.models import FormVersion, StatusType
    from madoguchi.handoff.models import HandoffJob

    def table(model: Any) -> sql.Identifier:
        return sql.Identifier(model._meta.db_table)

    return sql.SQL(
        "SELECT {} FROM {} j JOIN {} a ON a.id = j.application_id JOIN {} p ON p.id = a.procedure_id "
        "JOIN {} fv ON fv.id = a.form_version_id JOIN {} s ON s.id = a.status_id "
        "WHERE {} ORDER BY j.id"
    ).format(
        sql.SQL(", ").join(exprs),
        table(HandoffJob),
        table(Application),
        table(Procedure),
        table(FormVersion),
        table(StatusType),
        batch_where(batch),
    )


COPY_BLOCK = 1 << 18


def _copy_chunks(query: sql.Composed, options: str, counts: list[int] | None = None) -> Iterator[bytes]:
    """COPY output in blocks of about 256 KiB (psycopg yields one row per chunk: the Python work of
    transcoding, padding and hashing is done per block, not per row). The number of rows copied is
    appended to ``counts`` at the end."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(sql.SQL("COPY ({}) TO STDOUT WITH ({})").format(query, sql.SQL(options))) as copy:  # type: ignore[attr-defined]
            block = bytearray()
            for chunk in copy:
                block += chunk
                if len(block) >= COPY_BLOCK:
                    yield bytes(block)
                    block.clear()
            if block:
                yield bytes(block)
        if counts is not None:
            counts.append(raw.rowcount)


def _python_rows(columns: list[Column], jobs: Iterable[Any]) -> Iterator[list[str]]:
    for job in jobs:
        yield ["" if (v := c.get(job)) is None else str(v) for c in columns]


# ------------------------------------------------------------------------------------- CSV
class _Recoder:
    """UTF-8 bytes (from COPY) -> target encoding, CRLF line ends; chunk boundaries may split characters."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def __call__(self, chunk: bytes, final: bool = False) -> bytes:
        if self.encoding == "utf-8-sig":
            return chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        text = self.decoder.decode(chunk, final)
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp932", "madoguchi-geta")


def _encode(text: str, encoding: str) -> bytes:
    return text.encode("utf-8") if encoding == "utf-8-sig" else text.encode("cp932", "madoguchi-geta")


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def csv_data_records(
    columns: list[Column],
    *,
    batch: Any,
    encoding: str,
    jobs: Iterable[Any],
    record_type: bool,
    counts: list[int] | None = None,
) -> Iterator[bytes]:
    """The data rows of a CSV (with a leading ``D`` column when ``record_type``), encoded; their number is
    appended to ``counts`` at the end."""
    if uses_copy():
        recode = _Recoder(encoding)
        query = _select(columns, batch=batch, fixed=False, record_type=record_type)
        for chunk in _copy_chunks(query, "FORMAT csv", counts):
            yield recode(chunk)
        tail = recode(b"", True)
        if tail:
            yield tail
        return
    buffer: list[str] = []
    i = 0
    for i, row in enumerate(_python_rows(columns, jobs), 1):
        buffer.append(_csv_line(["D", *row] if record_type else row))
        if i % 1000 == 0:
            yield _encode("".join(buffer), encoding)
            buffer.clear()
    if buffer:
        yield _encode("".join(buffer), encoding)
    if counts is not None:
        counts.append(i)


# ------------------------------------------------------------------------------------- fixed length
def _cut(field: bytes, width: int) -> bytes:
    """The longest cp932 prefix of at most ``width`` bytes that does not split a 2-byte character."""
    i = 0
    while i < len(field):
        step = 2 if (0x81 <= field[i] <= 0x9F or 0xE0 <= field[i] <= 0xFC) else 1
        if i + step > width:
            break
        i += step
    return field[:i].ljust(width)


def fixed_record(values: Iterable[bytes], widths: list[int], record_length: int) -> bytes:
    body = b"D" + b"".join(
        v.ljust(w) if len(v) <= w else _cut(v, w) for v, w in zip(values, widths, strict=True)
    )
    return body.ljust(record_length) + b"\r\n"


def fixed_data_records(
    columns: list[Column],
    *,
    batch: Any,
    jobs: Iterable[Any],
    record_length: int,
    counts: list[int] | None = None,
) -> Iterator[bytes]:
    """Data records in cp932, each field left-aligned and space-padded to its byte width; their number
    is appended to ``counts`` at the end."""
    widths = [c.width for c in columns]
    if uses_copy():
        pending = b""
        for chunk in _copy_chunks(_select(columns, batch=batch, fixed=True), "FORMAT text", counts):
            data = pending + chunk
            cut = data.rfind(b"\n") + 1
            if not cut:
                pending = data
                continue
            pending = data[cut:]
            yield _fixed_block(data[: cut - 1], widths, record_length)
        if pending:
            yield _fixed_block(pending.rstrip(b"\n"), widths, record_length)
        return
    out: list[bytes] = []
    n = 0
    for row in _python_rows(columns, jobs):
        n += 1
        clean = [v.translate(_CONTROL_TO_SPACE) for v in row]
        encoded = "\x1f".join(clean).encode("cp932", "madoguchi-geta").split(b"\x1f")
        out.append(fixed_record(encoded, widths, record_length))
        if len(out) >= 1000:
            yield b"".join(out)
            out.clear()
    if out:
        yield b"".join(out)
    if counts is not None:
        counts.append(n)


_CONTROL_TO_SPACE = {ord(c): " " for c in "\r\n\t\b\f\v\x1f"}


_COPY_ESCAPE = re.compile(r"\\(.)")
# COPY text escapes: the control characters become spaces (one record per line), \N (NULL) is empty
_UNESCAPE = {"\\": "\\", "N": "", **{c: " " for c in "bfnrtv"}}


def _fixed_block(block: bytes, widths: list[int], record_length: int) -> bytes:
    # COPY text format: the only raw tab/newline bytes are separators; values carry backslash escapes
    text = block.decode("utf-8")
    if "\\" in text:
        text = _COPY_ESCAPE.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), text)
    if "\x1f" in text:
        text = text.replace("\x1f", " ")
    # cp932 trail bytes are 0x40-0xFC: tab and newline bytes stay unambiguous after encoding.
    encoded = text.encode("cp932", "madoguchi-geta")
    # per record: pad every field with bytes.ljust mapped in C; a record longer than the widths' sum has a
    # field too long for its column and takes the exact path (cut on a character boundary)
    total, count, ljust = sum(widths), len(widths), bytes.ljust
    tail = b" " * (record_length - 1 - total) + b"\r\n"
    out = []
    for line in encoded.split(b"\n"):
        fields = line.split(b"\t")
        body = b"".join(map(ljust, fields, widths))
        if len(body) != total or len(fields) != count:
            body = fixed_record(fields, widths, record_length)[1 : 1 + total]
        out.append(body)
    return b"D" + (tail + b"D").join(out) + tail


def fixed_header(
    *,
    municipality_code: str,
    target_code: str,
    procedure_code: str,
    batch_id: int,
    created: str,
    record_length: int,
) -> bytes:
    text = (
        f"H{LAYOUT_VERSION}{municipality_code:<6}{target_code:<40}{procedure_code:<60}"
        f"{batch_id:010d}{created}{record_length:05d}"
    )
    return text.encode("cp932", "madoguchi-geta").ljust(record_length) + b"\r\n"


def fixed_trailer(*, count: int, checksum: str, record_length: int) -> bytes:
    return f"T{count:010d}{checksum}".encode("ascii").ljust(record_length) + b"\r\n"


def fixed_record_length(columns: list[Column]) -> int:
    return max(1 + sum(c.width for c in columns), 1 + len(LAYOUT_VERSION) + 6 + 40 + 60 + 10 + 14 + 5, 75)


class Hasher:
    """SHA-256 and byte count of the data records as written."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.sha.update(chunk)
            yield chunk

    @property
    def hexdigest(self) -> str:
        return self.sha.hexdigest()
