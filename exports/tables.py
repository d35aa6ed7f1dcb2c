"""Tables as files: CSV (UTF-8 with BOM, for Excel and WPS) and XLSX, with the active filters written in.

A table is a pandas DataFrame (clean column names, one header row) and its filters a list of
(name, value) pairs. How each format carries the filters, so that a program reads the data back as easily
as a person sees where it came from:

- CSV: the filters come first as lines starting with ``#`` (``# 单位：织南派出所``), then the header row
  and the data; every text cell is quoted, so a ``#`` inside the data is never taken for a comment.
  Read it back with ``pandas.read_csv(f, comment="#")`` (or ``skiprows=csv_preamble_lines(filters)``).
- XLSX: the data on the first sheet with its header in row 1, so ``pandas.read_excel(f, sheet_name=0)``
  gives the columns; the filters on a second sheet, 筛选条件.

Formula injection (OWASP "CSV injection"): a text cell beginning with = + - @ (or a tab or carriage
return) gets a leading ``'`` in CSV, so a spreadsheet shows it as text instead of evaluating it; in XLSX
every text cell is written as a string, never as a formula. Numbers are left alone.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

import pandas as pd

CSV_ENCODING = "utf-8-sig"
FILTER_SHEET = "筛选条件"
DATA_SHEET = "数据"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')
NAME_PART_MAX = 30  # characters of the unit and of the subject in a file name (CJK: 3 bytes each in UTF-8)


def neutralise(value):
    """A text cell made inert for spreadsheets ('=1+2' -> "'=1+2"); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _preamble_text(text) -> str:
    # A preamble line must stay one unquoted CSV field: no line breaks, quotes or ASCII commas.
    return str(text).replace("\r", " ").replace("\n", " ").replace('"', "”").replace(",", "，")


def csv_preamble_lines(filters: list[tuple[str, str]], title: str | None = None) -> int:
    """How many lines precede the header row of ``to_csv`` (for ``read_csv(skiprows=...)``)."""
    return len(filters) + (1 if title else 0)


def _plain(value):
    """A cell value as the csv module should write it (None and NaN as empty)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


def to_csv(frame: pd.DataFrame, filters: list[tuple[str, str]], title: str | None = None) -> bytes:
    """The table as CSV bytes (UTF-8 with BOM): ``#`` lines with the title and filters, then the data."""
    out = io.StringIO()
    if title:
        out.write(f"# {_preamble_text(title)}\r\n")
    for name, value in filters:
        out.write(f"# {_preamble_text(name)}：{_preamble_text(value)}\r\n")
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([neutralise(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([neutralise(_plain(v)) for v in row])
    return out.getvalue().encode(CSV_ENCODING)


def to_xlsx(frame: pd.DataFrame, filters: list[tuple[str, str]], title: str | None = None) -> bytes:
    """The table as XLSX bytes: the data on sheet 1 (header in row 1), the filters on sheet 筛选条件."""
    from openpyxl import Workbook  # noqa: PLC0415 - ~60-100 ms to import, only an XLSX needs it (measured)
    from openpyxl.cell.cell import TYPE_STRING  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    book = Workbook()
    sheet = book.active
    sheet.title = DATA_SHEET
    bold = Font(bold=True)

    def put(ws, row: int, col: int, value, font=None):
        value = _plain(value)
        cell = ws.cell(row=row, column=col)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = TYPE_STRING  # never a formula, whatever the text begins with
        if font is not None:
            cell.font = font
        return cell

    for j, column in enumerate(frame.columns, start=1):
        put(sheet, 1, j, str(column), bold)
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            if _plain(value) != "":
                put(sheet, i, j, value)
    sheet.freeze_panes = "A2"
    for j, column in enumerate(frame.columns, start=1):
        longest = max([_display_width(column)] + [_display_width(v) for v in frame.iloc[:200, j - 1]])
        sheet.column_dimensions[get_column_letter(j)].width = min(60, max(8, longest + 2))

    meta = book.create_sheet(FILTER_SHEET)
    put(meta, 1, 1, "项目", bold)
    put(meta, 1, 2, "值", bold)
    rows = ([("标题", title)] if title else []) + list(filters)
    for i, (name, value) in enumerate(rows, start=2):
        put(meta, i, 1, str(name))
        put(meta, i, 2, str(value))
    meta.column_dimensions["A"].width = 16
    meta.column_dimensions["B"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _name_part(text, limit: int = NAME_PART_MAX) -> str:
    """One part of a file name: no path separators, reserved characters, spaces, control or format characters
    (a right-to-left override could disguise the extension), no leading or trailing dots, at most ``limit``
    characters."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("C", "Z")))
    text = _UNSAFE_IN_NAME.sub("", text).strip(".")
    return text[:limit].rstrip(".")


def filename(unit: str, subject: str, day: date, ext: str) -> str:
    """A file name people recognise: 某某_警情分类_2026-11-28.png (unsafe characters removed, long parts cut:
    the name stays well under the 255 bytes most file systems allow)."""
    parts = [_name_part(unit), _name_part(subject), day.isoformat()]
    stem = "_".join(p for p in parts if p) or "export"
    extension = re.sub(r"[^a-z0-9]", "", ext.lower()) or "bin"
    return f"{stem}.{extension}"
