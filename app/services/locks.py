"""Named locks in the database, so that processes on any machine sharing it take turns
(one nightly reschedule at a time).

A lock is a row of `locks`. Taking it is one atomic statement — insert, or take over a
row whose `expires_at` has passed (or that the same holder already has) — so two takers
never both succeed; a holder that dies without releasing blocks others only until its
lock expires. Times are the wall clock (not `RACKPLAN_NOW`: a replay's fixed clock would
make a lock never or always expire).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.clock import stamp
from app.db import reading, transaction
from app.tables import Lock

RESCHEDULE = "reschedule"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock and until when (as stored)."""

    holder: str
    expires_at: str


def new_holder() -> str:
    """A holder name that says where it runs and is unique: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(
    sessions: sessionmaker[Session], name: str, holder: str, ttl: timedelta,
    now: datetime | None = None,
) -> bool:
    """Take lock `name` for `holder` until `now + ttl`: True when taken (also when
    `holder` had it already, which extends it), False while another holder's lock has not
    expired."""
    now = now or datetime.now(UTC)
    values = {"name": name, "holder": holder, "acquired_at": stamp(now),
              "expires_at": stamp(now + ttl)}
    with transaction(sessions) as s:
        dialect = s.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        ins = insert(Lock).values(**values)
        stmt = ins.on_conflict_do_update(
            index_elements=[Lock.name],
            set_={"holder": ins.excluded.holder, "acquired_at": ins.excluded.acquired_at,
                  "expires_at": ins.excluded.expires_at},
            where=(Lock.expires_at <= stamp(now)) | (Lock.holder == holder),
        ).returning(Lock.holder)
        got: str | None = s.scalar(stmt)
    return got == holder


def release(sessions: sessionmaker[Session], name: str, holder: str) -> bool:
    """Give lock `name` back; False when `holder` no longer had it (it expired and was
    taken over)."""
    with transaction(sessions) as s:
        got = s.scalar(delete(Lock).where(Lock.name == name, Lock.holder == holder)
                       .returning(Lock.name))
    return got is not None


def current(sessions: sessionmaker[Session], name: str) -> Holder | None:
    """Who has lock `name` (expired or not), or None."""
    with reading(sessions) as s:
        row = s.scalars(select(Lock).where(Lock.name == name)).first()
        return Holder(row.holder, row.expires_at) if row else None


__all__ = ["RESCHEDULE", "Holder", "acquire", "current", "new_holder", "release"]
