"""Time helpers: UTC text stamps as the database keeps them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """The wall clock in UTC: what job times record (when the server did things), even
    where the settings replace the planning clock (replays)."""
    return datetime.now(UTC)


def stamp(t: datetime) -> str:
    """`t` as UTC text `YYYY-MM-DDTHH:MM:SSZ` (seconds dropped below one), the one form
    every stored time has; the year always has four digits (`strftime`'s `%Y` drops the
    zeros of a year before 1000 on some platforms)."""
    u = t.astimezone(UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}Z")


def parse_stamp(text: str) -> datetime:
    """The inverse of `stamp`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def floor_minute(t: datetime) -> datetime:
    """`t` without its seconds (SPEC times are whole minutes)."""
    return t.replace(second=0, microsecond=0)


def ceil_minute(t: datetime) -> datetime:
    """The first whole minute at or after `t`."""
    down = floor_minute(t)
    return down if down == t else down + timedelta(minutes=1)
