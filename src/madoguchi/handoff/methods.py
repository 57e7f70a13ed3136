"""The four hand-off methods (方式1–4) as plugins of one registry.

Each method states what a job's delivery means; the file methods also write an export file. The
outbox itself (jobs, attempts, retries, the sweeper) is the same for all: ``handoff.services``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.utils import timezone

from madoguchi.core.registry import Plugin, Registry
from madoguchi.handoff import layout
from madoguchi.handoff.models import HandoffBatch, HandoffTarget


@dataclass
class WriteResult:
    rows: int  # -1: unknown (the caller counts)
    checksum: str


class HandoffMethod(Plugin):
    """Contract of a hand-off method.

    ``file_based`` methods are delivered by ``write`` into an export file (a ``HandoffBatch``);
    the others one job at a time (a clerk's 転記完了, or the pull API with its ack).
    """

    file_based = False
    formats: tuple[str, ...] = ()
    default_format = ""

    def check_target(self, target: HandoffTarget) -> list[str]:
        """Problems in a target's configuration for this method (empty = fine)."""
        problems = []
        fmt = target.layout.get("format", self.default_format)
        if self.file_based and fmt not in self.formats:
            problems.append(
                f"{target.code}: 形式 {fmt!r} はこの方式では使えません ({', '.join(self.formats)})"
            )
        encoding = target.layout.get("encoding", "cp932")
        if self.file_based and encoding not in layout.ENCODINGS:
            problems.append(f"{target.code}: 文字コード {encoding!r} には対応していません (cp932, utf-8-sig)")
        widths = target.layout.get("widths", {})
        if not isinstance(widths, dict) or not all(isinstance(v, int) and v > 0 for v in widths.values()):
            problems.append(f"{target.code}: widths は 列名→バイト数 (正の整数) の対応で指定してください")
        if target.include_mynumber and self.key != "pull":
            problems.append(f"{target.code}: 個人番号はファイルでは渡せません (方式3のみ)")
        return problems

    def file_extension(self, target: HandoffTarget) -> str:
        return "dat"

    def write(self, *, batch: HandoffBatch, out: IO[bytes], jobs: Iterable[Any]) -> WriteResult:
        raise NotImplementedError


methods: Registry[HandoffMethod] = Registry("handoff.methods")


@methods.register("transcribe")
class TranscribeMethod(HandoffMethod):
    """方式1 転記: the clerk types the application into the 基幹 system from the staff detail page
    (every field with a copy button) and presses 「転記完了」."""

    verbose_name = "方式1 転記"


@methods.register("rpa")
class RpaMethod(HandoffMethod):
    """方式2 RPA: one CSV (or Excel) per procedure, a header row of stable column names, one row per
    application, for RPA tools that type the rows into the 基幹 system."""

    verbose_name = "方式2 RPA"
    file_based = True
    formats = ("csv", "xlsx")
    default_format = "csv"

    def file_extension(self, target: HandoffTarget) -> str:
        return "xlsx" if target.layout.get("format") == "xlsx" else "csv"

    def write(self, *, batch: HandoffBatch, out: IO[bytes], jobs: Iterable[Any]) -> WriteResult:
        target = batch.target
        columns = layout.columns_for(procedure=batch.procedure)
        if target.layout.get("format") == "xlsx":
            return _write_xlsx(columns, out, jobs)
        encoding = target.layout.get("encoding", "cp932")
        hasher = layout.Hasher()
        counts: list[int] = []
        if encoding == "utf-8-sig":
            out.write(b"\xef\xbb\xbf")
        out.write(layout._encode(layout._csv_line([c.name for c in columns]), encoding))
        for chunk in hasher.feed(
            layout.csv_data_records(
                columns, batch=batch, encoding=encoding, jobs=jobs, record_type=False, counts=counts
            )
        ):
            out.write(chunk)
        return WriteResult(rows=counts[0] if counts else -1, checksum=hasher.hexdigest)


def _write_xlsx(columns: list[layout.Column], out: IO[bytes], jobs: Iterable[Any]) -> WriteResult:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("申請")
    ws.append([c.name for c in columns])
    rows = 0
    for row in layout._python_rows(columns, jobs):
        ws.append(row)
        rows += 1
    wb.save(out)
    return WriteResult(rows=rows, checksum="")


@methods.register("pull")
class PullMethod(HandoffMethod):
    """方式3 取込: the 基幹 system pulls items from ``/api/handoff/v1/items`` with a cursor and acks them
    (OAuth2 client credentials, client_secret_jwt)."""

    verbose_name = "方式3 取込 (API)"

    def check_target(self, target: HandoffTarget) -> list[str]:
        problems = super().check_target(target)
        if not target.clients.filter(is_active=True).exists():
            problems.append(
                f"{target.code}: 有効なクライアント登録がありません (madoguchi handoff client create)"
            )
        return problems


@methods.register("bulk")
class BulkMethod(HandoffMethod):
    """方式4 一括取込: one file per target layout, CSV or fixed-length (cp932), with a header record and a
    trailer record holding the record count and the SHA-256 of the data records."""

    verbose_name = "方式4 一括取込"
    file_based = True
    formats = ("csv", "fixed")
    default_format = "fixed"

    def file_extension(self, target: HandoffTarget) -> str:
        return "csv" if target.layout.get("format") == "csv" else "dat"

    def write(self, *, batch: HandoffBatch, out: IO[bytes], jobs: Iterable[Any]) -> WriteResult:
        target = batch.target
        columns = layout.columns_for(procedure=batch.procedure, widths=target.layout.get("widths"))
        created = timezone.localtime(batch.created_at).strftime("%Y%m%d%H%M%S")
        hasher = layout.Hasher()
        counts: list[int] = []
        if target.layout.get("format") == "csv":
            encoding = target.layout.get("encoding", "cp932")
            if encoding == "utf-8-sig":
                out.write(b"\xef\xbb\xbf")
            header = [
                "H",
                layout.LAYOUT_VERSION,
                target.municipality.code,
                target.code,
                batch.procedure.code,
                str(batch.pk),
                created,
                str(len(columns)),
            ]
            out.write(layout._encode(layout._csv_line(header), encoding))
            out.write(layout._encode(layout._csv_line(["C", *[c.name for c in columns]]), encoding))
            records = layout.csv_data_records(
                columns, batch=batch, encoding=encoding, jobs=jobs, record_type=True, counts=counts
            )
            for chunk in hasher.feed(records):
                out.write(chunk)
            return WriteResult(rows=counts[0] if counts else -1, checksum=hasher.hexdigest)
        length = layout.fixed_record_length(columns)
        out.write(
            layout.fixed_header(
                municipality_code=target.municipality.code,
                target_code=target.code,
                procedure_code=batch.procedure.code,
                batch_id=batch.pk,
                created=created,
                record_length=length,
            )
        )
        for chunk in hasher.feed(
            layout.fixed_data_records(columns, batch=batch, jobs=jobs, record_length=length, counts=counts)
        ):
            out.write(chunk)
        return WriteResult(rows=counts[0] if counts else -1, checksum=hasher.hexdigest)

    def trailer(self, *, target: HandoffTarget, rows: int, checksum: str, batch: HandoffBatch) -> bytes:
        if target.layout.get("format") == "csv":
            encoding = target.layout.get("encoding", "cp932")
            return layout._encode(layout._csv_line(["T", str(rows), checksum]), encoding)
        columns = layout.columns_for(procedure=batch.procedure, widths=target.layout.get("widths"))
        return layout.fixed_trailer(
            count=rows, checksum=checksum, record_length=layout.fixed_record_length(columns)
        )
