"""The database layer: write transactions serialise, reads never wait for a writer."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from app.db import make_engine, reading, session_factory, transaction


def test_reads_run_beside_a_writer_and_see_committed_data(db_url: str) -> None:
    """While a write transaction holds its lock for a second, a read answers at once and
    sees only what was committed before; after the commit it sees the new row."""
    engine = make_engine(db_url)
    f = session_factory(engine)
    with transaction(f) as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    started = threading.Event()

    def writer() -> None:
        with transaction(f) as s:
            s.execute(text("INSERT INTO t VALUES (2)"))
            started.set()
            time.sleep(1.0)

    th = threading.Thread(target=writer)
    th.start()
    assert started.wait(10)
    t0 = time.monotonic()
    with reading(f) as s:
        n = s.execute(text("SELECT count(*) FROM t")).scalar()
    assert time.monotonic() - t0 < 0.5
    assert n == 1
    th.join()
    with reading(f) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 2
    engine.dispose()


def test_a_failed_write_leaves_nothing(db_url: str) -> None:
    """An exception inside a transaction rolls back every statement of it."""
    engine = make_engine(db_url)
    f = session_factory(engine)
    with transaction(f) as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    try:
        with transaction(f) as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with reading(f) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()
