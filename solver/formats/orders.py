"""Order files (SPEC section 5): CSV or XLSX read with polars, every bad row reported at once.

A file holds one order per row under a header row. Column names are matched without
regard to case or surrounding spaces; an unknown column is a fault (a typo must not drop
data silently). Every cell is read as text (an Excel date or date-time cell as its
``YYYY-MM-DD HH:MM:SS`` text) and each rule below is one named polars expression over the
whole table, so one pass finds every fault of every row:

========== ======== ===============================================================
column     required value
========== ======== ===============================================================
id         yes      order id, unique in the file
product    yes      a product id of the factory
quantity   yes      whole number >= 1
due        yes      ISO 8601 date-time with an offset, or without one / a plain date
                    (00:00), then read in the upload's time zone
customer   no       text
release    no       a date-time as for ``due``; not after ``due``
weight     no       number > 0, default 1
destination no      a destination key of some site's ``transit_min``
allowed_sites no    site ids separated by ``;`` (empty: all sites)
========== ======== ===============================================================

Rows are numbered as a spreadsheet shows them: the header is row 1 (blank lines keep
their number and are skipped). A local time that a clock change skips is a fault; one it
repeats is read as the earlier of the two.

The one entry point is `read_orders`; `detect_format` tells CSV from XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import ValidationError

from solver.formats.workbook import (
    Damaged,
    Limit,
    LimitExceeded,
    check_workbook,
    extent_fault,
)
from solver.formats.workbook import (
    FileLimits as FileLimits,
)
from solver.problem import (
    EARLIEST_START,
    LATEST_START,
    MAX_TEXT,
    MAX_WEIGHT,
    Limits,
    Order,
)

COLUMNS = ("id", "product", "quantity", "due", "customer", "release", "weight",
           "destination", "allowed_sites")
REQUIRED = ("id", "product", "quantity", "due")

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other old Office files)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "text/x-csv",
                       "application/vnd.ms-excel"})  # browsers on Windows send the last for .csv
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})

# ISO 8601 date, optional time (HH:MM[:SS[.fff]]), optional offset (only after a time).
_DATETIME = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hm>\d{2}:\d{2})(?P<sec>:\d{2}(?:\.\d{1,9})?)?"
    r"\s*(?P<off>[Zz]|[+-]\d{2}:?\d{2})?)?$"
)


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class RowFault:
    """One fault: the row (the header is row 1), the column, the cell's text, what is wrong."""

    row: int
    column: str | None
    value: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"row", "column", "value", "message"}``."""
        return {"row": self.row, "column": self.column, "value": self.value,
                "message": self.message}

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        shown = f" ({self.value!r})" if self.value is not None else ""
        return f"{where}{shown}: {self.message}"


class OrderFileError(ValueError):
    """An order file that is refused as a whole.

    `faults` lists every bad row (or the first ones, see `read_orders`' `max_faults`;
    `count` says how many there are in all); it is empty when the file itself cannot be
    read (empty, not UTF-8, not a workbook), which `message` then says.
    """

    def __init__(
        self, message: str, faults: Iterable[RowFault] = (), count: int | None = None
    ) -> None:
        self.message = message
        self.faults = list(faults)
        self.count = len(self.faults) if count is None else count
        lines = [message, *(str(f) for f in self.faults)]
        super().__init__("\n".join(lines))


class FileTooLarge(OrderFileError):
    """An order file over one of its `FileLimits`: `limit` names which (``rows``,
    ``columns``, ``unzipped_bytes`` or ``parts``)."""

    def __init__(self, message: str, limit: Limit) -> None:
        super().__init__(message)
        self.limit = limit

    @classmethod
    def of(cls, exc: LimitExceeded) -> FileTooLarge:
        return cls(exc.message, exc.limit)


class TimezoneError(ValueError):
    """The upload's time zone is not a known IANA name."""


# ---- format and time zone --------------------------------------------------------------


def detect_format(
    content: bytes, filename: str | None = None, content_type: str | None = None
) -> FileFormat | None:
    """CSV or XLSX from the bytes, the file name and the media type; None for anything else.

    The content decides where it can: a zip archive is an XLSX workbook (when the name
    does not claim another type), an old binary Office file is refused. A name ending in
    ``.xlsx`` is taken as XLSX even when the bytes are damaged, so that the reader can say
    the workbook is corrupt rather than that the type is unsupported.
    """
    name = (filename or "").strip().lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ext == "xlsx" or (not ext and ctype == XLSX_TYPE):
        return FileFormat.XLSX
    if ext not in ("", "csv", "txt"):
        return None
    if not ext and ctype not in CSV_TYPES | GENERIC_TYPES | {XLSX_TYPE}:
        return None
    if content.startswith(ZIP_MAGIC):
        return FileFormat.XLSX if not ext else None
    if content.startswith(OLE_MAGIC) or b"\x00" in content[:8192]:
        return None
    return FileFormat.CSV


def parse_timezone(name: str) -> str:
    """`name` when it is an IANA time zone known to both zoneinfo and polars."""
    try:
        ZoneInfo(name)
        pl.Series([None], dtype=pl.Datetime("us")).dt.replace_time_zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, pl.exceptions.PolarsError):
        raise TimezoneError(
            f"'{name}' is not a known IANA time zone (e.g. UTC, America/Chicago)"
        ) from None
    return name


# ---- reading the table as text ---------------------------------------------------------


def _within(rows: int, columns: int, limits: FileLimits, where: str) -> None:
    """Refuse a table reaching past `limits` (`FileTooLarge`)."""
    fault = extent_fault(rows, columns, limits, where)
    if fault is not None:
        raise FileTooLarge.of(fault)


def _csv_table(content: bytes, limits: FileLimits) -> pl.DataFrame:
    """Every CSV record as a row of text cells (no header interpretation yet)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrderFileError(
            f"the file is not UTF-8 text (byte {exc.start + 1} is {content[exc.start]:#04x});"
            " save it as CSV UTF-8"
        ) from None
    if not text.strip():
        raise OrderFileError("the file is empty")
    first = next(line for line in text.splitlines() if line.strip())
    separator = ","
    if "," not in first:  # a spreadsheet's ;- or tab-separated export
        separator = "\t" if "\t" in first else ";" if ";" in first else ","
    width = len(next(csv.reader(io.StringIO(first), delimiter=separator), []))
    _within(text.count("\n") + 1, width, limits, "the file")
    data = text.encode()
    try:
        return pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False,
                           separator=separator, raise_if_empty=False)
    except pl.exceptions.ComputeError as exc:
        faults = _ragged_rows(text, separator)
        if faults:
            raise OrderFileError("rows have more cells than the first row", faults) from None
        raise OrderFileError(f"the file is not readable CSV: {exc}".split("\n")[0]) from None


def _ragged_rows(text: str, separator: str) -> list[RowFault]:
    """The rows with more cells than the first row (polars refuses them as a whole)."""
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    width = next((len(r) for r in rows if any(c.strip() for c in r)), 0)
    return [
        RowFault(n, None, separator.join(r),
                 f"{len(r)} cells but the first row has {width}; quote values holding "
                 f"'{separator}'")
        for n, r in enumerate(rows, start=1) if len(r) > width
    ]


def _xlsx_table(content: bytes, limits: FileLimits) -> pl.DataFrame:
    """The first sheet's cells as text, every row kept so that row numbers match the sheet;
    the workbook is checked against `limits` first (`check_workbook`), so that the reader,
    which holds the sheet as one dense range, is only ever given a bounded one."""
    if not content:
        raise OrderFileError("the file is empty")
    try:
        check_workbook(content, limits)
    except LimitExceeded as exc:
        raise FileTooLarge.of(exc) from None
    except Damaged as exc:
        raise OrderFileError(str(exc)) from None
    try:
        return pl.read_excel(
            io.BytesIO(content), sheet_id=1, engine="calamine", has_header=False,
            infer_schema_length=0, drop_empty_rows=False, drop_empty_cols=False,
            raise_if_empty=False, read_options={"skip_rows": 0},
        )
    except Exception as exc:  # fastexcel raises its own types for a damaged workbook
        first = str(exc).split("\n")[0]
        raise OrderFileError(f"the file is not a readable .xlsx workbook ({first})") from None


def _texts(table: pl.DataFrame) -> pl.DataFrame:
    """All cells as stripped text, empty as null, with the 1-based row number in `row`."""
    cells = [pl.col(c).cast(pl.String).str.strip_chars() for c in table.columns]
    return table.select(
        [pl.when(e == "").then(None).otherwise(e).alias(c) for e, c in zip(cells, table.columns,
                                                                          strict=True)]
    ).with_row_index("row", offset=1)


def _header(
    table: pl.DataFrame,
) -> tuple[int, dict[str, str], list[RowFault]]:
    """The header row's number, {table column: order column} and the header's faults."""
    cols = [c for c in table.columns if c != "row"]
    blank = pl.all_horizontal(pl.col(c).is_null() for c in cols) if cols else pl.lit(True)
    heads = table.filter(~blank).head(1)
    if heads.height == 0:
        raise OrderFileError("the file is empty")
    header_row = int(heads["row"][0])
    names = heads.row(0, named=True)
    below = table.filter(pl.col("row") > header_row)
    mapping: dict[str, str] = {}
    faults: list[RowFault] = []
    seen: dict[str, str] = {}
    for c in cols:
        raw = names[c]
        if raw is None:
            used = below.filter(pl.col(c).is_not_null()).head(1)
            if used.height:
                faults.append(RowFault(header_row, None, None,
                                       f"a column without a name holds values (first at row "
                                       f"{used['row'][0]}: {used[c][0]!r}); name it or delete "
                                       "it"))
            continue
        key = raw.strip().lower()
        if key not in COLUMNS:
            faults.append(RowFault(header_row, raw, raw,
                                   f"unknown column; the columns are {', '.join(COLUMNS)}"))
        elif key in seen:
            faults.append(RowFault(header_row, raw, raw,
                                   f"column '{key}' appears twice (also as {seen[key]!r})"))
        else:
            seen[key] = raw
            mapping[c] = key
    for key in REQUIRED:
        if key not in seen:
            faults.append(RowFault(header_row, key, None, "required column is missing"))
    return header_row, mapping, faults


# ---- the rules, one named expression each ----------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """Rows where `bad` is true are faults of `column`, explained by `message`."""

    name: str
    column: str
    bad: pl.Expr
    message: pl.Expr


def _msg(text: str) -> pl.Expr:
    return pl.lit(text)


def _datetime_exprs(column: str, zone: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(well-formed, local time exists, value in UTC) for a date-time text column."""
    parts = pl.col(column).str.extract_groups(_DATETIME)
    local = pl.concat_str([
        parts.struct.field("date"), pl.lit("T"),
        parts.struct.field("hm").fill_null("00:00"), parts.struct.field("sec").fill_null(":00"),
    ])
    naive = local.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
    offset = parts.struct.field("off").str.replace(r"^[Zz]$", "+00:00")
    aware = pl.concat_str([local, offset]).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us", time_zone="UTC")
    in_zone = naive.dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
    has_offset = offset.is_not_null()
    well_formed = pl.when(has_offset).then(aware.is_not_null()).otherwise(naive.is_not_null())
    exists = has_offset | in_zone.is_not_null()
    value = pl.when(has_offset).then(aware).otherwise(in_zone)
    return well_formed, exists, value


def _number(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64, strict=False)


def _rules(
    zone: str, factory: Mapping[str, Any] | None, present: set[str], limits: Limits,
    window: tuple[datetime, datetime, str],
) -> list[_Rule]:
    """Every rule of SPEC section 5 (and the factory cross-references, the limits and the
    time window) as expressions."""
    rules: list[_Rule] = []
    for col in REQUIRED:
        if col in present:
            rules.append(_Rule(f"{col}_required", col, pl.col(col).is_null(),
                               _msg("a value is required")))

    if "id" in present:
        first = pl.col("row").min().over("id")
        rules += [
            _Rule("id_length", "id", pl.col("id").str.len_chars() > MAX_TEXT,
                  _msg(f"longer than {MAX_TEXT} characters")),
            _Rule("id_unique", "id", pl.col("id").is_not_null() & (pl.col("row") != first),
                  pl.format("the id repeats row {}", first)),
        ]
    if "customer" in present:
        rules.append(_Rule("customer_length", "customer",
                           pl.col("customer").str.len_chars() > MAX_TEXT,
                           _msg(f"longer than {MAX_TEXT} characters")))
    for col in ("id", "product", "customer", "destination", "allowed_sites"):
        if col in present:
            rules.append(_Rule(f"{col}_clean", col,
                               pl.col(col).str.contains(r"[\x00-\x1f\x7f]"),
                               _msg("must not contain control characters (U+0000-U+001F, "
                                    "U+007F)")))

    if "quantity" in present:
        q = _number("quantity")
        given = pl.col("quantity").is_not_null()
        rules += [
            _Rule("quantity_number", "quantity", given & ~q.is_finite().fill_null(False),
                  _msg("not a number; a whole number of racks >= 1 is expected")),
            _Rule("quantity_whole", "quantity", q.is_finite() & (q != q.floor()),
                  _msg("not a whole number of racks")),
            _Rule("quantity_min", "quantity", q.is_finite() & (q == q.floor()) & (q < 1),
                  _msg("must be at least 1")),
            _Rule("quantity_max", "quantity", q.is_finite() & (q > limits.max_quantity),
                  _msg(f"must be at most {limits.max_quantity} (racks per order)")),
        ]

    if "weight" in present:
        w = _number("weight")
        given = pl.col("weight").is_not_null()
        rules += [
            _Rule("weight_number", "weight", given & ~w.is_finite().fill_null(False),
                  _msg("not a number; a number > 0 is expected (blank: 1)")),
            _Rule("weight_positive", "weight", w.is_finite() & (w <= 0),
                  _msg("must be greater than 0")),
            _Rule("weight_max", "weight", w.is_finite() & (w > MAX_WEIGHT),
                  _msg(f"must be at most {MAX_WEIGHT:,.0f}")),
        ]

    for col in ("due", "release"):
        if col not in present:
            continue
        well_formed, exists, value = _datetime_exprs(col, zone)
        given = pl.col(col).is_not_null()
        lo, hi, near = window
        rules += [
            _Rule(f"{col}_datetime", col, given & ~well_formed.fill_null(False),
                  _msg("not a date-time; use ISO 8601 like 2026-12-20T06:00:00Z, "
                       "2026-12-20T06:00 or 2026-12-20")),
            _Rule(f"{col}_exists", col, given & well_formed & ~exists,
                  _msg(f"this local time does not exist in {zone} (the clock skips it)")),
            _Rule(f"{col}_range", col, given & well_formed & exists & ((value < lo) | (value > hi)),
                  _msg(f"out of range: times must lie {near}")),
        ]
    if {"due", "release"} <= present:
        due = _datetime_exprs("due", zone)[2]
        release = _datetime_exprs("release", zone)[2]
        rules.append(_Rule("release_before_due", "release", (release > due).fill_null(False),
                           _msg("release is after due")))

    if factory is not None:
        products = sorted({str(p["id"]) for p in factory.get("products", [])})
        sites = sorted({str(s["id"]) for s in factory.get("sites", [])})
        destinations = sorted({str(d) for s in factory.get("sites", [])
                               for d in s.get("transit_min", {})})
        if "product" in present:
            rules.append(_Rule(
                "product_known", "product",
                pl.col("product").is_not_null() & ~pl.col("product").is_in(products),
                _msg(f"not a product of the factory ({', '.join(products) or 'none'})")))
        if "destination" in present:
            rules.append(_Rule(
                "destination_known", "destination",
                pl.col("destination").is_not_null() & ~pl.col("destination").is_in(destinations),
                _msg("in no site's transit_min "
                     f"({', '.join(destinations) or 'the factory has no destinations'})")))
        if "allowed_sites" in present:
            unknown = _site_list().list.eval(
                pl.element().filter(~pl.element().is_in(sites)))
            rules.append(_Rule(
                "allowed_sites_known", "allowed_sites", unknown.list.len().fill_null(0) > 0,
                pl.format("unknown site(s) {}; the factory has {}", unknown.list.join(", "),
                          pl.lit(", ".join(sites)))))
    return rules


def _site_list() -> pl.Expr:
    """`allowed_sites` as a list of ids (`;`-separated, blanks dropped)."""
    return pl.col("allowed_sites").str.split(";").list.eval(
        pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != ""))


def _check(
    frame: pl.DataFrame, rules: Sequence[_Rule], limit: int | None = None
) -> tuple[list[RowFault], int, int]:
    """Evaluate every rule over the whole frame at once: the faults, one per rule and bad
    row (with `limit`, only each rule's first `limit`: enough for the first `limit` of
    all), how many there are in all, and in how many rows."""
    if not rules:
        return [], 0, 0
    checked = frame.select(
        pl.col("row"),
        *[r.bad.fill_null(False).alias(f"bad_{r.name}") for r in rules],
        *[r.message.alias(f"msg_{r.name}") for r in rules],
    )
    flags = [pl.col(f"bad_{r.name}") for r in rules]
    total = int(checked.select(pl.sum_horizontal(f.sum() for f in flags)).item())
    rows = int(checked.select(pl.any_horizontal(flags).sum()).item())
    faults: list[RowFault] = []
    for r in rules:
        hits = frame.select("row", pl.col(r.column).alias("value")).with_columns(
            checked[f"msg_{r.name}"].alias("message")
        ).filter(checked[f"bad_{r.name}"])
        if limit is not None:
            hits = hits.head(limit)
        faults += [RowFault(int(h["row"]), r.column, h["value"], str(h["message"]))
                   for h in hits.iter_rows(named=True)]
    return faults, total, rows


# ---- the entry point -------------------------------------------------------------------


def read_orders(
    content: bytes,
    fmt: FileFormat | str,
    *,
    timezone: str = "UTC",
    factory: Mapping[str, Any] | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
    max_faults: int | None = None,
    file_limits: FileLimits | None = None,
) -> list[Order]:
    """Read an order file into SPEC section 1 orders, or refuse it naming every fault.

    Parameters
    ----------
    content
        The file's bytes (CSV in UTF-8, or an XLSX workbook whose first sheet is read).
    fmt
        ``"csv"`` or ``"xlsx"`` (see `detect_format`).
    timezone
        IANA zone in which date-times without an offset (and plain dates, at 00:00) are read.
    factory
        A factory model (``sites``, ``resources``, ``products`` as in SPEC section 1); when
        given, products, allowed sites and destinations must be known to it.
    limits
        The most racks an order may have, and with `now` how far its times may lie from
        now (default `Limits()`).
    now
        The time the window of `limits` is around; without it, times lie from 1970 to
        before 2200.
    max_faults
        List only the first this many faults (by row) in the error, which still counts
        them all: a huge bad file costs little to refuse.
    file_limits
        How large the file may be once read (rows, columns, a workbook unzipped); by
        default `FileLimits()`. A file over them is refused before it is read.

    Returns
    -------
    list[Order]
        One order per data row, in file order, times in UTC.

    Raises
    ------
    TimezoneError
        `timezone` is not a known IANA zone.
    OrderFileError
        The file cannot be read, or some rows are bad; `faults` lists every one of them.
        `FileTooLarge` (an `OrderFileError`) when it is over one of `file_limits`.
    """
    zone = parse_timezone(timezone)
    fmt = FileFormat(fmt)
    size = file_limits or FileLimits()
    raw = (_csv_table(content, size) if fmt is FileFormat.CSV
           else _xlsx_table(content, size))
    _within(raw.height, raw.width, size, "the file")
    table = _texts(raw)
    header_row, mapping, faults = _header(table)
    cells = [c for c in table.columns if c != "row"]
    blank = pl.all_horizontal(pl.col(c).is_null() for c in cells)
    frame = table.filter((pl.col("row") > header_row) & ~blank).select(
        "row", *[pl.col(c).alias(k) for c, k in mapping.items()])
    frame = frame.with_columns(
        [pl.lit(None, dtype=pl.String).alias(k) for k in COLUMNS if k not in mapping.values()])
    if frame.height == 0:
        raise OrderFileError("the file has no data rows: one order per row under the header",
                             faults)
    present = set(mapping.values())
    limits = limits or Limits()
    if now is None:
        window = (EARLIEST_START, LATEST_START, f"from {EARLIEST_START:%Y-%m-%d} to before "
                                                f"{LATEST_START:%Y-%m-%d}")
    else:
        span = timedelta(days=limits.span_days)
        window = (now - span, now + span, f"within {limits.span_days} days of now "
                                          f"({now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})")
    found, total, rows = _check(frame, _rules(zone, factory, present, limits, window),
                                max_faults)
    if faults or found:
        total += len(faults)
        rows += 1 if faults else 0  # the header's
        faults += found
        order = {c: i for i, c in enumerate(COLUMNS)}
        faults.sort(key=lambda f: (f.row, order.get(f.column or "", -1)))
        raise OrderFileError(
            f"{total} fault{'s' * (total != 1)} in {rows} "
            f"row{'s' * (rows != 1)}; nothing was read", faults[:max_faults], total)
    return _orders(frame, zone)


def _orders(frame: pl.DataFrame, zone: str) -> list[Order]:
    """The checked frame as `Order` objects (a model fault still names its row)."""
    values = frame.select(
        "row", "id", "customer", "product", "destination",
        pl.col("quantity").cast(pl.Float64).cast(pl.Int64),
        pl.col("weight").cast(pl.Float64).fill_null(1.0),
        _datetime_exprs("due", zone)[2].alias("due"),
        _datetime_exprs("release", zone)[2].alias("release"),
        pl.when(_site_list().list.len() > 0).then(_site_list()).alias("allowed_sites"),
    )
    orders: list[Order] = []
    faults: list[RowFault] = []
    for rec in values.iter_rows(named=True):
        row = rec.pop("row")
        try:
            orders.append(Order.model_validate({k: v for k, v in rec.items() if v is not None}))
        except ValidationError as exc:
            for e in exc.errors():
                col = str(e["loc"][0]) if e["loc"] else None
                faults.append(RowFault(row, col, None if col is None else _text(rec.get(col)),
                                       str(e["msg"])))
    if faults:
        raise OrderFileError(f"{len(faults)} faults; nothing was read", faults)
    return orders


def _text(v: object) -> str | None:
    return None if v is None else str(v)
