"""What the service refuses and why, in its own terms: the errors the services (and the
routes' own checks) raise, free of HTTP.

Each kind of refusal is one class; `app.errors` gives each its HTTP status and answers it as
problem+json (in one place), and the CLI catches them by type. An error carries a one-line
`detail` for a person, optionally a `title` naming the kind of refusal more closely than
the class does ("Invalid order file"), and `faults`: each thing at fault, named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Required, TypedDict


class Fault(TypedDict, total=False):
    """One thing at fault: what is wrong (`message`) and where, by the names that locate it
    in the request: a `field` path (`orders[3].due`, `If-Match`), an `id`, a file's `row`
    (the header is row 1), `column` and cell `value`, a batch `index` and `event_id`."""

    message: Required[str]
    field: str
    id: str
    row: int
    column: str | None
    value: str | None
    index: int
    event_id: str


class DomainError(Exception):
    """A request the service refuses: `detail`, an optional `title` and the `faults`."""

    def __init__(
        self, detail: str, *, title: str | None = None, faults: Sequence[Fault] = (),
        fault_count: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.title = title
        self.faults = list(faults)
        # how many faults there are in all (`faults` may hold only the first ones)
        self.fault_count = len(self.faults) if fault_count is None else fault_count


class NotFound(DomainError):
    """A thing the request names (a job, an order, a factory version) does not exist."""


class Conflict(DomainError):
    """The state of things forbids it now: no factory yet, no open orders, a job that has
    finished, a schedule that is not a plan, an event id reused with other content."""


class Invalid(DomainError):
    """The input is wrong; `faults` names every fault (at least one)."""

    def __init__(
        self, detail: str, faults: Sequence[Fault], *, title: str | None = None,
        fault_count: int | None = None,
    ) -> None:
        super().__init__(detail, title=title, faults=faults, fault_count=fault_count)

    @classmethod
    def listing(cls, faults: Sequence[Fault], *, title: str | None = None) -> Invalid:
        """The error for `faults`, its detail the first fault's message and how many more."""
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        return cls(faults[0]["message"] + more, faults, title=title)


class PreconditionFailed(DomainError):
    """A condition the caller made the request on no longer holds (the publication it
    expected to replace is not the current one)."""


class TooLarge(DomainError):
    """The input is larger than the service's limit."""


class UnsupportedFormat(DomainError):
    """The input is in a format the service does not read."""


class Unavailable(DomainError):
    """Something the service needs (the database) does not answer."""


class QueueFull(DomainError):
    """The job queue holds as many jobs as the service allows; try again in
    `retry_after` seconds."""

    def __init__(self, detail: str, *, retry_after: int,
                 faults: Sequence[Fault] = ()) -> None:
        super().__init__(detail, title="Too Many Queued Jobs", faults=faults)
        self.retry_after = retry_after


class Unauthenticated(DomainError):
    """The caller is not known: no API key, or one that is not valid."""


class Forbidden(DomainError):
    """The caller's role may not do what the request asks."""
