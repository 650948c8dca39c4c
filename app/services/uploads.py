"""Order files: size-bounded reading, format detection, the checks, one all-or-nothing upsert."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from app.db import reading, transaction
from app.domain import Fault, Invalid, TooLarge, UnsupportedFormat
from app.schemas.orders import OrderBatchResult, Unplanned
from app.services import factory as factory_svc
from app.services import orders as orders_svc
from solver.formats.orders import (
    FileFormat,
    FileLimits,
    FileTooLarge,
    OrderFileError,
    TimezoneError,
    detect_format,
    parse_timezone,
    read_orders,
)
from solver.problem import Limits
from solver.problem import Order as SpecOrder

CHUNK = 1 << 16
# the setting that sets each of a file's limits (`FileTooLarge.limit`)
LIMIT_SETTINGS = {"rows": "RACKPLAN_MAX_UPLOAD_ROWS", "columns": "RACKPLAN_MAX_UPLOAD_COLUMNS",
                  "unzipped_bytes": "RACKPLAN_MAX_UPLOAD_UNZIPPED_BYTES", "parts": None}


class UploadResult(OrderBatchResult):
    """What an order file did (or, with `dry_run`, would do): ids created, changed and
    unchanged (the same file twice changes nothing)."""

    rows: int = Field(description="orders (data rows) in the file")
    format: FileFormat = Field(description="how the file was read: csv or xlsx")
    dry_run: bool = Field(description="true: only checked, nothing was written")


def read_limited(stream: BinaryIO, limit: int) -> bytes:
    """The whole of `stream`, read in chunks; TooLarge as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(min(CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
    return b"".join(parts)


def too_large(limit: int) -> TooLarge:
    """The refusal of a file over `limit` bytes."""
    return TooLarge(f"the file is larger than {limit} bytes; split it into smaller files",
                    faults=[{"field": "file", "message": f"larger than {limit} bytes"}])


def file_format(content: bytes, filename: str | None, content_type: str | None) -> FileFormat:
    """CSV or XLSX, else UnsupportedFormat."""
    fmt = detect_format(content, filename, content_type)
    if fmt is None:
        what = filename or content_type or "the file"
        raise UnsupportedFormat(
            f"{what} is not an order file: send CSV (UTF-8) or Excel .xlsx",
            faults=[{"field": "file", "message": "not CSV or XLSX"}])
    return fmt


def _refusal(exc: OrderFileError) -> Invalid | TooLarge:
    """The refusal of a file: every bad row, what is wrong with the file, or the limit it
    is over (413)."""
    if isinstance(exc, FileTooLarge):
        setting = LIMIT_SETTINGS.get(exc.limit)
        fault: Fault = {"field": "file", "message": exc.message + (
            f" ({setting})" if setting else "")}
        return TooLarge(f"{exc.message}; split it into smaller files", faults=[fault],
                        title="Order file too large")
    if not exc.faults:
        return Invalid(exc.message, [{"field": "file", "message": exc.message}],
                       title="Invalid order file")
    faults: list[Fault] = [{"row": f.row, "column": f.column, "value": f.value,
                            "message": f.message} for f in exc.faults]
    shown = "; ".join(str(f) for f in exc.faults[:3])
    more = f" (and {exc.count - 3} more)" if exc.count > 3 else ""
    return Invalid(f"{exc.message}: {shown}{more}", faults, title="Invalid order file",
                   fault_count=exc.count)


def import_orders(
    sessions: sessionmaker[Session],
    content: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    timezone: str,
    dry_run: bool,
    now: datetime,
    limits: Limits | None = None,
    max_faults: int | None = None,
    file_limits: FileLimits | None = None,
) -> UploadResult:
    """Check an order file against the current factory and upsert its orders in one
    transaction; nothing is written when any row is bad or `dry_run` is set (`limits`: of
    the racks per order and the time window around `now`; `max_faults`: how many faults
    the refusal lists; `file_limits`: how large the file may be once read).

    The file is read and checked outside any transaction (against the factory read
    before), and a dry run only reads: the write lock is held only for the upsert itself,
    so that other writers do not wait for a large file being parsed."""
    try:
        zone = parse_timezone(timezone)
    except TimezoneError as exc:
        raise Invalid(str(exc), [{"field": "timezone", "message": str(exc)}]) from None
    fmt = file_format(content, filename, content_type)
    def read(factory: dict[str, object]) -> list[SpecOrder]:
        try:
            return read_orders(content, fmt, timezone=zone, factory=factory, limits=limits,
                               now=now, max_faults=max_faults, file_limits=file_limits)
        except OrderFileError as exc:
            raise _refusal(exc) from None

    with reading(sessions) as s:
        fv = factory_svc.require_latest(s)
        version, factory = fv.version, fv.data
    orders = read(factory)
    if dry_run:
        with reading(sessions) as s:
            done = orders_svc.preview(s, orders)
            warnings = orders_svc.batch_warnings(s, orders, factory, now)
    else:
        with transaction(sessions) as s:
            fv = factory_svc.require_latest(s)
            if fv.version != version:  # the factory changed meanwhile: check again
                orders = read(fv.data)
            warnings = orders_svc.batch_warnings(s, orders, fv.data, now)
            done = orders_svc.upsert(s, orders, now)
    return UploadResult(**done, warnings=[Unplanned.model_validate(w) for w in warnings],
                        rows=len(orders), format=fmt, dry_run=dry_run)

