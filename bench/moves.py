"""How long a planner waits for a move: `POST /schedules/{id}/moves` from the request to
the repaired, validated plan.

The script runs the service in-process (its supervisor starts the repair jobs in worker
processes, as in production) over a fresh SQLite file holding the sample, plans `--orders`
of its orders (1 s), then moves a step of that plan `--moves` times, each time the last
step of one rack a few hours later, and prints per move: the answer's status, the seconds
it took, the repair's own solve seconds, and whether the plan is valid with the step where
asked. One refused move (a chamber not qualified for the product) shows the refusal's time.

    python bench/moves.py --orders 6 --moves 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def _wait(client: Any, job_id: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.get(f"/schedules/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=6, help="orders of the sample to plan")
    ap.add_argument("--moves", type=int, default=3, help="moves to time")
    ap.add_argument("--time-limit", type=float, default=2.0, help="each repair's seconds")
    args = ap.parse_args()
    if args.orders < 1 or args.moves < 1 or args.time_limit <= 0:
        print("moves.py: --orders and --moves must be 1 or more, --time-limit above 0",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{os.path.join(tmp, 'rp.db')}"
        settings = Settings(database_url=url, now="2026-11-30T00:00:00Z",  # type: ignore[arg-type]
                            log_json=False, plan_sample=False)
        with TestClient(create_app(settings), raise_server_exceptions=False) as c:
            orders = [o["id"] for o in c.get("/orders?limit=100").json()["items"]]
            r = c.post("/schedules", json={"time_limit": 1, "orders": orders[:args.orders]})
            if r.status_code != 202:
                print(f"moves.py: the plan was refused: {r.text}", file=sys.stderr)
                return 1
            job = _wait(c, r.json()["id"])
            if not job["valid"]:
                print(f"moves.py: no valid plan to move in: {job['error']}", file=sys.stderr)
                return 1
            print(f"load average before: {os.getloadavg()[0]:.1f}")
            print(f"{'move':<28} {'status':>6} {'answer s':>9} {'solve s':>8}  valid, in place")
            lasts = [i for i in job["schedule"]["items"] if i["op"] == "burn_in"]
            for k in range(args.moves):
                item = lasts[k % len(lasts)]
                start = datetime.fromisoformat(item["start"]) + timedelta(hours=3 + k)
                body = {"order": item["order"], "unit": item["unit"], "op": item["op"],
                        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "time_limit": args.time_limit}
                t = time.perf_counter()
                r = c.post(f"/schedules/{job['id']}/moves", json=body)
                took = time.perf_counter() - t
                out = r.json()
                if r.status_code == 201:
                    moved = out["job"]
                    step = next(i for i in moved["schedule"]["items"] if i["id"] == item["id"])
                    solve = sum(p["seconds"] for p in moved["schedule"].get("solve_log", []))
                    ok = moved["valid"] and step["start"] == body["start"]
                    print(f"{item['id']:<28} {r.status_code:>6} {took:>9.2f} {solve:>8.2f}  {ok}")
                else:
                    print(f"{item['id']:<28} {r.status_code:>6} {took:>9.2f} {'-':>8}  "
                          f"{out.get('detail', '')[:400]}")
            item = lasts[0]
            t = time.perf_counter()
            r = c.post(f"/schedules/{job['id']}/moves", json={
                "order": item["order"], "unit": item["unit"], "op": item["op"],
                "resource": "SJC-BIA-01"})
            took = time.perf_counter() - t
            print(f"{'refused: ' + item['id']:<28} {r.status_code:>6} {took:>9.2f} {'-':>8}  "
                  f"{r.json().get('detail', '')[:400]}")
            print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
