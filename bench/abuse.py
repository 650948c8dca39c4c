"""The service under hostile traffic beside its normal load: does it keep answering?

The script starts `rackplan serve` with API keys on a free loopback port over a fresh
database (a temporary SQLite file, or `--database-url`), loads it as `bench/api_load.py`
does (a generated factory, its orders, a stored 10,000-bar schedule, a solve running in
the background) and runs that script's normal clients (order batches, the Gantt) with the
planner's key twice for `--duration` seconds: once alone (quiet), once beside hostile
clients that send, in a loop:

- oversized bodies without a key: 50 MB JSON to `POST /orders`, with a Content-Length and
  chunked (no length), and a 50 MB upload;
- malformed files with the key: random bytes as `.xlsx`, a truncated workbook, a workbook
  whose only data cell is at XFD1048576, a CSV of binary junk and a CSV of 20,000 columns;
  malformed JSON;
- out-of-range values with the key: quantities of 2^31-1 and 10^26, dates in years 1 and
  9999, `offset=10^20`, a `resource_down` in year 1, a lone surrogate in a customer,
  an order id with `/`, a foreign `Host`.

It prints the normal clients' requests, errors and p99 (quiet and under abuse), each
hostile kind's answers by status class, the server's peak memory (RSS of its process
tree, sampled every 0.2 s) and whether it was alive at the end. Targets: no 5xx, no
crash, the normal p99 under abuse within 1.5x of the quiet one, peak memory under 1 GB.
Exit 1 when the setup fails, 2 on bad arguments; missed targets are reported, not failures.

    python bench/abuse.py --duration 30
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import api_load  # noqa: E402
from bench.common import Column, first_schedule, print_table, progress, verdict  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.problem import load_problem  # noqa: E402

PLANNER_KEY = "abuse-bench-planner-key-000"
TARGET_RATIO = 1.5
TARGET_RSS_MB = 1024.0
BIG = 50 * 1024 * 1024  # bytes of an oversized body


# ---- the server's memory ---------------------------------------------------------------------


def tree_rss(root: int) -> int:
    """Bytes of resident memory of `root` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/statm") as f:
                resident = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = resident * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


@dataclass
class Memory:
    """The peak of `tree_rss` while sampling, and when the server process ended."""

    peak: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    ended: float | None = None  # time.monotonic() when the server was first seen gone

    def sample(self, proc: subprocess.Popen[bytes]) -> None:
        while not self.stop.wait(0.2):
            if proc.poll() is not None:
                self.ended = self.ended or time.monotonic()
                continue
            self.peak = max(self.peak, tree_rss(proc.pid))


# ---- the hostile clients ---------------------------------------------------------------------


@dataclass
class Kind:
    """One kind of hostile request: its answers by status, and transport errors."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | None, error: str | None = None) -> None:
        with self.lock:
            if status is not None:
                self.statuses[status] += 1
            if error is not None:
                self.errors.append(error)


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    """A JSON list of `total` bytes or so, in chunks (never held whole)."""
    item = b'{"id":"X","product":"P","quantity":1,"due":"2026-12-01T00:00:00Z"},'
    chunk = b"[" + item * (size // len(item))
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)
        chunk = item * (size // len(item))
    yield b"{}]"


def _workbook_far_cell() -> bytes:
    """A small .xlsx: the order header and one cell at XFD1048576."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("orders")
    for col, name in enumerate(("id", "product", "quantity", "due")):
        sheet.write(0, col, name)
    sheet.write(1048575, 16383, "x")
    book.close()
    return buf.getvalue()


def _order(template: dict[str, Any], oid: str, **over: Any) -> dict[str, Any]:
    return {**template, "id": oid, **over}


def hostile_requests(template: dict[str, Any], big: bytes
                     ) -> dict[str, list[Callable[[httpx.Client], httpx.Response]]]:
    """Per kind of abuse, the requests its client sends in turn."""
    far = _workbook_far_cell()
    junk = random.Random(0).randbytes(200_000)
    wide = (",".join(f"c{i}" for i in range(20_000)) + "\n").encode() * 3
    csv = "text/csv"
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    key = {"X-API-Key": PLANNER_KEY}
    n = iter(range(10**9))

    def oid() -> str:
        return f"ABUSE-{next(n)}"

    def upload(name: str, body: bytes, kind: str, headers: dict[str, str] | None = None
               ) -> Callable[[httpx.Client], httpx.Response]:
        return lambda c: c.post("/orders/upload", files={"file": (name, body, kind)},
                                headers=headers)

    def post_order(**over: Any) -> Callable[[httpx.Client], httpx.Response]:
        # json.dumps escapes a lone surrogate (\ud800), as a hostile client would send it
        return lambda c: c.post(
            "/orders", content=json.dumps([_order(template, oid(), **over)]).encode(),
            headers={**key, "Content-Type": "application/json"})

    return {
        "oversized, no key": [
            lambda c: c.post("/orders", content=big,
                             headers={"Content-Type": "application/json"}),
            lambda c: c.post("/orders", content=_chunks(BIG),
                             headers={"Content-Type": "application/json"}),
            upload("big.csv", big, csv),
        ],
        "malformed files": [
            upload("junk.xlsx", junk, xlsx, key),
            upload("cut.xlsx", far[: len(far) // 2], xlsx, key),
            upload("far.xlsx", far, xlsx, key),
            upload("junk.csv", junk, csv, key),
            upload("wide.csv", wide, csv, key),
            lambda c: c.post("/orders", content=b'[{"id": "X", ',
                             headers={**key, "Content-Type": "application/json"}),
        ],
        "out-of-range values": [
            post_order(quantity=2**31 - 1),
            post_order(quantity=10**26),
            post_order(due="0001-01-01T00:00:00Z"),
            post_order(due="9999-12-31T00:00:00Z"),
            post_order(customer="Houston\ud800"),
            lambda c: c.post("/orders", json=[_order(template, "A/B")], headers=key),
            lambda c: c.get("/orders", params={"due_before": "0001-01-01T00:00:00+14:00"},
                            headers=key),
            lambda c: c.get("/schedules", params={"offset": str(10**20)}, headers=key),
            lambda c: c.post("/events", headers=key, json=[{
                "event_id": oid(), "type": "resource_down", "resource": "no-such",
                "start": "0001-01-01T00:00:00Z"}]),
            lambda c: c.get("/orders", headers={**key, "Host": "evil.example"}),
        ],
    }


def hostile_client(base: str, kind: Kind, requests: Sequence[Callable[[httpx.Client],
                   httpx.Response]], t_end: float) -> None:
    """Send `requests` in turn until `t_end`; count the answers."""
    with httpx.Client(base_url=base, timeout=60) as c:
        i = 0
        while time.monotonic() < t_end:
            req = requests[i % len(requests)]
            i += 1
            try:
                r = req(c)
                kind.add(r.status_code)
            except httpx.RemoteProtocolError as exc:  # e.g. closed after an early 413
                kind.add(None, f"closed: {type(exc).__name__}")
            except httpx.HTTPError as exc:
                kind.add(None, repr(exc)[:200])
                time.sleep(0.2)


# ---- the normal load ---------------------------------------------------------------------


def with_key() -> None:
    """api_load's clients and setup send the planner's key (their httpx.Client only)."""
    def client(*args: Any, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("headers", {"X-API-Key": PLANNER_KEY})
        return httpx.Client(*args, **kwargs)

    api_load.httpx = SimpleNamespace(  # type: ignore[assignment,attr-defined]
        Client=client, HTTPError=httpx.HTTPError, TransportError=httpx.TransportError,
        get=lambda *a, **k: httpx.get(*a, **{"headers": {"X-API-Key": PLANNER_KEY}, **k}),
    )


def normal_load(base: str, job: str, template: dict[str, Any], seconds: float,
                order_clients: int, gantt_clients: int, first: int
                ) -> tuple[api_load.Samples, api_load.Samples]:
    """api_load's clients for `seconds` (order clients numbered from `first`, so that
    their order ids are new): (order batches, Gantt) samples."""
    orders, gantt = api_load.Samples(), api_load.Samples()
    t_end = time.monotonic() + seconds
    threads = [threading.Thread(target=api_load.order_client,
                                args=(base, first + n, template, t_end, orders))
               for n in range(order_clients)]
    threads += [threading.Thread(target=api_load.gantt_client, args=(base, job, t_end, gantt))
                for _ in range(gantt_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return orders, gantt


def start_server(db_url: str, port: int, now: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RACKPLAN_DATABASE_URL": db_url, "RACKPLAN_LOAD_SAMPLE": "false",
           "RACKPLAN_NOW": now, "RACKPLAN_API_KEYS": f"{PLANNER_KEY}:planner"}
    code = "from app.cli import main; raise SystemExit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--no-sample"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"), cwd=ROOT,
    )


def alive(base: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        return False
    try:
        return httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=30.0,
                    help="seconds of each phase, quiet and under abuse (30)")
    ap.add_argument("--racks", type=int, default=2500, help="racks; x4 steps = bars (2500)")
    ap.add_argument("--order-clients", type=int, default=2)
    ap.add_argument("--gantt-clients", type=int, default=2)
    ap.add_argument("--database-url", help="default: a temporary SQLite file")
    ap.add_argument("--skip", action="append", default=[], metavar="KIND",
                    help="leave out a hostile kind (its name's first word: oversized, "
                         "malformed, out-of-range); repeatable")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    if args.duration <= 0 or args.racks < 1:
        ap.error("--duration and --racks must be positive")

    progress(f"generating {args.racks} racks and the dispatch schedule")
    problem = generate(args.racks, 0, steps=4)
    fs = first_schedule(load_problem(problem))
    if not fs.ok or fs.schedule is None:
        print(f"setup failed: {fs.error or fs.faults[:3]}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="rackplan-abuse-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'abuse.db'}"
    port = api_load.free_port()
    base = f"http://127.0.0.1:{port}"
    with_key()
    template = dict(problem["orders"][0])
    big = b"".join(_chunks(BIG))
    kinds = hostile_requests(template, big)
    kinds = {k: v for k, v in kinds.items() if k.split()[0].rstrip(",") not in args.skip}
    proc = start_server(db_url, port, problem["horizon_start"], tmp / "server.log")
    memory = Memory()
    hostile: list[Kind] = []
    t_abuse = time.monotonic()
    try:
        api_load.wait_ready(base, proc)
        progress(f"loading the factory, {len(problem['orders'])} orders and a "
                 f"{len(fs.schedule['items'])}-bar job")
        job = api_load.setup(base, db_url, problem, fs.schedule)
        key = {"X-API-Key": PLANNER_KEY}
        r = httpx.post(f"{base}/schedules", json={"time_limit": 2 * args.duration + 60},
                       headers=key, timeout=60)
        r.raise_for_status()
        bg = r.json()["id"]
        threading.Thread(target=memory.sample, args=(proc,), daemon=True).start()
        progress(f"quiet: the normal load alone for {args.duration:.0f} s")
        quiet = normal_load(base, job, template, args.duration, args.order_clients,
                            args.gantt_clients, 100)
        progress(f"abuse: the normal load beside {len(kinds)} hostile clients for "
                 f"{args.duration:.0f} s")
        t_abuse = time.monotonic()
        t_end = t_abuse + args.duration
        threads = []
        for name, reqs in kinds.items():
            kind = Kind(name)
            hostile.append(kind)
            threads.append(threading.Thread(target=hostile_client,
                                            args=(base, kind, reqs, t_end)))
        for t in threads:
            t.start()
        loud = normal_load(base, job, template, args.duration, args.order_clients,
                           args.gantt_clients, 200)
        for t in threads:
            t.join()
        up = alive(base, proc)
        if up:
            httpx.delete(f"{base}/schedules/{bg}", headers=key, timeout=30)
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"setup failed: {exc}; server log: {tmp / 'server.log'}", file=sys.stderr)
        return 1
    finally:
        memory.stop.set()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()

    cols = [Column("normal endpoint", right=False), Column("requests quiet"),
            Column("requests abuse"), Column("errors quiet"), Column("errors abuse"),
            Column("p99 quiet ms"), Column("p99 abuse ms"), Column("ratio"),
            Column(f"<= {TARGET_RATIO}x", right=False)]
    rows = []
    for i, name in enumerate(("POST /orders", "GET gantt")):
        q, a = quiet[i], loud[i]
        pq, pa = api_load.percentile(q.ms, 0.99), api_load.percentile(a.ms, 0.99)
        ratio = pa / pq if pq > 0 else float("nan")
        rows.append([name, str(len(q.ms)), str(len(a.ms)), str(len(q.errors)),
                     str(len(a.errors)), f"{pq:.0f}", f"{pa:.0f}", f"{ratio:.2f}",
                     verdict(ratio <= TARGET_RATIO and not a.errors)])
        for e in a.errors[:3]:
            print(f"{name} under abuse: {e}", file=sys.stderr)
    print_table(f"Normal load, quiet and under abuse ({args.duration:.0f} s each, database "
                f"{db_url.split(':')[0]})", cols, rows, markdown=args.markdown)

    hcols = [Column("hostile kind", right=False), Column("requests"), Column("2xx"),
             Column("4xx"), Column("5xx"), Column("no answer"), Column("statuses", right=False)]
    hrows = []
    total_5xx = 0
    for kind in hostile:
        by = Counter(s // 100 for s in kind.statuses.elements())
        total_5xx += by[5]
        seen = " ".join(f"{s}x{n}" for s, n in sorted(kind.statuses.items()))
        hrows.append([kind.name, str(sum(kind.statuses.values()) + len(kind.errors)),
                      str(by[2]), str(by[4]), str(by[5]), str(len(kind.errors)), seen])
        for e in kind.errors[:2]:
            print(f"{kind.name}: {e}", file=sys.stderr)
    print_table("Hostile traffic", hcols, hrows, markdown=args.markdown)
    peak_mb = memory.peak / 2**20
    summary = [
        ["5xx answers (hostile and normal)", str(total_5xx + sum(
            1 for s in (*quiet, *loud) for e in s.errors if e[:1] == "5")), verdict(
            total_5xx == 0)],
        ["server alive and ready at the end", "yes" if up else "no", verdict(up)],
        ["server process ended (s into the abuse, exit code)",
         "-" if memory.ended is None else
         f"{memory.ended - t_abuse:.1f} s, code {proc.returncode}", verdict(
             memory.ended is None)],
        ["peak memory, server process tree (MB)", f"{peak_mb:.0f}",
         verdict(peak_mb < TARGET_RSS_MB)],
    ]
    print_table("Service", [Column("what", right=False), Column("value"),
                            Column("target", right=False)], summary, markdown=args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
