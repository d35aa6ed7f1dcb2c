"""Reading an import file: CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16) or XLSX, row by row.

The whole file is scanned once before any row is read (its SHA-256, and whether it is valid UTF-8), so
a wrong encoding is a clear ``FileError`` naming the line, never garbled Chinese in the database:

- ``encoding: auto`` (the default): a byte-order mark decides; else valid UTF-8 is UTF-8; else the file
  must read as GB18030 (a superset of GBK and GB2312, what Chinese Excel and WPS write) and look like
  Chinese text (at least 90 % of its non-ASCII characters in GB2312); else the import stops and asks for
  ``encoding:`` in the mapping.
- a declared GBK-family encoding on a file that is valid UTF-8 with non-ASCII text is refused (reading it
  as GBK would store mojibake without any error); a declared UTF-8 on a GBK file fails at the first bad
  line with a hint.

Rows come out as (line, cells): the line where the record starts (CSV) or the sheet row (XLSX), counting
the header. A file that ends inside a quoted field, or whose last line has no line break and fewer
fields than the header, is taken as truncated and the whole import fails.

An XLSX is a zip of XML files, and deflate packs a repeated string a thousandfold: a 300 KB workbook with a
bloated shared-strings table took the server from 287 to 889 MB (issue 17). Before openpyxl opens one,
``check_xlsx_expansion`` reads the members' sizes from the zip's central directory (nothing is
decompressed) and refuses a workbook that would expand past ``XLSX_MAX_EXPANDED`` in all, whose members read
whole into memory (all but the worksheets, which are streamed) exceed ``XLSX_MAX_HELD``, or one of whose
members expands more than ``XLSX_MAX_RATIO`` times. Python's zipfile never inflates a member beyond the size
its directory declares, so the declared sizes are a bound, not a hint.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from data.intake.mapping import Mapping
from data.intake.values import cell_text

CHUNK = 1 << 20
XLSX_MAX_EXPANDED = 2 << 30  # all members, uncompressed; a million rows of 11 columns take about 0.7 GB
XLSX_MAX_HELD = 256 << 20  # members openpyxl reads whole (shared strings, styles), uncompressed
XLSX_MAX_RATIO = 100  # uncompressed / compressed of any member over XLSX_RATIO_FROM; real sheets: 5-20
XLSX_RATIO_FROM = 1 << 20  # smaller members may pack as tightly as they like: they cannot cost much
XLSX_MAX_MEMBERS = 10_000  # a workbook has a dozen or so
XLSX_MAX_DIRECTORY = 16 << 20  # bytes of zip central directory (about 100 per member)
GBK_FAMILY = ("gbk", "gb2312", "gb18030", "cp936", "hz")
PLAUSIBLE_CHINESE = 0.9


class FileError(Exception):
    """The file cannot be imported as a whole (encoding, format, truncation); nothing was stored."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Input:
    """The file to import: a path, or its bytes; its name, size and SHA-256."""

    path: Path | None
    data: bytes | None
    name: str | None
    size: int
    sha256: str = ""
    utf8_error: int | None = None  # byte offset of the first invalid UTF-8 sequence, if any
    non_ascii: bool = False
    head: bytes = b""

    def open(self) -> BinaryIO:
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data)


def resolve_input(obj, filename: str | None = None) -> Input:
    """An ``Input`` from a path, bytes or a binary file object, scanned once (hash, UTF-8 validity)."""
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise FileError(f"cannot read {path}: {exc.strerror or exc}") from None
        source = Input(path, None, filename or path.name, size)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        source = Input(None, data, filename, len(data))
    elif hasattr(obj, "read"):
        data = obj.read()
        if not isinstance(data, (bytes, bytearray)):
            raise FileError("the upload must be opened in binary mode")
        source = Input(None, bytes(data), filename or getattr(obj, "name", None), len(data))
    else:
        raise FileError(f"cannot import a {type(obj).__name__}: give a path, bytes or a binary file")
    _scan(source)
    return source


def _scan(source: Input) -> None:
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    head = bytearray()
    with source.open() as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            if len(head) < 65536:
                head += chunk[: 65536 - len(head)]
            if not source.non_ascii and not chunk.isascii():
                source.non_ascii = True
            if source.utf8_error is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    source.utf8_error = offset + exc.start
            offset += len(chunk)
        if source.utf8_error is None:
            pending = len(decoder.getstate()[0])  # an incomplete character left at the end
            if pending:
                source.utf8_error = offset - pending
    source.sha256 = digest.hexdigest()
    source.head = bytes(head)


def _line_at(source: Input, offset: int) -> int:
    """The 1-based line holding a byte offset."""
    count = 0
    done = 0
    with source.open() as f:
        while done < offset:
            chunk = f.read(min(CHUNK, offset - done))
            if not chunk:
                break
            count += chunk.count(b"\n")
            done += len(chunk)
    return count + 1


def _bytes_at(source: Input, offset: int) -> bytes:
    with source.open() as f:
        f.seek(offset)
        return f.read(4)


def _reads_as(source: Input, encoding: str) -> int | None:
    """The byte offset where the file stops decoding in ``encoding``, or None if it all decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    with source.open() as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + max(exc.start, 0)
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return max(offset - 1, 0)
    return None


def _looks_chinese(source: Input, encoding: str) -> bool:
    text = source.head.decode(encoding, errors="ignore")
    wide = [c for c in text if ord(c) >= 0x80]
    if not wide:
        return True
    in_gb2312 = 0
    for c in wide[:20000]:
        try:
            c.encode("gb2312")
            in_gb2312 += 1
        except UnicodeEncodeError:
            pass
    return in_gb2312 / min(len(wide), 20000) >= PLAUSIBLE_CHINESE


def _utf8_until_the_end(source: Input) -> bool:
    """Valid UTF-8 except for an incomplete character at the very end (a cut-off file)."""
    if source.utf8_error is None or source.utf8_error < source.size - 3:
        return False
    with source.open() as f:
        f.seek(source.utf8_error)
        tail = f.read()
    return bool(tail) and tail[0] >= 0xC0 and len(tail) < (2 if tail[0] < 0xE0 else 3 if tail[0] < 0xF0 else 4)


def choose_encoding(source: Input, declared: str) -> str:
    """The encoding to read a CSV with (see the module docstring), or a ``FileError`` that says why not."""
    head = source.head
    if head.startswith(codecs.BOM_UTF8):
        if declared not in ("auto", "utf-8", "utf_8", "utf-8-sig", "utf_8_sig"):
            raise FileError(f"the file starts with a UTF-8 byte-order mark, but the mapping declares {declared}")
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if declared not in ("auto", "utf-16", "utf_16"):
            raise FileError(f"the file starts with a UTF-16 byte-order mark, but the mapping declares {declared}")
        bad = _reads_as(source, "utf-16")
        if bad is not None:
            raise FileError("not valid UTF-16 text (truncated or damaged?)", _line_at(source, bad))
        return "utf-16"
    elif declared == "auto":
        if source.utf8_error is None:
            return "utf-8"
        if _utf8_until_the_end(source):
            raise FileError("the file ends in the middle of a UTF-8 character: it looks truncated",
                            _line_at(source, source.utf8_error))
        if _reads_as(source, "gb18030") is None and _looks_chinese(source, "gb18030"):
            return "gb18030"
        line = _line_at(source, source.utf8_error)
        raise FileError(f"cannot tell the file's encoding: bytes {_bytes_at(source, source.utf8_error)!r} are not "
                        "UTF-8, and the file does not read as GBK/GB18030 Chinese either; declare it in the mapping "
                        "(encoding: ...)", line)
    else:
        encoding = declared
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig"):
        if source.utf8_error is not None:
            line = _line_at(source, source.utf8_error)
            hint = ""
            if _reads_as(source, "gb18030") is None and _looks_chinese(source, "gb18030"):
                hint = "; the file reads as GBK/GB18030 Chinese: declare encoding: gb18030"
            elif _utf8_until_the_end(source):
                hint = "; it ends in the middle of a character: the file looks truncated"
            raise FileError(f"bytes {_bytes_at(source, source.utf8_error)!r} are not valid UTF-8{hint}", line)
        return encoding
    if name in GBK_FAMILY and source.utf8_error is None and source.non_ascii:
        raise FileError(f"the mapping declares {declared}, but the file is UTF-8 text: read as {declared} its "
                        "Chinese would come out garbled; declare encoding: utf-8 (or leave it out)")
    bad = _reads_as(source, name)
    if bad is not None:
        raise FileError(f"bytes {_bytes_at(source, bad)!r} are not valid {declared}", _line_at(source, bad))
    return name


def sniff_format(source: Input, declared: str) -> str:
    head = source.head[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError("this is a legacy Excel .xls file: save it as .xlsx or CSV")
    is_zip = head.startswith(b"PK\x03\x04")
    if declared == "auto":
        return "xlsx" if is_zip else "csv"
    if declared == "csv" and is_zip:
        raise FileError("the mapping says csv, but this is an XLSX (zip) file")
    if declared == "xlsx" and not is_zip:
        raise FileError("the mapping says xlsx, but this is not an XLSX file")
    return declared


class Table:
    """An open import file: its header, and its rows as (line, cells)."""

    format: str
    encoding: str | None
    header: tuple[str, ...]
    total: int  # progress units: bytes (CSV) or sheet rows (XLSX)

    def rows(self) -> Iterator[tuple[int, tuple]]:  # pragma: no cover - interface
        raise NotImplementedError

    def position(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _read_header(self, mapping: Mapping, container: str, record: str, text) -> None:
        """Skip the mapping's leading records, then read the header (or take the mapping's own columns).
        ``container``/``record`` name them in messages ("file"/"line", "sheet"/"row"); ``text`` makes a
        header cell into a name. Trailing empty names are dropped."""
        for _ in range(mapping.skip_rows):
            if self._next() is None:
                raise FileError(f"the {container} ends before the header {record}")
        if not mapping.header:
            self.header = mapping.columns
            return
        first = self._next()
        if first is None:
            raise FileError(f"the {container} is empty (no header {record})")
        names = [text(c) for c in first[1]]
        while names and not names[-1]:
            names.pop()
        if not names:
            raise FileError(f"the header {record} is empty", first[0])
        self.header = tuple(names)


class _Lines:
    """The text lines of a CSV, remembering whether the last one ended with a line break."""

    def __init__(self, text):
        self.text = text
        self.last = ""

    def __iter__(self):
        for line in self.text:
            self.last = line
            yield line


class CsvTable(Table):
    def __init__(self, source: Input, mapping: Mapping):
        self.format = "csv"
        self.encoding = choose_encoding(source, mapping.encoding)
        self.total = source.size
        self._binary = source.open()
        self._text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors="strict", newline="")
        self._lines = _Lines(self._text)
        self._reader = csv.reader(iter(self._lines), delimiter=mapping.delimiter, quotechar=mapping.quotechar,
                                  strict=True)
        self._line = 0
        self._read_header(mapping, "file", "line", str.strip)

    def _next(self):
        start = self._reader.line_num + 1
        try:
            record = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message:
                message = "the file ends inside a quoted field: it looks truncated"
            elif "field larger than field limit" in message:
                message = "a field is longer than 128 KiB: is this really a CSV file?"
            elif "NUL" in message:
                message = "the line holds a NUL byte: is this really a text file (or UTF-16 without a BOM)?"
            raise FileError(message, start) from None
        except UnicodeDecodeError as exc:
            raise FileError(f"not valid {self.encoding} text ({exc.reason})", start) from None
        return start, record

    def rows(self) -> Iterator[tuple[int, tuple]]:
        width = len(self.header)
        while True:
            item = self._next()
            if item is None:
                return
            line, record = item
            if not record or not any(c.strip() for c in record):
                continue
            if len(record) > width and not any(c.strip() for c in record[width:]):
                record = record[:width]
            if len(record) < width and not self._lines.last.endswith(("\n", "\r")):
                # Only the file's last line can lack a line break: short of fields, it was cut off mid-row.
                raise FileError(f"the last line has {len(record)} of {width} fields and no line break: "
                                "the file looks truncated", line)
            yield line, tuple(record)

    def position(self) -> int:
        try:
            return self._binary.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        try:
            self._text.close()
        except Exception:  # noqa: BLE001
            pass


def _mb(n: int) -> str:
    return f"{n / 1048576:,.0f} MB" if n >= 1048576 else f"{n / 1024:,.0f} KB"


def _streamed(name: str) -> bool:
    """Worksheets are read row by row (read-only mode); every other member is read whole."""
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def _directory_size(file: BinaryIO) -> tuple[int, int] | None:
    """(members, bytes) of the zip's central directory from its end record, or None if it has none."""
    end = zipfile._EndRecData(file)  # noqa: SLF001 - zipfile's own reader of the end record (zip64 too)
    if not end:
        return None
    return end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # noqa: SLF001


def check_xlsx_expansion(file: BinaryIO) -> None:
    """Refuse a workbook that would expand past the limits (module docstring), from its zip directory alone."""
    directory = _directory_size(file)
    if directory is not None:
        members, size = directory
        if members > XLSX_MAX_MEMBERS or size > XLSX_MAX_DIRECTORY:
            raise FileError(f"the XLSX file lists {members:,} members in a {_mb(size)} directory; a workbook has a "
                            f"few dozen (at most {XLSX_MAX_MEMBERS:,} are read)")
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as book:
            infos = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise FileError(f"not a readable XLSX file (damaged or truncated?): {exc}") from None
    finally:
        file.seek(0)
    total = sum(i.file_size for i in infos)
    if total > XLSX_MAX_EXPANDED:
        raise FileError(f"the XLSX file would expand to {_mb(total)}, more than the {_mb(XLSX_MAX_EXPANDED)} an "
                        "import reads: split it by period (rows already stored are skipped), or save it as CSV")
    held = [i for i in infos if not _streamed(i.filename)]
    held_size = sum(i.file_size for i in held)
    if held_size > XLSX_MAX_HELD:
        biggest = max(held, key=lambda i: i.file_size)
        raise FileError(f"the XLSX file's {biggest.filename} would expand to {_mb(biggest.file_size)} in memory "
                        f"(all such parts: {_mb(held_size)}, at most {_mb(XLSX_MAX_HELD)}); save it as CSV")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > XLSX_RATIO_FROM and ratio > XLSX_MAX_RATIO:
            raise FileError(f"the XLSX file's {info.filename} would expand {ratio:,.0f} times "
                            f"({_mb(info.compress_size)} to {_mb(info.file_size)}; at most {XLSX_MAX_RATIO} times): "
                            "a workbook that packs this tightly is a zip bomb, not an export")


class XlsxTable(Table):
    def __init__(self, source: Input, mapping: Mapping):
        import openpyxl  # noqa: PLC0415 - only XLSX imports need it: +112 ms (measured)
        from openpyxl.utils.exceptions import InvalidFileException

        self.format = "xlsx"
        self.encoding = None
        # A file object, never a path: given a path openpyxl refuses any name not ending in .xlsx/.xlsm, and an
        # upload is stored under a name of ours; the format was sniffed from the content (a ZIP) already.
        self._file = source.open()
        try:
            check_xlsx_expansion(self._file)
        except FileError:
            self._file.close()
            raise
        try:
            self._book = openpyxl.load_workbook(self._file, read_only=True, data_only=False)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError) as exc:
            self._file.close()
            raise FileError(f"not a readable XLSX file (damaged or truncated?): {exc}") from None
        sheet = mapping.sheet
        try:
            if sheet is None:
                ws = self._book.worksheets[0]
            elif isinstance(sheet, int):
                ws = self._book.worksheets[sheet - 1]
            else:
                ws = self._book[sheet]
        except (KeyError, IndexError):
            raise FileError(f"the workbook has no sheet {sheet!r}; it has {', '.join(self._book.sheetnames)}") from None
        self.total = ws.max_row or 0
        self._iter = enumerate(ws.iter_rows(values_only=True), start=1)
        self._row = 0
        self._read_header(mapping, "sheet", "row", lambda c: cell_text(c) or "")

    def _next(self):
        try:
            n, row = next(self._iter)
        except StopIteration:
            return None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
            raise FileError(f"the XLSX file is damaged after row {self._row}: {exc}") from None
        self._row = n
        return n, row

    def rows(self) -> Iterator[tuple[int, tuple]]:
        width = len(self.header)
        while True:
            item = self._next()
            if item is None:
                return
            line, row = item
            if not any(cell_text(c) for c in row):
                continue
            row = tuple(row)
            if len(row) > width and not any(cell_text(c) for c in row[width:]):
                row = row[:width]
            elif len(row) < width:
                row = row + (None,) * (width - len(row))
            yield line, row

    def position(self) -> int:
        return self._row

    def close(self) -> None:
        try:
            self._book.close()
        except Exception:  # noqa: BLE001
            pass
        self._file.close()


def open_table(source: Input, mapping: Mapping) -> Table:
    """Open an import file as the mapping describes it."""
    if source.size == 0:
        raise FileError("the file is empty")
    fmt = sniff_format(source, mapping.format)
    return XlsxTable(source, mapping) if fmt == "xlsx" else CsvTable(source, mapping)
