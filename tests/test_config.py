"""The settings: defaults that do not depend on where rackplan is installed."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from app.config import Settings


def test_default_database_is_under_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without RACKPLAN_DATABASE_URL the database is var/rackplan.db relative to the
    working directory (an installed package never writes into site-packages)."""
    monkeypatch.delenv("RACKPLAN_DATABASE_URL", raising=False)
    url = make_url(Settings().database_url)
    assert url.get_backend_name() == "sqlite"
    assert url.database == "var/rackplan.db"

