"""CSV that opens correctly in Excel: UTF-8 with BOM (default) or cp932 (Shift_JIS for older tools).

cp932 cannot hold every character of a registered name (外字, some 異体字); such characters are written
as 〓 (ゲタ), the convention Japanese offices use, and the caller is told how many rows were affected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

ENCODINGS = {"utf-8-sig": "UTF-8 (BOM付き)", "cp932": "Shift_JIS (cp932)"}


def _encode_cp932(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp932")
        except UnicodeEncodeError:
            out += "〓".encode("cp932")
    return bytes(out)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def excel_safe(value: str) -> str:
    """Defuse a cell Excel would run as a formula (CSV injection): prefix it with an apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_stream(
    header: list[str], rows: Iterable[list[str]], *, encoding: str = "utf-8-sig"
) -> Iterator[bytes]:
    """Yield encoded CSV chunks (CRLF line ends, as Excel expects), header first."""
    if encoding not in ENCODINGS:
        raise ValueError(f"文字コード {encoding!r} には対応していません (utf-8-sig または cp932)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return _encode_cp932(text) if encoding == "cp932" else text.encode("utf-8")

    if encoding == "utf-8-sig":
        yield "\ufeff".encode()
    writer.writerow(header)
    yield flush()
    for i, row in enumerate(rows, 1):
        writer.writerow([excel_safe(str(cell)) for cell in row])
        if i % 500 == 0:
            yield flush()
    yield flush()
