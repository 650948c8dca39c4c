"""Why a schedule's orders are late, and what would make them on time, for one job.

The job's problem and schedule (as the job runner stored them, validated; `load` reads
them in the caller's transaction, the rest runs outside it) go to
`solver.explain` (a few milliseconds per late order, no solver run); counterfactuals
(`solver.whatif`), on request only, re-solve a small neighbourhood per change with CP-SAT
for `WHAT_IF_SECONDS` each. Those run one at a time in the process (`_WHAT_IF`): a second
request waits for the first, at most `WHAT_IF_WAIT` seconds, then is told to retry.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

from app.domain import Conflict, NotFound, Unavailable
from app.tables import Job
from solver.explain import ExplainError, Explanation, explain
from solver.problem import Problem, ProblemError, load_problem

WHAT_IF_SECONDS = 1.0
"""CP-SAT's time limit for one counterfactual's re-solve."""
WHAT_IF_ORDERS = 3
"""Orders (most weighted tardiness first) that get counterfactuals in a whole-schedule answer."""
WHAT_IF_WAIT = 60.0
"""Seconds a what-if request waits for the one running before it."""
_WHAT_IF = threading.Lock()


def load(session: Session, job_id: str) -> tuple[Problem, dict[str, Any]]:
    """The checked problem and the validated schedule of job `job_id`: NotFound for an
    unknown job, Conflict when it has no schedule with steps or one the validator refused."""
    job = None if "\x00" in job_id else session.get(Job, job_id)
    if job is None:
        raise NotFound(f"schedule job '{job_id}' does not exist",
                       faults=[{"field": "job_id", "id": job_id, "message": "unknown job"}])
    schedule = job.schedule
    why = None
    if schedule is None:
        why = f"it is {job.status}"
    elif not schedule.get("items"):
        why = f"the result is {schedule.get('status', 'empty')} with no steps"
    elif not job.valid:
        why = "its schedule did not pass the validator"
    if why is not None or schedule is None:
        raise Conflict(f"schedule job '{job_id}' has no schedule to explain: {why}",
                       faults=[{"field": "job_id", "id": job_id, "message": str(why)}])
    try:
        problem = load_problem(job.problem)
    except ProblemError as exc:  # a stored problem the model no longer reads
        raise Conflict(f"schedule job '{job_id}': its problem no longer reads: "
                       f"{exc.errors[0]}") from None
    return problem, schedule


def _what_if(problem: Problem, schedule: dict[str, Any], ex: Explanation,
             orders: int | None) -> None:
    from solver.whatif import add_what_if  # imports ortools: only when asked

    if not _WHAT_IF.acquire(timeout=WHAT_IF_WAIT):
        raise Unavailable("another what-if is being computed; retry in a minute")
    try:
        add_what_if(problem, schedule, ex, orders=orders, seconds=WHAT_IF_SECONDS)
    finally:
        _WHAT_IF.release()


def _explained(problem: Problem, schedule: dict[str, Any], order: str | None) -> Explanation:
    try:
        return explain(problem, schedule, order)
    except ExplainError as exc:  # the stored schedule does not read against its problem
        raise Conflict(f"the schedule cannot be explained: {exc.errors[0]}") from None


def schedule_explanation(job_id: str, problem: Problem, schedule: dict[str, Any],
                         what_if: bool) -> dict[str, Any]:
    """Every late order of the job's schedule explained, the summary first; with
    `what_if`, counterfactuals for the `WHAT_IF_ORDERS` orders of most weighted
    tardiness."""
    ex = _explained(problem, schedule, None)
    if what_if and ex["orders"]:
        _what_if(problem, schedule, ex, WHAT_IF_ORDERS)
    return {"job_id": job_id, **ex}


def order_explanation(job_id: str, problem: Problem, schedule: dict[str, Any], order: str,
                      what_if: bool) -> dict[str, Any]:
    """One order of the job's schedule: on time (with its delivery and due date) or why it
    is late; with `what_if`, its counterfactuals. NotFound for an order the schedule's
    problem does not have."""
    if all(o.id != order for o in problem.orders):
        raise NotFound(
            f"order '{order}' is not in schedule job '{job_id}'",
            faults=[{"field": "order_id", "id": order, "message": "not an order of this plan"}],
        )
    ex = _explained(problem, schedule, order)
    row: dict[str, Any] = next(
        (o for o in schedule.get("orders", []) if o.get("id") == order), {})
    found = ex["orders"][0] if ex["orders"] else None
    if found is not None and what_if:
        _what_if(problem, schedule, ex, None)
    text = found["summary"] if found is not None else (
        f"{order} is on time: delivered {row.get('delivery')}, due {row.get('due')}.")
    return {
        "job_id": job_id, "order": order, "late": found is not None,
        "tardiness_min": row.get("tardiness_min", 0), "due": row.get("due"),
        "delivery": row.get("delivery"), "text": text, "explanation": found,
    }
