"""Hostile and mistaken requests at the HTTP layer, on SQLite and PostgreSQL: each is
refused with a clear 4xx (or a 503 for a busy database) as problem+json naming the limit
or the header at fault, nothing is written, and the service still answers `/readyz`."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event

import app.main
from app.auth import KeyStore
from app.config import Settings
from app.db import make_engine
from app.http_guard import HostPolicy, host_name
from app.services.orders import ORDER_WRITES_LOCK
from app.services.seed import sample_file

PLANNER = "planner-key-0123456789"
SAMPLE_ORDERS = 39  # loaded on start
SAMPLE_CSV = sample_file("sample-orders.csv").read_bytes()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ORDER = [{"id": "SO-9001", "product": "GB300-NVL72", "quantity": 4,
          "due": "2026-12-20T00:00:00Z"}]
MakeClient = Callable[..., AbstractContextManager[Any]]

# ---------------------------------------------------------------------------- helpers


def problem(r: Any, status: int, *words: str) -> dict[str, Any]:
    """The problem+json body of `r`, asserting its status and that it names `words`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"]
    text = json.dumps(body)
    for w in words:
        assert w in text, (w, body)
    return body


def order_count(client: Any, key: str | None = None) -> int:
    headers = {"X-API-Key": key} if key else {}
    r = client.get("/orders", params={"limit": 1}, headers=headers)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


def still_serving(client: Any, orders: int = SAMPLE_ORDERS, key: str | None = None) -> None:
    """The service answers `/readyz` and holds exactly `orders` orders (nothing written)."""
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    assert order_count(client, key) == orders


def upload(client: Any, content: bytes, name: str = "orders.xlsx", ctype: str = XLSX,
           **params: Any) -> Any:
    return client.post("/orders/upload", files={"file": (name, content, ctype)},
                       params=params)


_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
       'package/2006/content-types"><Default Extension="rels" ContentType="application/'
       'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
       '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
       'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
       '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
       'officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
             'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
             'name="orders" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')


def workbook(cell: str, dimension: str, extra_parts: dict[str, bytes] | None = None) -> bytes:
    """An .xlsx written by hand: the header row of an order file and one more cell
    holding a value at `cell`, the sheet declaring `dimension`."""
    heads = "".join(f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
                    for col, name in zip("ABCD", ("id", "product", "quantity", "due"),
                                         strict=True))
    row = cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             f'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/>'
             f'<sheetData><row r="1">{heads}</row><row r="{row}"><c r="{cell}" '
             't="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", _CT), ("_rels/.rels", _RELS),
                           ("xl/workbook.xml", _WORKBOOK),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS),
                           ("xl/worksheets/sheet1.xml", sheet)):
            z.writestr(name, text)
        for name, data in (extra_parts or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def asgi_post(client: Any, path: str, headers: dict[str, str], chunk: bytes, chunks: int,
              length: int | None = None, prefix: bytes = b"",
              ) -> tuple[int, dict[str, str], bytes, int]:
    """POST to the running app through ASGI itself, the body sent as `prefix` and then
    `chunks` pieces of `chunk` (no Content-Length unless `length`): (status, headers,
    body, pieces read)."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"host", b"testserver"))
    if length is not None:
        raw.append((b"content-length", str(length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": raw,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    pulled = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= chunks:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": (prefix if pulled == 1 else b"") + chunk,
                "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    async def run() -> None:
        await client.app(scope, receive, send)

    client.portal.call(run)
    return answer["status"], answer["headers"], answer["body"], pulled


@contextmanager
def short_lock_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's engine waits 0.2 s for a lock instead of 30 s (SQLite's busy timeout,
    PostgreSQL's lock_timeout), so that a held lock shows in a test at once."""

    def engine(url: str) -> Engine:
        e = make_engine(url)

        @event.listens_for(e, "connect")
        def _short(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if e.dialect.name == "sqlite":
                cur.execute("PRAGMA busy_timeout=200")
            else:
                cur.execute("SET lock_timeout = '200ms'")
                dbapi_conn.commit()
            cur.close()

        return e

    monkeypatch.setattr(app.main, "make_engine", engine)
    yield


@contextmanager
def write_lock_held(db_url: str) -> Iterator[None]:
    """Another process's writer holding the lock order writes take: SQLite's write lock,
    PostgreSQL's order-writes advisory lock."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        pg = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"))
        pg.execute("SELECT pg_advisory_lock(%s)", (ORDER_WRITES_LOCK,))
        try:
            yield
        finally:
            pg.execute("SELECT pg_advisory_unlock(%s)", (ORDER_WRITES_LOCK,))
            pg.close()


# ---------------------------------------------------------------------------- workbooks


def test_workbook_bomb_is_refused_before_reading(client: Any) -> None:
    """A workbook of a few KB with one cell at XFD1048576 (and the dimension declaring
    it) is a 413 naming the row limit, at once; nothing is written."""
    bomb = workbook("XFD1048576", "A1:XFD1048576")
    assert len(bomb) < 4096
    body = problem(upload(client, bomb), 413, "100000 rows", "RACKPLAN_MAX_UPLOAD_ROWS")
    assert body["errors"][0]["field"] == "file"
    still_serving(client)


def test_workbook_cell_past_the_limits_whatever_the_dimension_says(client: Any) -> None:
    """The declared dimension is not trusted: a cell far out under a small dimension is
    refused by its own position, row or column."""
    problem(upload(client, workbook("ALM100001", "A1:D2")), 413, "row 100001")
    problem(upload(client, workbook("ALM2", "A1:D2")), 413, "column 1001",
            "RACKPLAN_MAX_UPLOAD_COLUMNS")
    still_serving(client)


def test_workbook_zip_bomb_is_refused(make_client: MakeClient) -> None:
    """A workbook part that unzips past the limit is a 413 naming it (the bytes really
    unzipped are counted, not the sizes the zip declares)."""
    with make_client(max_upload_unzipped_bytes=1_000_000) as c:
        bomb = workbook("A2", "A1:D2", {"xl/sharedStrings.xml": b" " * 2_000_000})
        assert len(bomb) < 10_000
        problem(upload(c, bomb), 413, "1000000 bytes", "RACKPLAN_MAX_UPLOAD_UNZIPPED_BYTES")
        still_serving(c)


def _lying(content: bytes, part: str, size: int) -> bytes:
    """`content` with the zip's own records (local header and directory) saying that
    `part` unzips to `size` bytes."""
    data = bytearray(content)
    name = part.encode()
    for sig, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        at = data.find(sig)
        while at >= 0 and data[at + name_at:at + name_at + len(name)] != name:
            at = data.find(sig, at + 1)
        assert at >= 0
        data[at + size_at:at + size_at + 4] = size.to_bytes(4, "little")
    return bytes(data)


def test_workbook_whose_zip_lies_about_sizes(make_client: MakeClient) -> None:
    """A part whose zip records claim a small size but that unzips past the limit is
    still refused by the bytes it really unzips to; one that unzips to other than it
    says, within the limit, is a damaged workbook (422)."""
    with make_client(max_upload_unzipped_bytes=1_000_000) as c:
        bomb = workbook("A2", "A1:D2", {"xl/sharedStrings.xml": b" " * 2_000_000})
        problem(upload(c, _lying(bomb, "xl/sharedStrings.xml", 100)), 413, "1000000 bytes")
        small = workbook("A2", "A1:D2", {"xl/sharedStrings.xml": b" " * 5_000})
        problem(upload(c, _lying(small, "xl/sharedStrings.xml", 100)), 422, "unzips to 5000")
        still_serving(c)


def test_csv_over_the_row_and_column_limits(make_client: MakeClient) -> None:
    """A CSV with more columns or rows than the limits is a 413 naming the limit."""
    with make_client(max_upload_rows=5) as c:
        wide = (",".join(f"c{i}" for i in range(27)) + "\n").encode()
        problem(upload(c, wide, "o.csv", "text/csv"), 413, "26 columns")
        long = SAMPLE_CSV  # a header and ten orders
        problem(upload(c, long, "o.csv", "text/csv"), 413, "at most 5 rows")
        still_serving(c)


def test_second_file_in_an_upload_is_refused(client: Any) -> None:
    """A form holding a second file (as `file` again or under another name) is refused
    naming it, not dropped silently; nothing is written."""
    for files in ([("file", ("a.csv", SAMPLE_CSV, "text/csv")),
                   ("file", ("b.csv", SAMPLE_CSV, "text/csv"))],
                  [("file", ("a.csv", SAMPLE_CSV, "text/csv")),
                   ("extra", ("b.csv", SAMPLE_CSV, "text/csv"))]):
        body = problem(client.post("/orders/upload", files=files), 422, "one file")
        assert body["errors"][0]["field"] in ("file", "extra")
    still_serving(client)


# ---------------------------------------------------------------------------- bodies


def test_no_key_no_body_read(make_client: MakeClient) -> None:
    """With keys configured, a write without a valid key is a 401 before one byte of the
    body is read, chunked or not, JSON or upload."""
    with make_client(api_keys=f"{PLANNER}:planner") as c:
        for path in ("/orders", "/orders/upload", "/schedules"):
            for headers in ({}, {"X-API-Key": "not-a-valid-key-at-all"}):
                status, hdrs, body, pulled = asgi_post(
                    c, path, {"content-type": "application/json", **headers},
                    b"[" * 1_000_000, 100)
                assert status == 401 and pulled == 0, (path, status, pulled)
                assert hdrs["content-type"].startswith("application/problem+json")
                assert json.loads(body)["errors"][0]["field"] == "X-API-Key"
        still_serving(c, key=PLANNER)


def test_body_over_the_limit_is_cut_while_it_streams(make_client: MakeClient) -> None:
    """A body over RACKPLAN_MAX_BODY_BYTES is a 413 naming the limit: from Content-Length
    before reading, and for a chunked body once the bytes read pass the limit (never
    read whole); an order file's limit is its own."""
    with make_client(api_keys=f"{PLANNER}:planner", max_body_bytes=100_000,
                     max_upload_bytes=50_000) as c:
        key = {"X-API-Key": PLANNER, "content-type": "application/json"}
        status, _, body, pulled = asgi_post(c, "/orders", key, b" " * 10_000, 1000,
                                            length=10_000_000)
        assert (status, pulled) == (413, 0)
        assert "100000 bytes" in json.loads(body)["detail"]
        status, hdrs, body, pulled = asgi_post(c, "/orders", key, b" " * 10_000, 1000)
        assert status == 413 and pulled <= 11, pulled
        assert hdrs["content-type"].startswith("application/problem+json")
        assert json.loads(body)["errors"][0]["message"].endswith("100000 bytes")
        form = {"X-API-Key": PLANNER, "content-type": "multipart/form-data; boundary=x"}
        part = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="o.csv"\r\n'
                b"Content-Type: text/csv\r\n\r\n")
        status, _, body, pulled = asgi_post(c, "/orders/upload", form, b"x" * 10_000, 1000,
                                            prefix=part)
        assert status == 413 and pulled <= 13, pulled
        assert str(50_000 + 64 * 1024) in json.loads(body)["detail"]
        still_serving(c, key=PLANNER)


def test_malformed_json_is_400(client: Any) -> None:
    """A body that is not JSON is a 400 problem+json (as documented), not a 422."""
    for path, method in (("/orders", "POST"), ("/factory", "PUT"), ("/schedules", "POST")):
        r = client.request(method, path, content=b'[{"id": "SO-1",',
                           headers={"content-type": "application/json"})
        body = problem(r, 400, "not valid JSON")
        assert body["errors"] == [{"field": "body", "message": body["detail"]}]
    deep = client.post("/orders", content=b"[" * 100_000 + b"]" * 100_000,
                       headers={"content-type": "application/json"})
    problem(deep, 400)  # nested too deep to parse: refused, not a crash
    still_serving(client)


# ---------------------------------------------------------------------------- the database


def test_busy_database_is_503_with_retry_after(
    db_url: str, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that cannot get the lock (another writer holds it) is a 503 with
    Retry-After, never a 500; nothing is written, and once the lock is free the same
    request passes."""
    with short_lock_waits(monkeypatch), make_client() as c:
        with write_lock_held(db_url):
            body = problem(c.post("/orders", json=ORDER), 503, "busy", "nothing was written")
            r = c.post("/orders", json=ORDER)
            assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
            assert body["title"] == "Database busy"
        still_serving(c)
        assert c.post("/orders", json=ORDER).status_code == 200
        still_serving(c, SAMPLE_ORDERS + 1)


def test_dry_run_upload_needs_no_write_lock(
    db_url: str, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order file is read and checked outside the write transaction: a dry run passes
    while another writer holds the lock (it only reads), and writes nothing."""
    with short_lock_waits(monkeypatch), make_client() as c:
        with write_lock_held(db_url):
            r = upload(c, SAMPLE_CSV, "o.csv", "text/csv", dry_run="true")
            assert r.status_code == 200, r.text
            assert len(r.json()["created"]) == 10 and r.json()["dry_run"]
        still_serving(c)


# ---------------------------------------------------------------------------- the browser


def test_cross_site_writes_are_refused_in_local_mode(client: Any) -> None:
    """With no keys, a page on another site cannot act as a planner: a write whose
    Sec-Fetch-Site is cross-site (or same-site), or whose Origin is another, is a 403
    naming the header; nothing is written and no job queued."""
    jobs = client.get("/schedules").json()
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Origin": "http://testserver.evil.example"}):
        r = client.post("/orders/upload", files={"file": ("o.csv", SAMPLE_CSV, "text/csv")},
                        headers=headers)
        assert problem(r, 403)["errors"][0]["field"] == next(iter(headers))
        problem(client.post("/reschedule", json={}, headers=headers), 403)
        problem(client.delete("/orders/SO-2001", headers=headers), 403)
    assert client.get("/schedules").json() == jobs
    still_serving(client)


def test_same_origin_writes_pass(client: Any) -> None:
    """The service's own pages (same origin, as browsers mark them) and non-browser
    callers (no Origin, no Sec-Fetch-Site) write as before."""
    for headers in ({"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
                    {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "none"}, {}):
        r = client.post("/orders", json=ORDER, headers=headers)
        assert r.status_code == 200, (headers, r.text)
    still_serving(client, SAMPLE_ORDERS + 1)


def test_foreign_host_is_refused(make_client: MakeClient) -> None:
    """In local mode a request for another host name (DNS rebinding) is a 400 naming
    the Host; the loopback names are served on a loopback address."""
    with make_client() as c:
        problem(c.get("/readyz", headers={"Host": "evil.example"}), 400, "Host")
        problem(c.get("/", headers={"Host": "evil.example:8000"}), 400, "Host")
        problem(c.post("/orders", json=ORDER, headers={"Host": "evil.example"}), 400)
        still_serving(c)


def test_host_policy() -> None:
    """The host names answered: the listening address; the loopback names on a loopback
    address; with keys any; RACKPLAN_ALLOWED_HOSTS replaces all that."""
    local = HostPolicy.from_settings(Settings(api_keys=""), KeyStore(""))
    assert local.allows("localhost", "127.0.0.1") and local.allows("127.0.0.1", "127.0.0.1")
    assert local.allows("::1", "::1") and local.allows("localhost", "::1")
    assert not local.allows("evil.example", "127.0.0.1")
    assert not local.allows("localhost", "10.0.0.5") and local.allows("10.0.0.5", "10.0.0.5")
    keyed = HostPolicy.from_settings(Settings(api_keys=f"{PLANNER}:planner"),
                                     KeyStore(f"{PLANNER}:planner"))
    assert keyed.allows("plan.example.com", "10.0.0.5")
    listed = HostPolicy.from_settings(Settings(api_keys=f"{PLANNER}:planner",
                                               allowed_hosts="plan.example.com"),
                                      KeyStore(f"{PLANNER}:planner"))
    assert listed.allows("plan.example.com", "10.0.0.5")
    assert not listed.allows("evil.example", "10.0.0.5")
    assert [host_name(h) for h in ("Localhost:8000", "[::1]:8000", "::1", "a.b")] == [
        "localhost", "::1", "::1", "a.b"]


# ---------------------------------------------------------------------------- methods, headers


def test_head_and_options(client: Any) -> None:
    """HEAD answers a GET's status and headers without the body; OPTIONS answers 204
    with the path's methods in Allow (404 for no such path)."""
    get = client.get("/readyz")
    head = client.head("/readyz")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert client.head("/").status_code == 200
    r = client.options("/orders")
    assert r.status_code == 204 and r.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    r = client.options("/orders/SO-2001")
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    problem(client.options("/no-such-thing"), 404)
    still_serving(client)


def test_security_headers_on_every_answer(client: Any) -> None:
    """Every answer (JSON, error, page, asset) carries nosniff, DENY framing and no
    referrer; the pages' CSP allows only the service's own assets, the API's none."""
    answers = {p: client.get(p) for p in ("/readyz", "/orders/NOPE", "/", "/ui/orders",
                                          "/static/api.js")}
    for path, r in answers.items():
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
    page = answers["/"].headers["content-security-policy"]
    assert "script-src 'self'" in page and "unsafe-inline" not in page
    assert answers["/readyz"].headers["content-security-policy"].startswith(
        "default-src 'none'")
