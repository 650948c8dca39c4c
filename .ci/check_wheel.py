"""Check that the built wheel works on its own, away from the repository.

Builds the wheel from a copy of the source tree, installs it into a fresh virtual
environment in a temporary directory and, with the working directory there (never the
repository), runs:

1. ``rackplan serve`` on a free loopback port over a new SQLite file (the default
   ``var/rackplan.db`` under the working directory): the packaged sample is loaded, its
   first plan is polled until done (bounded) and must be valid; the pages and their
   assets are served; then the server is stopped;
2. ``rackplan sample``, ``rackplan solve`` on the written sample with a short time limit
   and ``rackplan validate`` on the result.

A script, not a pytest test (the suite stays fast): ``.ci/run`` calls it after
``make test``. Exit 0 when every check passes, 1 otherwise. Uses only the standard
library; pip fetches the build backend and the dependencies from PyPI (or its cache).

Usage: ``python .ci/check_wheel.py [--keep] [--plan-seconds S]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# the tree's own build and tool output, never copied into the build
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "var", "out", "*.egg-info", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "*.db", "*.db-*",
)
# what the installed program reads at run time: all of it must be in the wheel
PACKAGE_DATA = (
    "app/sample/sample.json", "app/sample/sample-orders.csv", "app/sample/sample-orders.xlsx",
    "app/templates/layout.html", "app/templates/index.html", "app/templates/view.html",
    "app/templates/orders.html", "app/static/gantt.js", "app/static/orders-template.csv",
)
SERVER_START_S = 90
PLAN_DONE_S = 240
STOP_S = 30


class CheckFailed(Exception):
    """One check did not hold; the message says which."""


def step(message: str) -> None:
    print(f"check-wheel: {message}", flush=True)


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float
        ) -> subprocess.CompletedProcess[str]:
    """Run `cmd`; CheckFailed with its output when it exits non-zero."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                          f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc


def build_wheel(work: Path, env: dict[str, str]) -> Path:
    """The wheel, built from a clean copy of the tree (no stale build/ can leak in)."""
    src = work / "src"
    shutil.copytree(REPO, src, ignore=IGNORED)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
         str(work / "dist"), str(src)], cwd=work, env=env, timeout=600)
    wheels = sorted((work / "dist").glob("rackplan-*.whl"))
    if len(wheels) != 1:
        raise CheckFailed(f"expected one rackplan wheel, found {wheels}")
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    missing = [p for p in PACKAGE_DATA if p not in names]
    if missing:
        raise CheckFailed(f"the wheel lacks package data: {', '.join(missing)}")
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    if tops != {"app", "solver"}:
        raise CheckFailed(f"the wheel's top-level entries are {sorted(tops)}, not app, solver")
    return wheels[0]


def install(work: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A fresh virtual environment holding the wheel and its dependencies; its bin/."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=work, env=env, timeout=120)
    bin_dir = venv / "bin"
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", str(wheel)], cwd=work, env=env, timeout=900)
    where = run([str(bin_dir / "python"), "-c",
                 "import app, solver; print(app.__file__); print(solver.__file__)"],
                cwd=work, env=env, timeout=60).stdout.split()
    if not all(Path(p).resolve().is_relative_to(venv.resolve()) for p in where):
        raise CheckFailed(f"the packages are imported from {where}, not from {venv}")
    return bin_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str) -> Any:
    status, body = get(url)
    if status != 200:
        raise CheckFailed(f"GET {url}: {status} {body[:500]!r}")
    return json.loads(body)


def wait_until_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CheckFailed(f"rackplan serve exited {proc.returncode} at start")
        try:
            if get(f"{base}/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise CheckFailed(f"rackplan serve did not answer /healthz within {SERVER_START_S} s")


def check_service(base: str) -> str:
    """The sample is loaded and its first plan ends done and valid; the pages and their
    assets are served. Returns a one-line account of the plan."""
    factory = get_json(f"{base}/factory")
    orders = get_json(f"{base}/orders?limit=1")
    if len(factory["sites"]) != 4 or orders["total"] != 39:
        raise CheckFailed(f"the sample is not loaded: {len(factory['sites'])} sites, "
                          f"{orders['total']} orders")
    jobs = get_json(f"{base}/schedules")
    items = jobs["items"] if isinstance(jobs, dict) else jobs
    if len(items) != 1:
        raise CheckFailed(f"expected the sample's first plan as the one job, got {items}")
    job_id = items[0]["id"]
    deadline = time.monotonic() + PLAN_DONE_S
    while True:
        job = get_json(f"{base}/schedules/{job_id}")
        if job["status"] not in ("queued", "running"):
            break
        if time.monotonic() > deadline:
            raise CheckFailed(f"the first plan {job_id} is still {job['status']} after "
                              f"{PLAN_DONE_S} s")
        time.sleep(1)
    schedule = job.get("schedule") or {}
    if job["status"] != "done" or not job.get("valid") or not schedule.get("items"):
        raise CheckFailed(f"the first plan ended {job['status']}, valid {job.get('valid')}, "
                          f"schedule {schedule.get('status')}: {job.get('error')}")
    for path, marker in (("/", b"<html"), ("/ui/orders", b"<html"),
                         ("/static/gantt.js", b"const rackgantt"),
                         ("/static/orders-template.csv", b"id,product")):
        status, body = get(f"{base}{path}")
        if status != 200 or marker not in body.lower():
            raise CheckFailed(f"GET {path}: {status}, {body[:200]!r}")
    kpis = schedule["kpis"]
    return (f"plan {job_id}: {schedule['status']}, {len(schedule['items'])} steps, "
            f"{kpis['on_time']}/{kpis['orders']} orders on time, valid")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(proc: subprocess.Popen[bytes]) -> int:
    """Stop the server as Ctrl-C would and check that its job workers and solver helpers
    (its process group) end with it; kill the group if anything hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise CheckFailed(f"rackplan serve did not stop within {STOP_S} s") from None
    deadline = time.monotonic() + 10
    while group_alive(proc.pid):
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise CheckFailed("rackplan serve left processes running after it stopped")
        time.sleep(0.2)
    return proc.returncode


def serve(bin_dir: Path, cwd: Path, env: dict[str, str], plan_seconds: float) -> str:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = cwd / "server.log"
    env = {**env, "RACKPLAN_DEFAULT_TIME_LIMIT": str(plan_seconds), "RACKPLAN_LOG_JSON": "false"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(bin_dir / "rackplan"), "serve", "--port", str(port)],
                                cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            wait_until_up(base, proc)
            account = check_service(base)
        except BaseException:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            step("server log:\n" + log_path.read_text(errors="replace")[-4000:])
            raise
        code = stop(proc)
    if code != 0:
        raise CheckFailed(f"rackplan serve exited {code} when stopped:\n"
                          + log_path.read_text(errors="replace")[-4000:])
    if not (cwd / "var" / "rackplan.db").is_file():
        raise CheckFailed(f"no database at {cwd / 'var' / 'rackplan.db'}")
    return account


def solve_sample(bin_dir: Path, cwd: Path, env: dict[str, str], seconds: float) -> str:
    rackplan = str(bin_dir / "rackplan")
    written = run([rackplan, "sample", "-o", "sample"], cwd=cwd, env=env, timeout=60)
    if len(written.stdout.split()) != 3:
        raise CheckFailed(f"rackplan sample wrote {written.stdout!r}")
    run([rackplan, "solve", "sample/sample.json", "-o", "schedule.json", "--time-limit",
         str(seconds), "--quiet"], cwd=cwd, env=env, timeout=seconds + 120)
    checked = run([rackplan, "validate", "sample/sample.json", "schedule.json"],
                  cwd=cwd, env=env, timeout=120)
    schedule = json.loads((cwd / "schedule.json").read_text(encoding="utf-8"))
    return (f"solve: {schedule['status']}, weighted tardiness "
            f"{schedule['kpis']['total_weighted_tardiness_min']}; validate: "
            f"{checked.stdout.strip()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="build, install and run the rackplan wheel")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--plan-seconds", type=float, default=5.0,
                    help="time limit of the service's first plan and of the solve (5)")
    args = ap.parse_args(argv)
    # nothing of the repository or of the caller's settings may leak into the runs
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RACKPLAN_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    work = Path(tempfile.mkdtemp(prefix="rackplan-wheel-"))
    cwd = work / "run"
    cwd.mkdir()
    started = time.monotonic()
    try:
        step(f"building the wheel in {work}")
        wheel = build_wheel(work, env)
        step(f"installing {wheel.name} into a fresh virtual environment")
        bin_dir = install(work, wheel, env)
        step("rackplan serve: the sample, its first plan, the pages")
        step(serve(bin_dir, cwd, env, args.plan_seconds))
        step("rackplan sample, solve, validate")
        step(solve_sample(bin_dir, cwd, env, args.plan_seconds))
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        step(f"FAILED: {exc}")
        return 1
    finally:
        if args.keep:
            step(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    step(f"ok in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
