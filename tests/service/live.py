"""A real server for the service tests: uvicorn on a free loopback port, over a fresh ledger
(SQLite, or PostgreSQL for tests that ask for ``backend = "postgres"``), with every bundled
admissible catalog in force and the registry's day fixed, and keys for each role."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import uvicorn

from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger
from socialcredit.service import server as serving
from socialcredit.service.app import create_app
from socialcredit.service.limits import DEFAULT_LIMITS, Limits

TODAY = date(2026, 6, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Live:
    base: str
    ledger: Ledger
    catalog: Loaded
    app: object
    tokens: dict[str, str] = field(default_factory=dict)
    today: list[date] = field(default_factory=lambda: [TODAY])
    server: uvicorn.Server | None = None

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def key(self, role: str, principal: str, name: str) -> str:
        token = self.ledger.create_key(role=role, principal=principal, actor="test")
        self.tokens[name] = token
        return token


def serve(
    url: str,
    catalog: Loaded,
    *,
    portal: bool = False,
    studies: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
    filing_process: bool = False,
) -> Iterator[Live]:
    ledger = Ledger.open(url)
    ledger.init()
    today = [TODAY]
    app = create_app(ledger, catalog, today=lambda: today[0], poll_seconds=0.2, portal=portal,
                     studies=studies, filing_process=filing_process)  # fmt: skip
    port = _free_port()
    # the server `socialcredit serve` runs: the check path is answered in its protocol
    server = uvicorn.Server(
        serving.config(app, host="127.0.0.1", port=port, lifespan="on", limits=limits)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # start-up warms the projector's compiled kernels: about a second from Numba's cache, a
    # minute on a machine that has never compiled them
    deadline = time.monotonic() + 300
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    live = Live(f"http://127.0.0.1:{port}", ledger, catalog, app, today=today, server=server)
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        ledger.close()


def person_id(i: int) -> str:
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


def org_id(i: int) -> str:
    return organisation_code(110000, i)
