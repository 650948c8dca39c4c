"""Write `app/sample/sample-orders.csv` and `.xlsx`: ten new orders for the sample
factory, as a planner would upload them (``POST /orders/upload``).

Both files hold the same rows. They show the column forms an order file may use: times
with an offset, local times and plain dates (read in the upload's ``timezone``, UTC by
default), an ``allowed_sites`` list, and blank optional cells. In the workbook the local
times and plain dates are real Excel date cells, the times with an offset text.

Both are package data (``rackplan sample`` writes copies); this script is their one
source. Run from the repository root: ``python data/make_order_files.py`` (``--check``
only compares the CSV).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "app" / "sample"
CSV_PATH = SAMPLE_DIR / "sample-orders.csv"
XLSX_PATH = SAMPLE_DIR / "sample-orders.xlsx"

HEADER = ["id", "customer", "product", "quantity", "due", "release", "weight",
          "destination", "allowed_sites"]
# Times with an offset stay text; naive datetimes and dates become Excel date cells.
Cell = str | int | float | date | datetime | None
ROWS: list[list[Cell]] = [
    ["SO-2001", "Stratus AI", "GB300-NVL72", 4, "2026-12-18T17:00:00-06:00",
     "2026-12-02T06:00:00-06:00", 3, "us-central", "HOU;CMH"],
    ["SO-2002", "Nimbus Cloud", "NVSW-SPINE", 8, date(2026, 12, 21), None, None,
     "us-east", None],
    ["SO-2003", "Meridian AI", "GB200-NVL72", 6, datetime(2026, 12, 19, 12, 0),
     date(2026, 12, 4), 2, "us-west", "PHX;SJC"],
    ["SO-2004", "Polaris Cloud", "GB300-NVL72", 2, "2026-12-15T08:00:00Z", None, 4,
     "us-west", "PHX"],
    ["SO-2005", "Cirrus Compute", "GB200-NVL72", 4, date(2026, 12, 23),
     date(2026, 12, 7), 1.5, "us-east", None],
    ["SO-2006", None, "NVSW-SPINE", 12, "2026-12-22T18:00:00-05:00", None, None,
     "us-east", "CMH"],
    ["SO-2007", "Aurora Hyperscale", "GB300-NVL72", 8, datetime(2026, 12, 28, 9, 30),
     datetime(2026, 12, 10, 6, 0), 2, "us-central", None],
    ["SO-2008", "Helios Labs", "GB200-NVL72", 2, "2026-12-17T00:00:00Z",
     "2026-12-03T00:00:00Z", 5, "us-central", "HOU;PHX;CMH"],
    ["SO-2009", "Vantage Neural", "NVSW-SPINE", 4, date(2026, 12, 30), None, 1,
     None, None],
    ["SO-2010", "Stratus AI", "GB300-NVL72", 6, "2027-01-06T12:00:00-08:00",
     "2026-12-14T00:00:00-08:00", 3, "us-west", "SJC;PHX"],
]


def _text(v: Cell) -> str:
    """A cell as the CSV writes it (dates and naive times in ISO 8601, blank for None)."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat(timespec="minutes")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def csv_text() -> str:
    """The CSV file's text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows([_text(v) for v in row] for row in ROWS)
    return out.getvalue()


def write_xlsx(path: Path) -> None:
    """The workbook: one sheet `orders`, dates as Excel date cells."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("orders")
    bold = wb.add_format({"bold": True})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    moment = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_row(0, 0, HEADER, bold)
    for r, row in enumerate(ROWS, start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, datetime):
                ws.write_datetime(r, c, v, moment)
            elif isinstance(v, date):
                ws.write_datetime(r, c, datetime(v.year, v.month, v.day), day)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
    ws.set_column(0, 0, 10)
    ws.set_column(1, 2, 18)
    ws.set_column(4, 5, 26)
    ws.set_column(7, 8, 14)
    wb.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare app/sample/sample-orders.csv with what would be written")
    args = parser.parse_args(argv)
    text = csv_text()
    if args.check:
        same = CSV_PATH.exists() and CSV_PATH.read_text(encoding="utf-8") == text
        print(f"{CSV_PATH.name}: {'up to date' if same else 'differs'}", file=sys.stderr)
        return 0 if same else 1
    CSV_PATH.write_text(text, encoding="utf-8")
    write_xlsx(XLSX_PATH)
    print(f"wrote {CSV_PATH.name} and {XLSX_PATH.name} ({len(ROWS)} orders)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
