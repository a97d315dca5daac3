"""Shared fixtures: a throwaway PostgreSQL server, fresh databases, test catalogs, valid IDs.

PostgreSQL: the first test marked ``postgres`` starts one server for the whole session
(``initdb`` on a temporary directory, ``postgres`` listening on a Unix socket only); every test
gets a database of its own (``CREATE DATABASE ... TEMPLATE template0``), dropped afterwards.
The server binaries must be installed (``scripts/ensure-postgres`` does it; ``make test`` runs
it): without ``initdb`` the fixture fails, it never skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import Loaded, load

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------------------------------
# Catalogs and identifiers


@pytest.fixture(scope="session")
def registry_catalog() -> Loaded:
    """tests/data/registry.toml: court, city and market-regulator record types, one role type."""
    return load(DATA / "registry.toml")


def person_id(i: int) -> str:
    """The ``i``-th synthetic valid resident ID (Beijing Dongcheng, distinct for i < 18M)."""
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


def org_id(i: int) -> str:
    """The ``i``-th synthetic valid Unified Social Credit Code (registered in Beijing)."""
    return organisation_code(110000, i)


@dataclass(frozen=True)
class Ids:
    person = staticmethod(person_id)
    org = staticmethod(org_id)


@pytest.fixture(scope="session")
def ids() -> Ids:
    """``ids.person(i)`` / ``ids.org(i)``: valid synthetic subject identifiers."""
    return Ids()


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")],
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    socket_dir: str
    port: int

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.socket_dir}&port={self.port}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.socket_dir,
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for this test session, on a Unix socket in a temporary directory."""
    initdb = _find_bin("initdb")
    if initdb is None:
        pytest.fail(
            "PostgreSQL server binaries not found (no initdb on PATH or in "
            "/usr/lib/postgresql/*/bin): run scripts/ensure-postgres (make test does)",
            pytrace=False,
        )
    postgres = str(Path(initdb).with_name("postgres"))
    if not Path(postgres).exists():
        postgres = _find_bin("postgres") or postgres
    root = tempfile.mkdtemp(prefix="sc-pg-")
    data = os.path.join(root, "data")
    # postgres refuses to run as root: run it as the postgres system user then
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
        shutil.chown(root, "postgres", "postgres")
    log_path = os.path.join(root, "server.log")
    try:
        init = subprocess.run(
            [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            **as_user,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
        port = _free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    postgres,
                    "-D",
                    data,
                    "-k",
                    root,
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                **as_user,
            )
        server = PgServer(root, port)
        try:
            _wait_ready(server, proc, log_path)
            yield server
        finally:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PgServer, proc: subprocess.Popen[bytes], log_path: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            log = Path(log_path).read_text(errors="replace")
            pytest.fail(f"postgres exited with {proc.returncode}:\n{log}", pytrace=False)
        try:
            with server.admin():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail("postgres did not accept connections within 30 s", pytrace=False)
            time.sleep(0.1)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with pg_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield pg_server.url(name)
    finally:
        with pg_server.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"
