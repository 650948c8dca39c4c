"""Time helpers: UTC text stamps as the database keeps them."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(t: datetime) -> str:
    """`t` as UTC text `YYYY-MM-DDTHH:MM:SSZ` (seconds dropped below one)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    """The inverse of `stamp`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
