"""Polling a solve job through the API until it reaches a status (shared by API tests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

FINISHED = ("done", "failed", "cancelled")


def wait(client: Any, job_id: str, until: Collection[str] = FINISHED,
         timeout: float = 60.0, check: Callable[[dict[str, Any]], bool] | None = None,
         ) -> dict[str, Any]:
    """Poll a job until its status is in `until` (and `check` holds); the job."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/schedules/{job_id}")
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        if job["status"] in until and (check is None or check(job)):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}: {job}"
        time.sleep(0.1)
