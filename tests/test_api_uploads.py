"""`POST /orders/upload`: order files over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from app.services.seed import sample_file

SAMPLE_CSV = sample_file("sample-orders.csv").read_bytes()
SAMPLE_XLSX = sample_file("sample-orders.xlsx").read_bytes()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE_IDS = [f"SO-20{n:02d}" for n in range(1, 11)]
SAMPLE_ORDERS = 39  # in the sample problem, loaded on start


def upload(client: Any, content: bytes, name: str = "orders.csv", ctype: str = "text/csv",
           **params: Any) -> Any:
    return client.post("/orders/upload", files={"file": (name, content, ctype)},
                       params=params)


def order_count(client: Any) -> int:
    total: int = client.get("/orders", params={"limit": 1}).json()["total"]
    return total


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"]
    return body


def test_upload_csv_sample(client: Any) -> None:
    """The sample CSV creates its ten orders, stored as the file says."""
    r = upload(client, SAMPLE_CSV)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": SAMPLE_IDS, "updated": [], "unchanged": [], "rows": 10,
                        "format": "csv", "dry_run": False, "warnings": []}
    assert order_count(client) == SAMPLE_ORDERS + 10
    o = client.get("/orders/SO-2001").json()
    assert o["due"] == "2026-12-18T23:00:00Z" and o["release"] == "2026-12-02T12:00:00Z"
    assert o["allowed_sites"] == ["HOU", "CMH"] and o["weight"] == 3
    assert o["status"] == "open"


def test_upload_xlsx_sample(client: Any) -> None:
    """The sample workbook creates the same orders as the CSV (Excel date cells included)."""
    r = upload(client, SAMPLE_XLSX, "sample-orders.xlsx", XLSX)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == SAMPLE_IDS and r.json()["format"] == "xlsx"
    assert client.get("/orders/SO-2003").json()["due"] == "2026-12-19T12:00:00Z"
    again = upload(client, SAMPLE_CSV)  # the CSV holds the very same orders
    assert again.json()["unchanged"] == SAMPLE_IDS and again.json()["created"] == []


def test_same_file_twice_changes_nothing(client: Any) -> None:
    """A second upload of the same file reports every order unchanged and stamps nothing."""
    upload(client, SAMPLE_CSV)
    before = client.get("/orders", params={"limit": 1000}).json()
    r = upload(client, SAMPLE_CSV)
    assert r.json()["unchanged"] == SAMPLE_IDS
    assert r.json()["created"] == [] and r.json()["updated"] == []
    assert client.get("/orders", params={"limit": 1000}).json() == before


def test_update_and_reopen(client: Any) -> None:
    """A changed row updates its order; a cancelled order in the file is reopened."""
    upload(client, SAMPLE_CSV)
    assert client.delete("/orders/SO-2002").json()["status"] == "cancelled"
    changed = SAMPLE_CSV.replace(b"SO-2001,Stratus AI,GB300-NVL72,4,",
                                 b"SO-2001,Stratus AI,GB300-NVL72,5,")
    r = upload(client, changed)
    assert r.json()["updated"] == ["SO-2001", "SO-2002"]
    assert client.get("/orders/SO-2001").json()["quantity"] == 5
    assert client.get("/orders/SO-2002").json()["status"] == "open"


def test_every_bad_row_listed_and_nothing_written(client: Any) -> None:
    """Bad quantity, unknown product, bad date and a repeated id are all listed with their
    row numbers, and no order of the file is written."""
    content = (
        b"id,product,quantity,due\n"
        b"SO-3001,GB200-NVL72,2,2026-12-20\n"
        b"SO-3002,GB200-NVL72,0,2026-12-20\n"
        b"SO-3003,GB400-NVL144,2,2026-12-20\n"
        b"SO-3004,GB200-NVL72,2,20.12.2026\n"
        b"SO-3001,NVSW-SPINE,1,2026-12-21\n"
    )
    body = assert_problem(upload(client, content), 422)
    assert [(e["row"], e["column"], e["value"]) for e in body["errors"]] == [
        (3, "quantity", "0"), (4, "product", "GB400-NVL144"), (5, "due", "20.12.2026"),
        (6, "id", "SO-3001")]
    assert all(e["message"] for e in body["errors"])
    assert "row 3" in body["detail"]
    assert client.get("/orders/SO-3001").status_code == 404
    assert order_count(client) == SAMPLE_ORDERS


def test_one_bad_row_refuses_the_file(client: Any) -> None:
    """Nine good rows and one bad one: nothing is written, not even an update."""
    bad = SAMPLE_CSV.replace(b"SO-2010,Stratus AI,GB300-NVL72,6,",
                             b"SO-2010,Stratus AI,GB300-NVL72,six,")
    body = assert_problem(upload(client, bad), 422)
    assert body["errors"] == [{"row": 11, "column": "quantity", "value": "six",
                               "message": "not a number; a whole number of racks >= 1 is "
                                          "expected"}]
    assert order_count(client) == SAMPLE_ORDERS


def test_header_faults(client: Any) -> None:
    """An unknown column and a missing required column are named (row 1)."""
    body = assert_problem(upload(client, b"id,product,qty,due\nA,GB200-NVL72,1,2026-12-20\n"),
                          422)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(1, "qty"), (1, "quantity")]
    assert "unknown column" in body["errors"][0]["message"]
    assert body["errors"][1]["message"] == "required column is missing"


def test_dry_run_writes_nothing(client: Any) -> None:
    """dry_run answers what would be created and updated, and writes nothing."""
    upload(client, SAMPLE_CSV.split(b"SO-2003")[0])  # header and the first two orders
    changed = SAMPLE_CSV.replace(b"SO-2002,Nimbus Cloud,NVSW-SPINE,8,",
                                 b"SO-2002,Nimbus Cloud,NVSW-SPINE,9,")
    r = upload(client, changed, dry_run="true")
    assert r.status_code == 200, r.text
    assert r.json() == {"created": SAMPLE_IDS[2:], "updated": ["SO-2002"],
                        "unchanged": ["SO-2001"], "rows": 10, "format": "csv",
                        "dry_run": True, "warnings": []}
    assert order_count(client) == SAMPLE_ORDERS + 2
    assert client.get("/orders/SO-2002").json()["quantity"] == 8
    assert client.get("/orders/SO-2003").status_code == 404
    bad = assert_problem(upload(client, b"id,product,quantity,due\nA,X,1,2026-12-20\n",
                                dry_run="true"), 422)
    assert bad["errors"][0]["column"] == "product"


def test_timezone_parameter(client: Any) -> None:
    """A plain date in America/Chicago is 06:00Z in winter; an offset is kept as given."""
    content = (b"id,product,quantity,due,release\n"
               b"SO-3001,GB200-NVL72,1,2026-12-20,2026-12-01T00:00:00Z\n")
    r = upload(client, content, timezone="America/Chicago")
    assert r.status_code == 200, r.text
    o = client.get("/orders/SO-3001").json()
    assert o["due"] == "2026-12-20T06:00:00Z" and o["release"] == "2026-12-01T00:00:00Z"
    body = assert_problem(upload(client, content, timezone="Mars/Olympus"), 422)
    assert body["errors"][0]["field"] == "timezone"


def test_too_large_is_413(make_client: Callable[..., AbstractContextManager[Any]]) -> None:
    """A file over max_upload_bytes gets 413, whether the request says its length or not."""
    with make_client(max_upload_bytes=500) as c:
        body = assert_problem(upload(c, SAMPLE_CSV), 413)
        assert "500 bytes" in body["detail"]
        big = b"x" * 200_000  # over the limit plus the multipart allowance
        assert_problem(upload(c, big), 413)

        def chunks() -> Any:  # no Content-Length: the limit is checked while reading
            boundary = b"--b0undary"
            yield (boundary + b'\r\nContent-Disposition: form-data; name="file"; '
                   b'filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n')
            yield b"id,product,quantity,due\n" + b"x" * 600
            yield b"\r\n" + boundary + b"--\r\n"

        r = c.post("/orders/upload", content=chunks(),
                   headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
        assert_problem(r, 413)
        assert order_count(c) == SAMPLE_ORDERS
        small = b"id,product,quantity,due\nSO-3001,GB200-NVL72,1,2026-12-20\n"
        assert upload(c, small).status_code == 200


def test_not_csv_or_xlsx_is_415(client: Any) -> None:
    """A PDF, a JSON file, an image or a legacy .xls is refused with 415."""
    for name, ctype, content in [
        ("orders.pdf", "application/pdf", b"%PDF-1.7\n"),
        ("orders.json", "application/json", b"[]"),
        ("orders", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00"),
        ("orders.xls", "application/vnd.ms-excel", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00"),
    ]:
        body = assert_problem(upload(client, content, name, ctype), 415)
        assert body["errors"][0]["field"] == "file"


def test_unreadable_files_are_422(client: Any) -> None:
    """An empty file, a header only, non-UTF-8 text and a corrupt workbook are 422s that
    say what is wrong."""
    for name, content, words in [
        ("a.csv", b"", "empty"),
        ("a.csv", b"id,product,quantity,due\n", "no data rows"),
        ("a.csv", b"id,product,quantity,due\nA,caf\xe9,1,2026-12-20\n", "not UTF-8"),
        ("a.xlsx", b"PK\x03\x04 truncated", "not a readable .xlsx"),
    ]:
        body = assert_problem(upload(client, content, name, "application/octet-stream"), 422)
        assert words in body["detail"]
        assert body["errors"] == [{"field": "file", "message": body["detail"]}]


def test_missing_file_field(client: Any) -> None:
    """A request without the `file` field is a 422 naming it."""
    r = client.post("/orders/upload", files={"other": ("a.csv", b"x", "text/csv")})
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "file"


def test_upload_documented(client: Any) -> None:
    """The OpenAPI schema documents the upload: multipart `file`, dry_run, timezone, errors."""
    op = client.get("/openapi.json").json()["paths"]["/orders/upload"]["post"]
    assert {"dry_run", "timezone"} <= {p["name"] for p in op["parameters"]}
    assert "multipart/form-data" in op["requestBody"]["content"]
    assert {"413", "415", "422"} <= set(op["responses"])
    assert "allowed_sites" in op["description"]


def test_large_files_look_up_in_chunks(client: Any, monkeypatch: Any) -> None:
    """Stored orders are found across lookup chunks (bounded IN lists), so a file of
    many orders is compared with every stored one."""
    from app.services import orders as orders_svc

    monkeypatch.setattr(orders_svc, "LOOKUP_CHUNK", 3)
    assert upload(client, SAMPLE_CSV).json()["created"] == SAMPLE_IDS
    changed = SAMPLE_CSV.replace(b"SO-2007,Aurora Hyperscale,GB300-NVL72,8,",
                                 b"SO-2007,Aurora Hyperscale,GB300-NVL72,9,")
    r = upload(client, changed)
    assert r.json()["updated"] == ["SO-2007"]
    assert r.json()["unchanged"] == [i for i in SAMPLE_IDS if i != "SO-2007"]
