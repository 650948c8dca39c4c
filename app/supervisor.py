"""The supervisor of the solve processes: a thread owned by the app's lifespan that starts
queued jobs in worker processes and notices workers that die.

At most `max_solves` jobs run at once in the whole database (every server and `rackplan
worker` process counts the running jobs when it claims one), each in its own process
(`app.worker.run_job`, 'spawn' context); solving never happens in the API process. A
worker that dies leaves its job `running`; the supervisor notices the exit and marks the
job failed with the reason.
On shutdown the running workers are stopped and their jobs failed.

Every few seconds it also fails the running jobs whose lease ran out
(`job_state.recover_interrupted`): jobs of a server or a `rackplan reschedule` that died,
never those of a live process (theirs renew their lease), nor its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.services import job_state

log = logging.getLogger("rackplan.jobs")

SHUTDOWN_REASON = "interrupted: the server shut down while the job was running"


def _worker_main(database_url: str, job_id: str, log_json: bool, nice: int = 0,
                 grace: float = 5.0) -> None:
    """The worker process's entry point (imported there, so the API process never loads the
    solver's CP-SAT backend)."""
    from app.worker import run_job

    run_job(database_url, job_id, log_json=log_json, nice=nice, grace=grace)


def exit_reason(exitcode: int | None) -> str:
    """Why a worker process ended without storing a result, from its exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{hint}"
    if exitcode:
        return f"the worker process exited with code {exitcode}"
    return "the worker process ended without storing a result"


@dataclass
class _Worker:
    job_id: str
    process: multiprocessing.process.BaseProcess


class JobRunner:
    """Starts queued jobs in worker processes, at most `max_solves` at once, and notices
    workers that die. `wake()` after queueing a job starts it at once; the database is
    also polled (jobs queued by another server process)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        database_url: str,
        max_solves: int,
        *,
        log_json: bool = True,
        poll: float = 2.0,
        nice: int = 0,
        lease: float = 30.0,
        grace: float = 5.0,
    ) -> None:
        self.sessions = sessions
        self.log_json = log_json
        self.nice = nice  # added to each worker process's niceness (`app.worker.run_job`)
        self.database_url = database_url
        self.max_solves = max_solves
        self.poll = poll
        self.lease = lease  # a running job's lease (`job_state.recover_interrupted`)
        self.grace = grace  # the workers' watchdog's (`app.worker.Watchdog`)
        self._next_recovery = 0.0
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the supervisor's thread."""
        self._thread = threading.Thread(target=self._loop, name="rackplan-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for queued jobs now."""
        self._wake.set()

    def pids(self) -> dict[str, int | None]:
        """The running worker processes: job id -> pid."""
        with self._lock:
            return {w.job_id: w.process.pid for w in self._workers.values()}

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._reap()
                self._recover()
                self._start_queued()
            except Exception:
                log.exception("job runner step failed; retrying")
            with self._lock:
                busy = bool(self._workers)
            self._wake.wait(0.2 if busy else self.poll)

    def _reap(self) -> None:
        """Collect ended workers; a job still running after its worker ended failed."""
        with self._lock:
            ended = [w for w in self._workers.values() if not w.process.is_alive()]
            for w in ended:
                del self._workers[w.job_id]
        for w in ended:
            w.process.join()
            code = w.process.exitcode
            w.process.close()
            if job_state.fail(self.sessions, w.job_id, exit_reason(code)):
                log.error("job %s: worker ended with exit code %s without a result",
                          w.job_id, code)

    def _recover(self) -> None:
        """Now and again: renew the leases of this runner's live workers' jobs (a worker
        still starting up has not beaten yet: another process must not take it for dead),
        and fail the running jobs whose lease ran out (process gone)."""
        now = time.monotonic()
        if now < self._next_recovery:
            return
        self._next_recovery = now + max(1.0, self.lease / 3)
        with self._lock:
            mine = [w.job_id for w in self._workers.values() if w.process.is_alive()]
        job_state.renew(self.sessions, mine)
        job_state.recover_interrupted(self.sessions, self.lease, keep=mine)

    def _start_queued(self) -> None:
        """Start queued jobs while this runner has room and the database's count of running
        jobs is under `max_solves` (`job_state.claim_next`: a limit for every process on
        the database)."""
        while not self._stopping.is_set():
            with self._lock:
                if len(self._workers) >= self.max_solves:
                    return
            job_id = job_state.claim_next(self.sessions, self.max_solves)
            if job_id is None:
                return
            proc = self._ctx.Process(
                target=_worker_main,
                args=(self.database_url, job_id, self.log_json, self.nice, self.grace),
                name=f"rackplan-job-{job_id}", daemon=True,
            )
            try:
                proc.start()
            except Exception as exc:
                log.exception("job %s: could not start a worker process", job_id)
                job_state.fail(self.sessions, job_id,
                               f"could not start a worker process: {type(exc).__name__}")
                continue
            with self._lock:
                self._workers[job_id] = _Worker(job_id, proc)
            log.info("job %s: started worker pid %s", job_id, proc.pid)

    def join(self) -> None:
        """Wait until the supervisor's thread ends (`stop` from another thread)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self, grace: float = 5.0) -> list[str]:
        """Stop the supervisor; running workers are terminated and their jobs failed with
        SHUTDOWN_REASON (a later start would otherwise find them running). The job ids."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for w in workers:
            w.process.terminate()
        for w in workers:
            w.process.join(grace)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.process.close()
        marked = job_state.fail_running(self.sessions, [w.job_id for w in workers],
                                        SHUTDOWN_REASON)
        if marked:
            log.warning("shutdown: stopped %d running job(s): %s", len(marked), ", ".join(marked))
        return marked
