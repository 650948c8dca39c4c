"""Where side-by-side solver work runs: local processes (the default) or a Ray cluster.

One interface, `Backend.map(fn, calls, cpus=...)`: `fn(*call)` for each call, the answers
in the calls' order. `fn` and the calls must pickle (module-level functions, problems,
parameters without callbacks). An exception raised by `fn` is raised again by `map` on
both backends; a worker that dies (killed, out of memory, its machine gone) fails only
its own call: its answer is a `Failed` with the reason. A failed call is not retried: a
solve's time limit is a share of its caller's clock, and a second run would overrun it.

- `LocalBackend(processes)`: with one process, the calls run in turn in this process;
  with more, in `processes` plain child processes (``python -m solver.execution``), each
  taking the next call when it has answered one. Plain subprocesses, not
  `multiprocessing`: solves also run in daemonic job workers, which may not start
  `multiprocessing` children.
- `RayBackend(address)`: each call a Ray task holding `cpus` CPUs; the calls' arguments
  go into Ray's object store once each (`ray.put`), the answers come back through it.
  `address` ``local`` starts a Ray of this machine in this process
  (``ray.init(num_cpus=...)``), ``auto`` joins the cluster this machine is part of
  (``ray start``), ``ray://host:10001`` a remote one through Ray Client. Ray comes with
  ``pip install 'rackplan[distributed]'``; the cluster's workers need rackplan installed
  (the same version) to run its functions.

`backend_for(address, processes)` picks one: no address, the local backend.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import Any, Protocol, TypeVar

R = TypeVar("R")

#: the address that starts a Ray of this machine in this process
LOCAL = "local"


@dataclass(frozen=True)
class Failed:
    """A call whose worker died before it answered: why, in a sentence."""

    reason: str


class BackendError(Exception):
    """The backend cannot be used (Ray not installed, its cluster not reachable)."""


class Backend(Protocol):
    """Runs calls side by side (module docstring)."""

    name: str

    def map(self, fn: Callable[..., R], calls: Sequence[tuple[Any, ...]], *,
            cpus: int = 1) -> list[R | Failed]:
        """`fn(*call)` per call, in order; a dead worker's call a `Failed`."""
        ...


# ---- local processes ----------------------------------------------------------------------

class LocalBackend:
    """The calls in this process (one process) or in plain child processes, each child
    taking calls in turn until none is left (a child that dies is replaced)."""

    name = "local"

    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)

    def map(self, fn: Callable[..., R], calls: Sequence[tuple[Any, ...]], *,
            cpus: int = 1) -> list[R | Failed]:
        if self.processes <= 1 or len(calls) <= 1:
            return [fn(*call) for call in calls]
        todo: Queue[int] = Queue()
        for i in range(len(calls)):
            todo.put(i)
        answers: list[tuple[str, Any]] = [("ok", None)] * len(calls)

        def work() -> None:
            child: _Child | None = None
            try:
                while True:
                    try:
                        i = todo.get_nowait()
                    except Empty:
                        return
                    child = child or _Child()
                    got = child.call(fn, calls[i])
                    if got is None:
                        answers[i] = ("ok", Failed(
                            "the process running it ended without an answer (exit code "
                            f"{child.close()})"))
                        child = None
                    else:
                        answers[i] = got
            finally:
                if child is not None:
                    child.close()

        threads = [threading.Thread(target=work, name=f"local-backend-{k}", daemon=True)
                   for k in range(min(self.processes, len(calls)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out: list[R | Failed] = []
        for kind, value in answers:
            if kind == "error":
                raise value
            out.append(value)
        return out


class _Child:
    """``python -P -m solver.execution``: pickled (fn, call) in, pickled answers out."""

    def __init__(self) -> None:
        # the child imports this package from where the parent did, installed or not;
        # -P: not from the working directory first, where another checkout's `solver`
        # may lie
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen([sys.executable, "-P", "-m", __name__],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def call(self, fn: Callable[..., Any], call: tuple[Any, ...]) -> tuple[str, Any] | None:
        """("ok", answer) or ("error", exception); None when the child died."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            pickle.dump((fn, call), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
            kind, value = pickle.load(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            return None
        return str(kind), value

    def close(self) -> int:
        """End the child (its stdin closed); its exit code."""
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        try:
            return self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


PARENT_POLL = 0.5  # seconds between a child's looks at its parent


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(0)


def _child() -> None:
    """A child process: (fn, call) messages on stdin until it closes, each answered on
    stdout; the calls' own output goes to stderr. The child ends when its parent is
    gone."""
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    while True:
        try:
            fn, call = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", fn(*call))
        except Exception as exc:
            answer = ("error", exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an answer or exception that does not pickle: its text
            data = pickle.dumps(("error", RuntimeError(repr(exc))))
        try:
            out.write(data)
            out.flush()
        except OSError:
            return


# ---- Ray ----------------------------------------------------------------------------------

def _ray(address: str) -> Any:
    try:
        import ray
    except ImportError:
        raise BackendError(
            f"the Ray address '{address}' is set but Ray is not installed: "
            "pip install 'rackplan[distributed]'") from None
    return ray


def _call(fn: Callable[..., R], call: tuple[Any, ...]) -> R:
    return fn(*call)


class RayBackend:
    """Each call a Ray task (module docstring); Ray is started or joined on first use."""

    name = "ray"

    def __init__(self, address: str, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        _ray(address)  # installed, or say so now

    @property
    def ray(self) -> Any:
        return _ray(self.address)

    def start(self) -> None:
        """Start or join Ray unless this process already has."""
        ray = self.ray
        if ray.is_initialized():
            return
        try:
            if self.address == LOCAL:
                ray.init(num_cpus=self.num_cpus or os.cpu_count() or 1,
                         include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BackendError(f"cannot reach Ray at '{self.address}': {exc}") from None

    def map(self, fn: Callable[..., R], calls: Sequence[tuple[Any, ...]], *,
            cpus: int = 1) -> list[R | Failed]:
        ray = self.ray
        self.start()
        # never more CPUs than the cluster has: such a task would wait for ever
        most = max(1, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(_call).options(num_cpus=min(max(1, cpus), most), max_retries=0,
                                         retry_exceptions=False)
        fn_ref = ray.put(fn)
        refs = [task.remote(fn_ref, ray.put(call)) for call in calls]
        out: list[R | Failed] = []
        error: BaseException | None = None
        try:
            for ref in refs:
                try:
                    out.append(ray.get(ref))
                except ray.exceptions.RayTaskError as exc:  # fn raised: raise it here
                    error = error or _cause(exc)
                    out.append(Failed(str(exc)))
                except ray.exceptions.RayError as exc:  # its worker, node or object lost
                    out.append(Failed(f"the Ray worker running it failed: "
                                      f"{type(exc).__name__}: {_first_line(exc)}"))
        except BaseException:  # interrupted (Ctrl-C): the tasks not finished end too
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            raise
        if error is not None:
            raise error
        return out


def _cause(exc: Any) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else RuntimeError(str(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def backend_for(address: str | None, processes: int = 1,
                num_cpus: int | None = None) -> Backend:
    """The Ray backend for `address` (``local``, ``auto``, ``ray://host:port``), else the
    local one with `processes` processes; `BackendError` when Ray is not installed."""
    if address is None or not address.strip():
        return LocalBackend(processes)
    return RayBackend(address.strip(), num_cpus)


if __name__ == "__main__":
    _child()


__all__ = ["LOCAL", "Backend", "BackendError", "Failed", "LocalBackend", "RayBackend",
           "backend_for"]
