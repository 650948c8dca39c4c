"""The database engine and one-transaction-per-unit-of-work sessions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL mode (synchronous=NORMAL), foreign keys
    and a busy timeout, PostgreSQL a lock timeout (both 30 s)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # let SQLAlchemy's transaction own BEGIN (pysqlite's own handling is off)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # WAL's recommended durability: a commit waits for no fsync (a checkpoint
            # does), so a write holds the lock a few ms, not tens; a power cut may lose
            # the last commits but never corrupts the file
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # a unit of work takes the write lock at the start: no lost updates between its
            # reads and its writes; a read-only one (see `reading`) runs beside writers
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # a lock not had within 30 s (as SQLite's busy timeout) is an error, answered 503 with
    # Retry-After, rather than a request that waits for ever
    args = {"options": "-c lock_timeout=30000"} if u.get_backend_name() == "postgresql" else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         connect_args=args)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit."""
    return sessionmaker(engine, expire_on_commit=False)


READ_ONLY = "rackplan_read_only"


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only transaction: one consistent snapshot that never waits for writers
    (SQLite WAL readers run beside the writer); nothing in it may write."""
    with factory() as session, session.begin():
        session.connection(execution_options={READ_ONLY: True})
        yield session
        session.rollback()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with factory() as session, session.begin():
        yield session


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add the columns of `metadata`'s existing tables that the database lacks (a schema
    from an older version); each must be nullable. Safe when another process adds the same
    column at the same time. The columns added, as `table.column`."""
    added: list[str] = []
    for table in metadata.sorted_tables:
        insp = inspect(engine)
        if not insp.has_table(table.name):
            continue
        have = {c["name"] for c in insp.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            ddl = f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(ddl)
            except DBAPIError:
                # another process may have added it meanwhile: only then is this fine
                now = {c["name"] for c in inspect(engine).get_columns(table.name)}
                if column.name not in now:
                    raise
                continue
            added.append(f"{table.name}.{column.name}")
    return added
T = TypeVar("T")
# values per `IN (...)` list: PostgreSQL takes at most 65,535 bind parameters in a statement
# and SQLite 32,766, so a list a request sizes is sent in slices of this many
PARAMS_PER_QUERY = 1000


def chunked(values: Sequence[T], size: int = PARAMS_PER_QUERY) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size`, one `IN (...)` query each."""
    for i in range(0, len(values), size):
        yield values[i:i + size]
