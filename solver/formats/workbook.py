"""Limits on an order file before it is read: a workbook's parts unzipped, its sheets' extent.

An Excel reader holds a sheet as the dense range from A1 to its farthest cell, so one cell
at XFD1048576 in a file of a few KB asks for hundreds of GB, and a zip part can unzip to a
thousand times its size. `check_workbook` looks at what the bytes really hold before any
reader sees them:

- the zip's parts: at most `MAX_PARTS`, each stored or deflated, and the bytes they really
  unzip to (counted while unzipping, not taken from the zip's own directory) added up
  within the limit;
- every worksheet in it: its declared ``<dimension>`` first, then every cell holding a
  value, streamed (nothing is kept), within the limit of rows and columns.

A file over a limit raises `LimitExceeded` naming the limit; a damaged zip `Damaged`
(`solver.formats.orders` turns both into its `OrderFileError`s).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Literal
from xml.parsers import expat

MAX_PARTS = 1000  # an order workbook has about ten
_CHUNK = 1 << 16
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
Limit = Literal["rows", "columns", "unzipped_bytes", "parts"]


@dataclass(frozen=True)
class FileLimits:
    """How large an order file may be once read.

    Attributes
    ----------
    rows
        Most rows of the table, the header row included (blank rows count: they keep
        their number).
    columns
        Most columns (26: A to Z).
    unzipped_bytes
        Most bytes the parts of an .xlsx workbook may unzip to, all added up.
    """

    rows: int = 100_000
    columns: int = 26
    unzipped_bytes: int = 50_000_000


class LimitExceeded(ValueError):
    """An order file over one of its `FileLimits` (`limit` names which)."""

    def __init__(self, message: str, limit: Limit) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


class Damaged(ValueError):
    """A workbook that is not a readable zip."""


def column_name(n: int) -> str:
    """The spreadsheet name of the 1-based column `n` (1 -> A, 27 -> AA)."""
    name = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def extent_fault(rows: int, columns: int, limits: FileLimits, where: str) -> LimitExceeded | None:
    """The refusal of a table reaching row `rows` and column `columns`, or None."""
    if rows > limits.rows:
        return LimitExceeded(f"{where} reaches row {rows}: an order file has at most "
                            f"{limits.rows} rows", "rows")
    if columns > limits.columns:
        return LimitExceeded(f"{where} reaches column {columns} ({column_name(columns)}): an "
                            f"order file has at most {limits.columns} columns "
                            f"(A to {column_name(limits.columns)})", "columns")
    return None


def _damaged(why: str) -> Damaged:
    return Damaged(f"the file is not a readable .xlsx workbook ({why})")


def _unzipped_size(content: bytes, info: zipfile.ZipInfo, budget: int) -> int:
    """The bytes part `info` really unzips to, counted while unzipping; stops once past
    `budget` (returning a number above it)."""
    start = info.header_offset
    header = content[start:start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise _damaged(f"part {info.filename!r} has no header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_len + extra_len
    data = content[begin:begin + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        return len(data)
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    pending = data
    try:
        while pending and total <= budget:
            total += len(inflate.decompress(pending, _CHUNK))
            pending = inflate.unconsumed_tail
        if total <= budget:
            total += len(inflate.flush())
    except zlib.error as exc:
        raise _damaged(f"part {info.filename!r}: {exc}") from None
    return total


class _SheetScan:
    """Streams one sheet's XML: its declared dimension, then the farthest cell holding a
    value, refusing as soon as either passes the limits (`fault`)."""

    def __init__(self, name: str, limits: FileLimits) -> None:
        self.name = name
        self.limits = limits
        self.is_sheet: bool | None = None
        self.row = 0
        self.col = 0
        self.cell: tuple[int, int] | None = None
        self.fault: LimitExceeded | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag.rsplit(":", 1)[-1]
        if self.is_sheet is None:
            self.is_sheet = local == "worksheet"
            if not self.is_sheet:
                raise StopIteration  # another kind of part: nothing to count
            return
        if local == "row":
            r = attrs.get("r", "")
            self.row = int(r) if r.isdigit() else self.row + 1
            self.col = 0
        elif local == "c":
            m = _REF.match(attrs.get("r", ""))
            if m:
                self.col, row = _column_number(m.group(1)), int(m.group(2))
            else:
                self.col, row = self.col + 1, self.row
            self.cell = (row, self.col)
        elif local in ("v", "is", "f") and self.cell is not None:
            row, col = self.cell
            self.cell = None
            self._check(row, col, f"sheet part {self.name!r}: the cell {column_name(col)}{row}")
        elif local == "dimension":
            last = attrs.get("ref", "").split(":")[-1]
            m = _REF.match(last)
            if m:
                self._check(int(m.group(2)), _column_number(m.group(1)),
                            f"sheet part {self.name!r}: the declared range (to {last})")

    def _check(self, row: int, col: int, where: str) -> None:
        fault = extent_fault(row, col, self.limits, where)
        if fault is not None:
            self.fault = fault
            raise StopIteration


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: FileLimits) -> None:
    scan = _SheetScan(info.filename, limits)
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except StopIteration:
        pass
    except expat.ExpatError as exc:
        if scan.is_sheet:
            raise _damaged(f"part {info.filename!r}: {exc}") from None
    if scan.fault is not None:
        raise scan.fault


def check_workbook(content: bytes, limits: FileLimits) -> None:
    """Refuse an .xlsx file whose parts unzip past `limits.unzipped_bytes` or a sheet of
    which reaches past `limits.rows` or `limits.columns` (`LimitExceeded`), or that is not
    a zip at all (`Damaged`); read nothing else."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _damaged(str(exc)) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_PARTS:
            raise LimitExceeded(f"the workbook has {len(infos)} parts: an order workbook has "
                               f"at most {MAX_PARTS}", "parts")
        budget = limits.unzipped_bytes
        for info in infos:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _damaged(f"part {info.filename!r} uses compression method "
                               f"{info.compress_type}; Excel writes deflate")
            size = _unzipped_size(content, info, budget)
            if size != info.file_size and size <= budget:
                raise _damaged(f"part {info.filename!r} unzips to {size} bytes, not the "
                               f"{info.file_size} its directory says")
            budget -= size
            if budget < 0:
                raise LimitExceeded(
                    f"the workbook unzips to more than {limits.unzipped_bytes} bytes: an "
                    f"order workbook holds at most that much", "unzipped_bytes")
        for info in infos:
            if not info.is_dir() and info.filename.lower().endswith(".xml"):
                _scan_part(zf, info, limits)
