"""What runs in a worker process: solve one job and store the outcome in the database.

The supervisor (`app.supervisor`) has already claimed the job (status running).
The worker opens its own engine, solves with `solver.solve.solve` (a reschedule job with
`solver.reschedule.reschedule`, from its reference job's schedule), reports progress and
polls for a cancel through a heartbeat thread (a few small transactions a second), checks
the schedule with the independent validator and stores schedule, verdict and status in
one transaction (a reschedule's problem too: the frozen steps became fixed steps).
`rackplan reschedule` runs `run` in its own process the same way.

The heartbeat starts with the job, before the problem is read: its progress writes renew
the job's lease (`app.services.job_state`), and the time limit counts from then, loading
and compiling included. The search keeps to what is left of it; the start (compile and
first schedule) may take `grace` seconds more, then gives up (`SolveParams.halt`), as it
does a second after a cancel. In a worker process a watchdog thread also ends the process
when the server that started it is gone, or when the solve has not stopped `grace`
seconds after that (a step with no checks, e.g. reading a huge problem), storing why first.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, session_factory, transaction
from app.observability import configure_logging
from app.services import job_state
from app.tables import Job, JobKind, JobStatus
from solver.problem import Problem, ProblemError, load_problem
from solver.reschedule import DEFAULT_FROZEN_HOURS, reschedule
from solver.solve import HALTED, Progress, SolveParams, solve
from solver.validate import validate

log = logging.getLogger("rackplan.worker")

CANCEL_POLL = 0.5  # seconds between reads of cancel_requested
PROGRESS_EVERY = 1.0  # seconds between progress writes
INTERNAL_ERROR = "internal error in the solver; the server log has the details"
ORPHANED = "interrupted: the server process ended while the job was running"
WATCH_EVERY = 0.5  # seconds between the watchdog's looks at the parent and the clock
CANCEL_START_GRACE = 1.0  # a start (compile, dispatch) this far into a cancel gives up
DEFAULT_GRACE = 5.0  # seconds a start may take past the time limit (`job_grace_seconds`)


def lower_priority(nice: int) -> None:
    """Add `nice` to this process's niceness (Unix); where that is not possible the solve
    runs at the server's priority, and the log says so."""
    if nice <= 0:
        return
    if not hasattr(os, "nice"):
        log.warning("cannot lower the solve's CPU priority on this system")
        return
    try:
        os.nice(nice)
    except OSError as exc:
        log.warning("cannot lower the solve's CPU priority: %s", exc)


class Heartbeat:
    """A thread that writes the latest progress about once a second and turns a cancel
    request in the database into the solver's `stop` flag. It also stops the search when
    the server process that started the worker is gone (`orphaned`)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str,
                 watch_parent: bool = True, grace: float = DEFAULT_GRACE) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.t0 = time.monotonic()
        self._latest: Progress | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._closed = threading.Event()
        self._last_write = 0.0
        self._parent = os.getppid() if watch_parent else None
        self.orphaned = False
        self.deadline = float("inf")  # monotonic: the job's time limit from its start
        self.grace = grace  # what a start may take past the deadline
        self.cancel_seen: float | None = None  # monotonic: when the cancel was first seen
        self.finished = threading.Event()  # the solve returned
        self._thread = threading.Thread(target=self._run, name="rackplan-heartbeat",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def report(self, p: Progress) -> None:
        """The solver's progress callback (any thread): keep the latest report."""
        with self._lock:
            self._latest = p

    def stop_requested(self) -> bool:
        """The solver's `stop` callable: a cancel was seen in the database."""
        return self._cancel.is_set()

    def halt_requested(self) -> bool:
        """The solver's `halt` callable (compile and first schedule): the grace past the
        job's time limit is over, or a cancel was seen a second ago (a quick start still
        ends with a schedule)."""
        now = time.monotonic()
        seen = self.cancel_seen
        return (now > self.deadline + self.grace
                or (seen is not None and now - seen >= CANCEL_START_GRACE))

    def _cancelled(self) -> None:
        if self.cancel_seen is None:
            self.cancel_seen = time.monotonic()
        self._cancel.set()

    def snapshot(self) -> dict[str, Any]:
        """The progress document: elapsed now, the latest figures and phase."""
        with self._lock:
            p = self._latest
        return {
            "elapsed": round(time.monotonic() - self.t0, 3),
            "objective": p.objective if p else None,
            "bound": p.bound if p else None,
            "phase": p.phase if p else "starting",
            "solve_log": p.solve_log if p else [],
        }

    def beat(self) -> None:
        """One heartbeat: write progress when due, read the cancel flag, watch the parent."""
        if self._parent is not None and os.getppid() != self._parent:
            self.orphaned = True
            self._cancelled()
            return
        now = time.monotonic()
        progress = None
        if now - self._last_write >= PROGRESS_EVERY:
            progress = self.snapshot()
            self._last_write = now
        if job_state.write_progress(self.sessions, self.job_id, progress):
            self._cancelled()

    def _run(self) -> None:
        while not self._closed.wait(CANCEL_POLL):
            try:
                self.beat()
            except Exception:
                log.warning("job %s: heartbeat failed; retrying", self.job_id, exc_info=True)

    def close(self) -> None:
        self._closed.set()
        self._thread.join()


def parent_alive(pid: int) -> bool:
    """Whether the process `pid` that started this one is still its parent and alive."""
    if os.getppid() != pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but not ours to signal
        return True
    return True


class Watchdog:
    """In a worker process: a thread that ends the process (`os._exit`) when the server
    that started it is gone, or when the solve has not returned twice the heartbeat's grace
    after the job's time limit, or its grace after a cancel (four times that once the solver
    has a schedule: it stops by itself then); the job's outcome is stored first (at most a
    few seconds' wait for the database; else the job's lease runs out)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str, heartbeat: Heartbeat,
                 *, exit_process: Callable[[int], None] = os._exit) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.heartbeat = heartbeat
        self.grace = heartbeat.grace
        self.time_limit: float | None = None
        self._parent = os.getppid()
        self._exit = exit_process
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rackplan-watchdog",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        if self._thread.ident is not None:  # started: the job ran
            self._thread.join()

    def verdict(self) -> tuple[str, str] | None:
        """(status, why) when the process must end now, else None."""
        if not parent_alive(self._parent):
            return JobStatus.FAILED, ORPHANED
        hb, now = self.heartbeat, time.monotonic()
        phase = hb.snapshot()["phase"]
        # a solve with a schedule already stops by itself soon: more patience there
        wait = self.grace if phase == "starting" else 4 * self.grace
        if hb.cancel_seen is not None and now - hb.cancel_seen > wait:
            return JobStatus.CANCELLED, (
                f"cancelled; the solver did not stop within {wait:g} s "
                f"(it was {phase}), so its work was dropped"
            )
        if now > hb.deadline + 2 * wait:
            return JobStatus.FAILED, (
                f"the time limit of {self.time_limit:g} s ran out and the solver did not "
                f"stop within {2 * wait:g} s more (it was {phase}): a problem this "
                "large needs a longer time_limit"
            )
        return None

    def _run(self) -> None:
        while not self._closed.wait(WATCH_EVERY):
            if self.heartbeat.finished.is_set():
                return
            got = self.verdict()
            if got is None:
                continue
            status, why = got
            log.error("job %s: %s; ending the worker process", self.job_id, why)
            writer = threading.Thread(
                target=job_state.end_without_schedule,
                args=(self.sessions, self.job_id, status, why), daemon=True,
            )
            writer.start()
            writer.join(5.0)
            self._exit(1)
            return


def _solve(
    problem: Problem, data: dict[str, Any], kind: str, reference: dict[str, Any] | None,
    params: dict[str, Any], heartbeat: Heartbeat,
) -> tuple[dict[str, Any], Problem, dict[str, Any] | None]:
    """Solve (or reschedule) the job: the schedule, the problem it must pass and, when that
    is not the stored one, the problem to store instead."""
    solve_params = SolveParams(
        time_limit=max(0.0, heartbeat.deadline - time.monotonic()),
        workers=int(params["workers"]), seed=int(params.get("seed", 0)),
        progress=heartbeat.report, stop=heartbeat.stop_requested,
        halt=heartbeat.halt_requested,
    )
    if kind != JobKind.RESCHEDULE:
        return solve(problem, solve_params), problem, None
    hours = float(params.get("frozen_hours", DEFAULT_FROZEN_HOURS))
    r = reschedule(problem, reference, solve_params, hours)
    solved = {**data, "fixed": [f.model_dump(mode="json") for f in r.problem.fixed]}
    return r.schedule, r.problem, solved


def run(sessions: sessionmaker[Session], job_id: str, *, watch_parent: bool = True,
        grace: float = DEFAULT_GRACE, watchdog: bool = False) -> str | None:
    """Solve a claimed (running) job and store the result; the status written, or None
    when the job was not running. `watch_parent=False` when the caller is not a supervisor
    whose exit should stop the search (`rackplan reschedule` runs it in-process). `grace`:
    what the start may take past the time limit. With `watchdog` (only in a worker process
    of its own), a `Watchdog` ends the process when the server is gone or the solve does
    not stop."""
    heartbeat = Heartbeat(sessions, job_id, watch_parent, grace)
    dog = Watchdog(sessions, job_id, heartbeat) if watchdog else None
    heartbeat.start()  # from here on the job's lease is renewed
    try:
        return _run(sessions, job_id, heartbeat, dog)
    finally:
        heartbeat.finished.set()
        heartbeat.close()
        if dog is not None:
            dog.close()


def _run(sessions: sessionmaker[Session], job_id: str, heartbeat: Heartbeat,
         watchdog: Watchdog | None) -> str | None:
    with transaction(sessions) as s:
        job = s.get(Job, job_id)
        if job is None or job.status != JobStatus.RUNNING:
            log.warning("job %s: not running (%s); nothing to do", job_id,
                        job.status if job else "unknown")
            return None
        data, params, kind = job.problem, job.params, job.kind
        ref = params.get("reference") if kind == JobKind.RESCHEDULE else None
        reference = s.scalar(select(Job.schedule).where(Job.id == ref)) if ref else None
    limit = float(params["time_limit"])
    heartbeat.deadline = heartbeat.t0 + limit
    if watchdog is not None:
        watchdog.time_limit = limit
        watchdog.start()
    if ref is not None and reference is None:  # a published job always has one
        msg = f"the reference job '{ref}' has no schedule to reschedule from"
        log.warning("job %s: %s", job_id, msg)
        job_state.fail(sessions, job_id, msg)
        return JobStatus.FAILED
    try:
        heartbeat.beat()  # a cancel sent before the worker started stops the search at once
        problem = load_problem(data)
        schedule, solved, store = _solve(problem, data, kind, reference, params, heartbeat)
        heartbeat.finished.set()
        if params.get("unplanned"):  # the orders the problem left out (their reasons)
            schedule["unplanned"] = params["unplanned"]
        faults = validate(solved, schedule)
        if store is not None and not faults:  # what GET .../problem and publish will read
            faults = validate(load_problem(store), schedule)
    except ProblemError as exc:
        msg = "the problem cannot be solved: " + "; ".join(exc.errors[:5])
        log.warning("job %s: %s", job_id, msg)
        job_state.fail(sessions, job_id, msg)
        return JobStatus.FAILED
    except Exception:
        log.exception("job %s: the solver failed", job_id)
        job_state.fail(sessions, job_id, INTERNAL_ERROR)
        return JobStatus.FAILED
    if heartbeat.orphaned:
        log.warning("job %s: %s", job_id, ORPHANED)
        job_state.fail(sessions, job_id, ORPHANED)
        return JobStatus.FAILED
    reasons = schedule.get("reasons") or []
    if schedule.get("status") == "UNKNOWN" and reasons and str(reasons[0]).startswith(HALTED):
        cancelled = heartbeat.cancel_seen is not None
        why = (f"cancelled before the solver had a first schedule: {reasons[0]}" if cancelled
               else f"the time limit of {limit:g} s ran out before the solver had a first "
               f"schedule: {reasons[0]}; a problem this large needs a longer time_limit")
        log.warning("job %s: %s", job_id, why)
        return job_state.end_without_schedule(
            sessions, job_id, JobStatus.CANCELLED if cancelled else JobStatus.FAILED, why,
            heartbeat.snapshot())
    if faults:
        log.error("job %s: schedule failed validation: %s", job_id, faults[:5])
    status = job_state.store_result(sessions, job_id, schedule, faults,
                                    heartbeat.snapshot(), store)
    log.info("job %s: %s (%s, objective %s)", job_id, status, schedule.get("status"),
             schedule.get("objective_value"))
    return status


def run_job(database_url: str, job_id: str, *, log_json: bool = True, nice: int = 0,
            grace: float = DEFAULT_GRACE) -> None:
    """The worker process's main: its own engine, one job, then exit. `nice` lowers the
    process's CPU priority first (the solver's helper processes inherit it), so that the
    server answers API calls promptly while the solve takes the cores it leaves; `grace`:
    the watchdog's (`Watchdog`)."""
    configure_logging(json_lines=log_json)
    lower_priority(nice)
    engine = make_engine(database_url)
    try:
        run(session_factory(engine), job_id, grace=grace, watchdog=True)
    finally:
        engine.dispose()
