"""A search in a child process, driven over its stdin/stdout by pickled messages.

The searches written in Python (the order-sequence search, the tabu search) hold the GIL,
so a second core only helps them from another process. This is a plain subprocess, not
`multiprocessing`: solves also run inside daemonic job workers, which may not start
`multiprocessing` children. The child ends when its stdin closes, and a thread of its
own ends it within a second of its parent's death (e.g. a job's worker process stopped
by its server), even in the middle of a round.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)


class Helper:
    """`python -P -m <module>` in a child process; `send` and `receive` pickled objects."""

    def __init__(self, module: str, first: object) -> None:
        # the child imports this package from where the parent did, installed or not;
        # -P: not from the working directory first (which `-m` would put ahead of it),
        # where another checkout's `solver` may lie
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.module = module
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", module],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.ok = True
        self.send(first)

    def send(self, msg: object) -> bool:
        """Send one message; False (and not ok from then on) if the child is gone."""
        try:
            pickle.dump(msg, self.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.stdin.flush()
            return True
        except OSError:
            self.ok = False
            return False

    def receive(self) -> Any | None:
        """The child's next message (None, and not ok from then on, if it failed)."""
        if not self.ok:
            return None
        try:
            return pickle.load(self.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.ok = False
            log.warning("a %s helper process failed; going on without it", self.module)
            return None

    def close(self) -> None:
        for f in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                f.close()
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


PARENT_POLL = 0.5  # seconds between the child's looks at its parent


def _watch_parent(parent: int) -> None:
    """In the child: end this process as soon as the parent is gone (re-parented)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(0)


def child_channel() -> tuple[BinaryIO, BinaryIO]:
    """In the child: its (stdin, stdout) as binary streams for the pickled messages; a
    thread ends the child when its parent is gone."""
    logging.basicConfig(level=logging.WARNING)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="parent-watch",
                     daemon=True).start()
    return sys.stdin.buffer, sys.stdout.buffer


def reply(out: BinaryIO, msg: object) -> bool:
    """In the child: send `msg` to the parent; False if the parent is gone."""
    try:
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        return True
    except OSError:
        return False
