"""Reading the first sheet of an uploaded Excel workbook (.xlsx) safely: the archive's unpacked size
is checked before openpyxl opens it (a zip bomb is refused), values only (no formulas run), and at
most ``max_rows`` rows are read. Callers turn ``SpreadsheetUnreadable`` into their own coded error."""

from __future__ import annotations

import io
import zipfile


class SpreadsheetUnreadable(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "format" | "too_large"
        self.message = message


def xlsx_rows(content: bytes, *, filename: str, max_rows: int, max_expanded: int) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SpreadsheetUnreadable("format", f"「{filename}」を Excel (.xlsx) として読めません。") from exc
    if expanded > max_expanded:
        raise SpreadsheetUnreadable("too_large", f"「{filename}」は展開すると大きすぎます。")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken archives
        raise SpreadsheetUnreadable("format", f"「{filename}」を Excel (.xlsx) として読めません。") from exc
    try:
        grid: list[list[object]] = []
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            grid.append(list(row))
            if len(grid) > max_rows:
                break
        return grid
    finally:
        workbook.close()
