"""The order-file reader (SPEC section 5), without a database."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from solver.formats.orders import (
    FileFormat,
    OrderFileError,
    RowFault,
    TimezoneError,
    detect_format,
    read_orders,
)
from solver.problem import load_problem

ROOT = Path(__file__).resolve().parents[1]
FACTORY: dict[str, Any] = {
    k: v for k, v in json.loads((ROOT / "app" / "sample" / "sample.json").read_text()).items()
    if k in ("sites", "resources", "products")
}
HEADER = "id,product,quantity,due"


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def faults(content: bytes, fmt: str = "csv", **kw: Any) -> list[tuple[int, str | None, str | None]]:
    """(row, column, value) of every fault the reader reports."""
    with pytest.raises(OrderFileError) as exc:
        read_orders(content, fmt, **kw)
    return [(f.row, f.column, f.value) for f in exc.value.faults]


def xlsx(rows: list[list[Any]], formats: dict[tuple[int, int], str] | None = None) -> bytes:
    """A workbook whose first sheet holds `rows` (datetimes as Excel date cells)."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("orders")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, datetime):
                ws.write_datetime(r, c, v, date_fmt)
            elif v is not None:
                ws.write(r, c, v)
    wb.add_worksheet("notes").write(0, 0, "ignored: only the first sheet is read")
    wb.close()
    return buf.getvalue()


def test_reads_every_column_form() -> None:
    """Offsets, local times, plain dates, weights and site lists become SPEC orders in UTC."""
    orders = read_orders(csv(
        " ID , Product,QUANTITY,due,release,weight,allowed_sites,destination,customer",
        "A,GB200-NVL72,4,2026-12-20T08:00:00-05:00,2026-12-02,2.5, HOU ; PHX ;,us-west,acme",
        "B,NVSW-SPINE,3.0,2026-12-21T06:30,,,,,",
    ), "csv", factory=FACTORY)
    a, b = orders
    assert a.id == "A" and a.quantity == 4 and a.weight == 2.5 and a.customer == "acme"
    assert a.due == datetime(2026, 12, 20, 13, 0, tzinfo=UTC)
    assert a.release == datetime(2026, 12, 2, tzinfo=UTC)
    assert a.allowed_sites == ["HOU", "PHX"] and a.destination == "us-west"
    assert b.quantity == 3 and b.weight == 1.0 and b.due == datetime(2026, 12, 21, 6, 30,
                                                                      tzinfo=UTC)
    assert b.release is None and b.allowed_sites is None and b.customer is None


def test_local_times_read_in_the_upload_zone() -> None:
    """A plain date in America/Chicago is 06:00Z in winter and 05:00Z in summer; an offset
    wins over the zone."""
    orders = read_orders(csv(
        HEADER, "W,GB200-NVL72,1,2026-12-20", "S,GB200-NVL72,1,2026-07-01T00:00",
        "O,GB200-NVL72,1,2026-12-20T00:00Z",
    ), "csv", timezone="America/Chicago")
    assert [o.due for o in orders] == [
        datetime(2026, 12, 20, 6, tzinfo=UTC), datetime(2026, 7, 1, 5, tzinfo=UTC),
        datetime(2026, 12, 20, tzinfo=UTC)]


def test_every_bad_row_reported_at_once() -> None:
    """Each bad cell is one fault naming row (header = 1), column and value, in row order."""
    found = faults(csv(
        "id,product,quantity,due,weight,release",
        "A,GB200-NVL72,0,2026-12-20,1,",
        "B,GB999,2,2026-12-20,1,",
        "C,GB200-NVL72,2.5,20/12/2026,-1,",
        "A,GB200-NVL72,1,2026-12-20,abc,2026-12-24",
        "E,GB200-NVL72,1,2026-12-20,1,",
    ), factory=FACTORY)
    assert found == [
        (2, "quantity", "0"),
        (3, "product", "GB999"),
        (4, "quantity", "2.5"), (4, "due", "20/12/2026"), (4, "weight", "-1"),
        (5, "id", "A"), (5, "release", "2026-12-24"), (5, "weight", "abc"),
    ]


def test_fault_messages_say_what_is_wrong() -> None:
    """Messages name the rule: the repeated id's first row, the factory's products, ..."""
    with pytest.raises(OrderFileError) as exc:
        read_orders(csv(HEADER, "A,GB200-NVL72,1,2026-12-20", "A,GB999,x,2026-12-20"), "csv",
                    factory=FACTORY)
    by_col = {f.column: f.message for f in exc.value.faults}
    assert by_col["id"] == "the id repeats row 2"
    assert "GB200-NVL72, GB300-NVL72, NVSW-SPINE" in by_col["product"]
    assert "not a number" in by_col["quantity"]
    assert exc.value.faults[0].as_dict() == {"row": 3, "column": "id", "value": "A",
                                             "message": "the id repeats row 2"}


def test_missing_required_values() -> None:
    """A blank required cell is a fault of that column; a fully blank line is skipped but
    keeps its row number."""
    found = faults(csv(HEADER, "A,GB200-NVL72,1,2026-12-20", ",,,", "", ",GB200-NVL72,,"))
    assert found == [(5, "id", None), (5, "quantity", None), (5, "due", None)]


def test_header_faults_unknown_duplicate_and_missing_columns() -> None:
    """An unknown column, a repeated column and a missing required one are header faults
    (row 1), reported together with the row faults of the columns that are there."""
    found = faults(csv("id,Product,qty,PRODUCT,due,colour", "A,GB999,4,x,2026-13-01,red"),
                   factory=FACTORY)
    assert found == [
        (1, "qty", "qty"), (1, "PRODUCT", "PRODUCT"), (1, "colour", "colour"),
        (1, "quantity", None), (2, "product", "GB999"), (2, "due", "2026-13-01"),
    ]


def test_factory_references_checked() -> None:
    """Products, allowed sites and destinations must be known to the factory model."""
    with pytest.raises(OrderFileError) as exc:
        read_orders(csv(
            "id,product,quantity,due,allowed_sites,destination",
            "A,GB200-NVL72,1,2026-12-20,HOU;MARS;VENUS,us-north",
        ), "csv", factory=FACTORY)
    msgs = {f.column: f.message for f in exc.value.faults}
    assert set(msgs) == {"allowed_sites", "destination"}
    assert msgs["allowed_sites"].startswith("unknown site(s) MARS, VENUS")
    assert "us-central, us-east, us-west" in msgs["destination"]


def test_without_factory_only_file_rules() -> None:
    """Without a factory model, unknown products and sites are not the reader's concern."""
    (o,) = read_orders(csv("id,product,quantity,due,allowed_sites", "A,X,1,2026-12-20,Z"),
                       "csv")
    assert o.product == "X" and o.allowed_sites == ["Z"]


def test_nonexistent_local_time_refused() -> None:
    """A local time skipped by the spring-forward clock change is a fault; an ambiguous one
    takes the earlier instant."""
    with pytest.raises(OrderFileError) as exc:
        read_orders(csv(HEADER, "A,P,1,2026-03-08T02:30"), "csv", timezone="America/Chicago")
    assert exc.value.faults[0].column == "due"
    assert "does not exist in America/Chicago" in exc.value.faults[0].message
    (o,) = read_orders(csv(HEADER, "A,P,1,2026-11-01T01:30"), "csv",
                       timezone="America/Chicago")
    assert o.due == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # CDT, the first 01:30


@pytest.mark.parametrize("value", ["2026-12-20T00:00:00", "2026-12-20 00:00",
                                   "2026-12-20T00:00:00.000Z", "2026-12-20T01:00+01:00",
                                   "2026-12-20T01:00:00+0100"])
def test_iso_forms_accepted(value: str) -> None:
    """ISO 8601 forms with T or space, seconds or not, Z or numeric offsets, are read."""
    (o,) = read_orders(csv(HEADER, f"A,P,1,{value}"), "csv")
    assert o.due == datetime(2026, 12, 20, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-12-20Z", "20/12/2026", "2026-12-20T25:00",
                                   "2026-12-20T10:00+2", "tomorrow", "46000"])
def test_bad_datetimes_refused(value: str) -> None:
    """Anything that is not an ISO 8601 date-time is a fault of its cell."""
    assert faults(csv(HEADER, f"A,P,1,{value}")) == [(2, "due", value)]


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("12.0", True), ("0", False),
                                           ("-3", False), ("1.5", False), ("nan", False),
                                           ("1e12", False), ("four", False)])
def test_quantity_whole_number_at_least_one(value: str, ok: bool) -> None:
    """quantity is a whole number >= 1 (and fits the database)."""
    content = csv(HEADER, f"A,P,{value},2026-12-20")
    if ok:
        assert read_orders(content, "csv")[0].quantity == int(float(value))
    else:
        assert faults(content) == [(2, "quantity", value)]


@pytest.mark.parametrize("value", ["0", "-1", "inf", "x"])
def test_weight_positive_number(value: str) -> None:
    """weight is a finite number > 0."""
    assert faults(csv(HEADER + ",weight", f"A,P,1,2026-12-20,{value}")) == [
        (2, "weight", value)]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b" \n\n", "the file is empty"),
    (b"id,product,quantity,due\n", "no data rows"),
    (b"id,product,quantity,due\n,,,\n\n", "no data rows"),
    (b"id,product\xe9,quantity,due\n", "not UTF-8"),
])
def test_unreadable_csv(content: bytes, message: str) -> None:
    """Empty, header-only and non-UTF-8 files are refused with a clear message."""
    with pytest.raises(OrderFileError, match=message):
        read_orders(content, "csv")


def test_ragged_rows_named() -> None:
    """A row with more cells than the header is named by its row number."""
    assert faults(csv(HEADER, "A,P,1,2026-12-20", "B,P,1,2026-12-20,extra", "C,P,1,x,y")) == [
        (3, None, "B,P,1,2026-12-20,extra"), (4, None, "C,P,1,x,y")]


def test_bom_and_semicolon_separator() -> None:
    """A UTF-8 BOM and a spreadsheet's ;-separated export are read."""
    (o,) = read_orders("\ufeffid;product;quantity;due\nA;P;2;2026-12-20\n".encode(), "csv")
    assert (o.id, o.quantity) == ("A", 2)


def test_unnamed_column_with_values_is_a_fault() -> None:
    """Values under a header cell left blank are not dropped silently."""
    found = faults(csv(HEADER + ",", "A,P,1,2026-12-20,oops"))
    assert found == [(1, None, None)]


def test_xlsx_date_cells_and_numbers() -> None:
    """Excel date cells are local times in the upload's zone, numbers are read as typed,
    blank rows keep their sheet row number."""
    content = xlsx([
        ["id", "product", "quantity", "due", "weight", "allowed_sites"],
        ["A", "GB200-NVL72", 4, datetime(2026, 12, 20), 2.5, "HOU;PHX"],
        [],
        [2001, "NVSW-SPINE", 8.0, "2026-12-20T00:00:00Z", None, None],
        ["C", "GB200-NVL72", 8.5, 46000, 1, None],
    ])
    assert faults(content, "xlsx", timezone="America/Chicago") == [
        (5, "quantity", "8.5"), (5, "due", "46000")]
    good = xlsx([
        ["id", "product", "quantity", "due", "weight", "allowed_sites"],
        ["A", "GB200-NVL72", 4, datetime(2026, 12, 20), 2.5, "HOU;PHX"],
        [],
        [2001, "NVSW-SPINE", 8.0, "2026-12-20T00:00:00Z", None, None],
    ])
    a, b = read_orders(good, "xlsx", timezone="America/Chicago")
    assert a.due == datetime(2026, 12, 20, 6, tzinfo=UTC) and a.quantity == 4
    assert a.weight == 2.5 and a.allowed_sites == ["HOU", "PHX"]
    assert b.id == "2001" and b.quantity == 8 and b.due == datetime(2026, 12, 20, tzinfo=UTC)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
    (b"id,product,quantity,due\n", "not a readable .xlsx"),
])
def test_unreadable_xlsx(content: bytes, message: str) -> None:
    """An empty or corrupt workbook is refused with a clear message, never a traceback."""
    with pytest.raises(OrderFileError, match=message):
        read_orders(content, "xlsx")


def test_empty_sheet() -> None:
    """A workbook whose first sheet is empty has no orders."""
    with pytest.raises(OrderFileError, match="empty"):
        read_orders(xlsx([]), "xlsx")


def test_sample_files_agree() -> None:
    """The packaged sample-orders.csv and .xlsx hold the same ten orders, all valid for the
    sample factory, none clashing with the sample problem's orders."""
    a = read_orders((ROOT / "app" / "sample" / "sample-orders.csv").read_bytes(), "csv",
                    factory=FACTORY)
    b = read_orders((ROOT / "app" / "sample" / "sample-orders.xlsx").read_bytes(), "xlsx",
                    factory=FACTORY)
    assert a == b and len(a) == 10
    sample = json.loads((ROOT / "app" / "sample" / "sample.json").read_text())
    sample_ids = {o["id"] for o in sample["orders"]}
    assert not sample_ids & {o.id for o in a}


def test_sample_order_files_keep_the_sample_solvable() -> None:
    """The sample problem with the sample file's orders added is still a valid problem:
    every added order can be built at one of its allowed sites."""
    sample = json.loads((ROOT / "app" / "sample" / "sample.json").read_text())
    added = read_orders((ROOT / "app" / "sample" / "sample-orders.csv").read_bytes(), "csv",
                        timezone="America/Chicago", factory=FACTORY)
    sample["orders"] += [o.model_dump(mode="json", exclude_none=True) for o in added]
    assert len(load_problem(sample).orders) == 49


def test_sample_order_files_are_up_to_date() -> None:
    """The packaged sample-orders.csv is what data/make_order_files.py writes."""
    from data.make_order_files import CSV_PATH, csv_text

    assert CSV_PATH == ROOT / "app" / "sample" / "sample-orders.csv"
    assert CSV_PATH.read_text(encoding="utf-8") == csv_text()


def test_bad_timezone() -> None:
    """An unknown or malformed zone name is refused before the file is read."""
    for zone in ("Mars/Olympus", "America", "", "../etc/passwd"):
        with pytest.raises(TimezoneError, match="IANA"):
            read_orders(csv(HEADER, "A,P,1,2026-12-20"), "csv", timezone=zone)


@pytest.mark.parametrize(("content", "name", "ctype", "expected"), [
    (b"id,product\n", "orders.csv", "text/csv", FileFormat.CSV),
    (b"id,product\n", "ORDERS.TXT", None, FileFormat.CSV),
    (b"id,product\n", None, None, FileFormat.CSV),
    (b"id,product\n", "orders.csv", "application/vnd.ms-excel", FileFormat.CSV),
    (b"PK\x03\x04rest", "orders.xlsx", None, FileFormat.XLSX),
    (b"PK\x03\x04rest", None, "application/octet-stream", FileFormat.XLSX),
    (b"broken", "orders.xlsx", None, FileFormat.XLSX),
    (b"PK\x03\x04rest", "orders.csv", None, None),
    (b"PK\x03\x04rest", "orders.ods", None, None),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "orders.xls", None, None),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", None, None, None),
    (b"%PDF-1.7", "orders.pdf", "application/pdf", None),
    (b"{}", "orders.json", "application/json", None),
    (b"\x89PNG\r\n\x1a\n\x00\x00", None, "application/octet-stream", None),
    (b"id,product\n", None, "image/png", None),
])
def test_detect_format(content: bytes, name: str | None, ctype: str | None,
                       expected: FileFormat | None) -> None:
    """CSV and XLSX are told apart by content, name and media type; anything else is None."""
    assert detect_format(content, name, ctype) == expected


def test_fault_text() -> None:
    """A fault prints as row, column, value and message."""
    assert str(RowFault(3, "due", "x", "not a date-time")) == (
        "row 3, column due ('x'): not a date-time")
