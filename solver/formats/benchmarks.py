"""Standard scheduling benchmark files (FJSP, JSSP/Taillard) as SPEC section 1 problems.

Both readers return a JSON-ready problem dict with objective ``makespan``: one site ``S`` in
UTC without shifts (open around the clock), one capacity-1 resource ``M1``, ``M2``, ... per
machine, one product and one order of quantity 1 per job (``J1``, ``J2``, ...), and routing
steps ``o1``, ``o2``, ... that each list their machines as ``alternatives``.

The files are read one job per non-blank line. Every fault is collected and raised together
as a `ProblemError` whose messages name the line number and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from solver.problem import ProblemError

HORIZON_START = "2026-01-05T00:00:00Z"
SITE_ID = "S"

_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

# One operation: the (machine number as in the file, duration) pairs it may run with.
_Operation = list[tuple[int, int]]


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based line number in the file
    tokens: list[str]


def read_fjsp(text: str, name: str) -> dict[str, Any]:
    """Read a flexible job shop (FJSP) file as a SPEC problem dict.

    Parameters
    ----------
    text
        The file's content: a first line ``jobs machines [avg-alternatives]``, then one line
        per job: its number of operations, then for each operation ``k`` followed by ``k``
        pairs ``machine duration`` (machines numbered from 1).
    name
        The problem's ``name``.

    Returns
    -------
    dict
        A JSON-ready SPEC section 1 problem with objective ``makespan``; machine ``i`` of the
        file is resource ``Mi``.

    Raises
    ------
    ProblemError
        On malformed input, one message per fault naming the line and what is wrong.
    """
    header, job_lines = _split(text, min_fields=2, max_fields=3, fmt="FJSP")
    errors: list[str] = []
    n_jobs, n_machines = _header_counts(header, errors)
    if len(header.tokens) == 3 and not _NUMBER.fullmatch(header.tokens[2]):
        errors.append(
            f"line {header.number}: the average number of alternatives "
            f"'{header.tokens[2]}' is not a number"
        )
    return _jobs_problem(name, header, job_lines, n_jobs, n_machines, errors, _fjsp_job)


def read_jssp(text: str, name: str) -> dict[str, Any]:
    """Read a classic job shop (JSSP, Taillard in pair form) file as a SPEC problem dict.

    Parameters
    ----------
    text
        The file's content: a first line ``jobs machines``, then one line per job with one
        ``machine duration`` pair per machine, in routing order (machines numbered from 0).
    name
        The problem's ``name``.

    Returns
    -------
    dict
        A JSON-ready SPEC section 1 problem with objective ``makespan``; machine ``i`` of the
        file is resource ``M{i+1}`` and every step has a single alternative.

    Raises
    ------
    ProblemError
        On malformed input, one message per fault naming the line and what is wrong.
    """
    header, job_lines = _split(text, min_fields=2, max_fields=2, fmt="JSSP")
    errors: list[str] = []
    n_jobs, n_machines = _header_counts(header, errors)
    return _jobs_problem(name, header, job_lines, n_jobs, n_machines, errors, _jssp_job)


def _jobs_problem(
    name: str,
    header: _Line,
    job_lines: list[_Line],
    n_jobs: int,
    n_machines: int,
    errors: list[str],
    parse_job: Callable[[_Line, int, int, list[str]], list[_Operation]],
) -> dict[str, Any]:
    """Parse the job lines with `parse_job` and build the problem, or raise every fault."""
    if errors:
        raise ProblemError(errors)
    _check_job_count(header, job_lines, n_jobs, errors)
    jobs = [
        parse_job(line, job, n_machines, errors)
        for job, line in enumerate(job_lines[:n_jobs], start=1)
    ]
    if errors:
        raise ProblemError(errors)
    return _problem(name, n_machines, jobs)


# ---- parsing ------------------------------------------------------------------------------


def _split(text: str, *, min_fields: int, max_fields: int, fmt: str) -> tuple[_Line, list[_Line]]:
    """The header line and the job lines of a file (blank lines skipped)."""
    lines = [
        _Line(number, raw.split())
        for number, raw in enumerate(text.splitlines(), start=1)
        if raw.strip()
    ]
    if not lines:
        raise ProblemError([f"the {fmt} file is empty"])
    header = lines[0]
    if not min_fields <= len(header.tokens) <= max_fields:
        expected = (
            "'jobs machines'"
            if max_fields == 2
            else "'jobs machines' and optionally the average number of alternatives"
        )
        raise ProblemError(
            [
                f"line {header.number}: the first line has {_count(len(header.tokens), 'number')}, "
                f"expected {expected}"
            ]
        )
    return header, lines[1:]


def _header_counts(header: _Line, errors: list[str]) -> tuple[int, int]:
    """The job and machine counts of the first line (each a whole number >= 1)."""
    counts = []
    for token, what in zip(header.tokens[:2], ("jobs", "machines"), strict=True):
        value = _int(token, header.number, f"the number of {what}", errors)
        if value is not None and value < 1:
            errors.append(f"line {header.number}: the number of {what} must be at least 1")
            value = None
        counts.append(value or 0)
    return counts[0], counts[1]


def _check_job_count(header: _Line, job_lines: list[_Line], n_jobs: int, errors: list[str]) -> None:
    """Record a fault when the file has fewer or more job lines than line 1 announces."""
    if len(job_lines) < n_jobs:
        errors.append(
            f"line {header.number} announces {n_jobs} jobs but the file has "
            f"{_count(len(job_lines), 'job line')}"
        )
    for extra in job_lines[n_jobs:]:
        errors.append(
            f"line {extra.number}: unexpected line after the {n_jobs} jobs "
            f"announced on line {header.number}"
        )


def _count(n: int, word: str) -> str:
    """`n` and `word`, plural unless n is 1."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _int(token: str, line: int, what: str, errors: list[str]) -> int | None:
    """`token` as an int, or None after recording a fault."""
    if not _INT.fullmatch(token):
        errors.append(f"line {line}: {what} '{token}' is not a whole number")
        return None
    return int(token)


def _pair(
    machine_tok: str,
    duration_tok: str,
    *,
    line: int,
    where: str,
    n_machines: int,
    first_machine: int,
    errors: list[str],
) -> tuple[int, int] | None:
    """One ``machine duration`` pair, machine renumbered from 1; None after a fault."""
    machine = _int(machine_tok, line, f"{where}: machine", errors)
    duration = _int(duration_tok, line, f"{where}: duration", errors)
    ok = True
    last = first_machine + n_machines - 1
    if machine is not None and not first_machine <= machine <= last:
        errors.append(
            f"line {line}: {where}: machine {machine} is out of range {first_machine}..{last}"
        )
        ok = False
    if duration is not None and duration < 1:
        errors.append(f"line {line}: {where}: duration {duration} must be at least 1 minute")
        ok = False
    if machine is None or duration is None or not ok:
        return None
    return machine - first_machine + 1, duration


def _fjsp_job(line: _Line, job: int, n_machines: int, errors: list[str]) -> list[_Operation]:
    """The operations of one FJSP job line."""
    n = line.number
    toks: Iterator[str] = iter(line.tokens)
    count_tok = next(toks)
    n_ops = _int(count_tok, n, f"job {job}: the number of operations", errors)
    if n_ops is None:
        return []
    if n_ops < 1:
        errors.append(f"line {n}: job {job}: the number of operations must be at least 1")
        return []
    rest = line.tokens[1:]
    pos = 0
    ops: list[_Operation] = []
    for op in range(1, n_ops + 1):
        where = f"job {job} operation {op}"
        if pos >= len(rest):
            errors.append(
                f"line {n}: job {job} announces {_count(n_ops, 'operation')} but the line ends "
                f"after {op - 1}"
            )
            return ops
        k = _int(rest[pos], n, f"{where}: the number of machines", errors)
        if k is None:
            return ops
        if k < 1:
            errors.append(f"line {n}: {where}: the number of machines must be at least 1")
            return ops
        pos += 1
        if pos + 2 * k > len(rest):
            errors.append(
                f"line {n}: {where} announces {_count(k, 'machine/duration pair')} "
                f"but the line has only {_count(len(rest) - pos, 'number')} left"
            )
            return ops
        pairs: _Operation = []
        seen: set[int] = set()
        for i in range(k):
            pair = _pair(
                rest[pos + 2 * i],
                rest[pos + 2 * i + 1],
                line=n,
                where=where,
                n_machines=n_machines,
                first_machine=1,
                errors=errors,
            )
            if pair is None:
                continue
            if pair[0] in seen:
                errors.append(f"line {n}: {where}: machine {pair[0]} is listed twice")
            seen.add(pair[0])
            pairs.append(pair)
        pos += 2 * k
        ops.append(pairs)
    if pos < len(rest):
        errors.append(
            f"line {n}: job {job} has {_count(len(rest) - pos, 'number')} "
            f"after its {_count(n_ops, 'operation')}"
        )
    return ops


def _jssp_job(line: _Line, job: int, n_machines: int, errors: list[str]) -> list[_Operation]:
    """The operations of one JSSP job line (one machine per operation)."""
    n = line.number
    toks = line.tokens
    if len(toks) % 2:
        errors.append(
            f"line {n}: job {job} has {len(toks)} numbers, an odd count "
            "(expected machine/duration pairs)"
        )
        return []
    if len(toks) != 2 * n_machines:
        errors.append(
            f"line {n}: job {job} has {_count(len(toks) // 2, 'machine/duration pair')}, expected "
            f"{n_machines} (one per machine)"
        )
        return []
    ops: list[_Operation] = []
    for op in range(1, len(toks) // 2 + 1):
        where = f"job {job} operation {op}"
        pair = _pair(
            toks[2 * op - 2],
            toks[2 * op - 1],
            line=n,
            where=where,
            n_machines=n_machines,
            first_machine=0,
            errors=errors,
        )
        if pair is not None:
            ops.append([pair])
    return ops


# ---- building -----------------------------------------------------------------------------


def _problem(name: str, n_machines: int, jobs: list[list[_Operation]]) -> dict[str, Any]:
    """The SPEC problem dict of parsed jobs (machines already numbered from 1)."""
    products = []
    orders = []
    for j, ops in enumerate(jobs, start=1):
        job_id = f"J{j}"
        routing = [
            {
                "op": f"o{i}",
                "alternatives": [{"resource": f"M{m}", "duration_min": d} for m, d in alternatives],
            }
            for i, alternatives in enumerate(ops, start=1)
        ]
        products.append({"id": job_id, "routing": routing})
        orders.append(
            {"id": job_id, "product": job_id, "quantity": 1, "due": HORIZON_START, "weight": 1}
        )
    return {
        "name": name,
        "horizon_start": HORIZON_START,
        "sites": [{"id": SITE_ID, "timezone": "UTC", "shifts": []}],
        "resources": [
            {"id": f"M{m}", "site": SITE_ID, "kind": "machine", "capacity": 1}
            for m in range(1, n_machines + 1)
        ],
        "products": products,
        "orders": orders,
        "objective": "makespan",
    }
