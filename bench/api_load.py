"""Load on the HTTP service while a solve job runs: order batches and a 10,000-bar Gantt.

The script starts `rackplan serve` on a free loopback port over a fresh database (a
temporary SQLite file, or `--database-url`), loads a generated factory and its orders
through the API, stores one finished schedule of about 10,000 bars (the dispatch
heuristic's, validated) as a done job, starts a real solve job of the same orders in the
background, and then runs concurrent clients for `--duration` seconds:

- order clients: `POST /orders` with batches of 100 new orders;
- Gantt clients: `GET /schedules/{id}/gantt` of the 10,000-bar schedule.

It prints requests, errors, throughput and p50/p99 latency per endpoint. Targets (2 cores):
Gantt p99 < 250 ms, order batch p99 < 300 ms. Exit 1 when the setup fails or a request
errs, 2 on bad arguments; a missed target is reported, not a failure.

    python bench/api_load.py --duration 30
    python bench/api_load.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import Column, first_schedule, print_table, progress, verdict  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.problem import load_problem  # noqa: E402

TARGET_P99_MS = {"GET gantt": 250.0, "POST /orders": 300.0}
BATCH = 100


@dataclass
class Samples:
    """Latencies (ms) and error descriptions of one endpoint."""

    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ms: float, error: str | None) -> None:
        with self.lock:
            self.ms.append(ms)
            if error is not None:
                self.errors.append(error)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))
    return s[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(db_url: str, port: int, now: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RACKPLAN_DATABASE_URL": db_url, "RACKPLAN_LOAD_SAMPLE": "false",
           "RACKPLAN_NOW": now, "RACKPLAN_API_KEYS": ""}
    code = "from app.cli import main; raise SystemExit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--no-sample"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"), cwd=ROOT,
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def setup(base: str, db_url: str, problem: dict[str, Any], schedule: dict[str, Any]) -> str:
    """Factory, orders and a done job holding `schedule`; returns that job's id."""
    from sqlalchemy import select

    from app.clock import stamp
    from app.db import make_engine, session_factory, transaction
    from app.tables import FactoryVersion, Job, JobStatus

    with httpx.Client(base_url=base, timeout=120) as c:
        factory = {k: problem[k] for k in ("sites", "resources", "products")}
        r = c.put("/factory", json=factory)
        r.raise_for_status()
        orders = problem["orders"]
        for i in range(0, len(orders), 500):
            c.post("/orders", json=orders[i:i + 500]).raise_for_status()
    engine = make_engine(db_url)
    job_id = uuid.uuid4().hex
    try:
        with transaction(session_factory(engine)) as s:
            version = s.scalars(select(FactoryVersion.version)).one()
            now = stamp(load_problem(problem).horizon_start)
            s.add(Job(id=job_id, kind="solve", status=JobStatus.DONE, created_at=now,
                      started_at=now, finished_at=now, params={"source": "bench"},
                      factory_version=version, problem=problem, schedule=schedule,
                      valid=True))
    finally:
        engine.dispose()
    return job_id


def order_client(base: str, n: int, template: dict[str, Any], t_end: float,
                 out: Samples) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        k = 0
        while time.monotonic() < t_end:
            batch = [{**template, "id": f"LOAD-{n}-{k}-{j}"} for j in range(BATCH)]
            k += 1
            t0 = time.perf_counter()
            try:
                r = c.post("/orders", json=batch)
                err = None if r.status_code == 200 else f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                err = repr(exc)
            out.add((time.perf_counter() - t0) * 1000, err)


def gantt_client(base: str, job: str, t_end: float, out: Samples) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < t_end:
            t0 = time.perf_counter()
            try:
                r = c.get(f"/schedules/{job}/gantt")  # the whole body is read here
                ms = (time.perf_counter() - t0) * 1000
                err = None if r.status_code == 200 else f"{r.status_code} {r.text[:200]}"
                if err is None and b'"items":[{' not in r.content:
                    err = "no items in the Gantt answer"
            except httpx.HTTPError as exc:
                ms, err = (time.perf_counter() - t0) * 1000, repr(exc)
            out.add(ms, err)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of load (20)")
    ap.add_argument("--racks", type=int, default=2500, help="racks; x4 steps = bars (2500)")
    ap.add_argument("--order-clients", type=int, default=2)
    ap.add_argument("--gantt-clients", type=int, default=2)
    ap.add_argument("--database-url", help="default: a temporary SQLite file")
    ap.add_argument("--no-solve", action="store_true", help="no solve job in the background")
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
    bars = len(fs.schedule["items"])
    tmp = Path(tempfile.mkdtemp(prefix="rackplan-load-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'load.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(db_url, port, problem["horizon_start"], tmp / "server.log")
    try:
        wait_ready(base, proc)
        progress(f"loading the factory, {len(problem['orders'])} orders and a {bars}-bar job")
        job = setup(base, db_url, problem, fs.schedule)
        solve_note = "none"
        if not args.no_solve:
            r = httpx.post(f"{base}/schedules", json={"time_limit": args.duration + 60},
                           timeout=60)
            r.raise_for_status()
            bg = r.json()["id"]
            for _ in range(300):
                st = httpx.get(f"{base}/schedules/{bg}", timeout=30).json()["status"]
                if st != "queued":
                    break
                time.sleep(0.2)
            solve_note = f"{bg} ({st})"
        progress(f"background solve: {solve_note}; load for {args.duration:.0f} s")
        orders, gantt = Samples(), Samples()
        load_before = os.getloadavg()[0]  # the figures mean little on a busy machine
        t_end = time.monotonic() + args.duration
        template = dict(problem["orders"][0])
        threads = [threading.Thread(target=order_client, args=(base, n, template, t_end, orders))
                   for n in range(args.order_clients)]
        threads += [threading.Thread(target=gantt_client, args=(base, job, t_end, gantt))
                    for _ in range(args.gantt_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not args.no_solve:
            httpx.delete(f"{base}/schedules/{bg}", timeout=30)
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"setup failed: {exc}; server log: {tmp / 'server.log'}", file=sys.stderr)
        return 1
    finally:
        proc.terminate()
        proc.wait(30)

    cols = [Column("endpoint", right=False), Column("clients"), Column("requests"),
            Column("errors"), Column("req/s"), Column("p50 ms"), Column("p99 ms"),
            Column("target ms"), Column("target", right=False)]
    rows = []
    failed = False
    for name, s, n in (("POST /orders", orders, args.order_clients),
                       ("GET gantt", gantt, args.gantt_clients)):
        p99 = percentile(s.ms, 0.99)
        target = TARGET_P99_MS[name]
        rows.append([name, str(n), str(len(s.ms)), str(len(s.errors)),
                     f"{len(s.ms) / args.duration:.1f}", f"{percentile(s.ms, 0.5):.0f}",
                     f"{p99:.0f}", f"{target:.0f}", verdict(p99 < target)])
        for e in s.errors[:3]:
            print(f"{name}: {e}", file=sys.stderr)
        failed = failed or bool(s.errors)
    title = (f"API load, {args.duration:.0f} s: {bars} bars; order batches of {BATCH}; "
             f"background solve {solve_note}; database {db_url.split(':')[0]}; load "
             f"average {load_before:.1f} on {os.cpu_count()} cores at the start")
    print_table(title, cols, rows, markdown=args.markdown)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
