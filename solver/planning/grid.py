"""Time buckets of the planning model: a bucket size in whole minutes and the grid it makes.

Buckets are consecutive spans of one fixed length from `horizon_start`: bucket `b` is
``[b * length, (b + 1) * length)`` minutes for ``b < n``, and bucket `n` (the overflow) is
everything from ``n * length`` on, with no capacity limit, so that no schedule, however
late, falls outside the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.problem import ProblemError

DAY = 1440
WEEK = 7 * DAY
NAMED = {"day": DAY, "week": WEEK}


def bucket_minutes(value: object, field: str = "bucket") -> int:
    """A bucket size as whole minutes: ``"day"``, ``"week"``, or a positive whole number
    of minutes (an int, a whole float, or its text).

    Parameters
    ----------
    value
        The size as given by the caller.
    field
        The name the error message gives the setting.

    Raises
    ------
    ProblemError
        When the size is not ``day``, ``week`` or a positive whole number of minutes.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in NAMED:
            return NAMED[text]
        try:
            number: float = float(text)
        except ValueError:
            raise ProblemError([
                f"{field}: '{value}' is not 'day', 'week' or a whole number of minutes"
            ]) from None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ProblemError([f"{field}: {value!r} is not 'day', 'week' or a number of minutes"])
    else:
        number = float(value)
    if not math.isfinite(number) or number != int(number):
        raise ProblemError([f"{field}: {value!r} minutes is not a whole number of minutes"])
    if number < 1:
        raise ProblemError([f"{field}: {value!r} minutes must be at least 1"])
    return int(number)


@dataclass(frozen=True, slots=True)
class Grid:
    """`n` buckets of `length` minutes from minute 0, then the overflow bucket `n`."""

    length: int
    n: int

    @property
    def end(self) -> int:
        """The first minute of the overflow bucket (the model's horizon)."""
        return self.n * self.length

    def start(self, b: int) -> int:
        """First minute of bucket `b`."""
        return b * self.length

    def stop(self, b: int) -> float:
        """First minute after bucket `b` (infinite for the overflow bucket)."""
        return math.inf if b >= self.n else (b + 1) * self.length

    def of(self, t: int) -> int:
        """The bucket holding minute `t` (minutes before 0 fall in bucket 0)."""
        return min(max(t, 0) // self.length, self.n)
