"""Fixtures for the service tests: a live server per test (see ``live.py``), and Debian's
Chromium driven by Playwright for the portal's tests (one per module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live import Live, serve
from playwright.sync_api import Browser, sync_playwright

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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (make test does)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
