"""Fixtures for the service tests: a live server per test (see ``live.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live import Live, serve

from socialcredit.policy.loader import Loaded
from socialcredit.registry.config import registry_catalog


@pytest.fixture(scope="session")
def service_catalog() -> Loaded:
    return registry_catalog()


@pytest.fixture
def live(tmp_path: Path, service_catalog: Loaded, request: pytest.FixtureRequest) -> Iterator[Live]:
    """A server over a fresh SQLite ledger (or PostgreSQL with ``indirect`` param "postgres")."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path}/service.db"
    yield from serve(url, service_catalog)
