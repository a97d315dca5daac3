"""Shared fixtures: a throwaway PostgreSQL server, fresh databases, test catalogs, valid IDs.

PostgreSQL: the first test marked ``postgres`` starts one server for the whole session
(``bench/throwaway_pg.py``: ``initdb`` on a temporary directory, ``postgres`` listening on a
Unix socket only, gone with the session however it ends); every test
gets a database of its own (``CREATE DATABASE ... TEMPLATE template0``), dropped afterwards.
The server binaries must be installed (``scripts/ensure-postgres`` does it; ``make test`` runs
it): without ``initdb`` the fixture fails, it never skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import Loaded, load

BENCH = Path(__file__).parents[1] / "bench"
if str(BENCH) not in sys.path:  # the throwaway PostgreSQL server the benchmarks start too
    sys.path.insert(0, str(BENCH))

from throwaway_pg import NoServer, Server, throwaway  # noqa: E402

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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """A PostgreSQL server for this test session, on a Unix socket in a temporary directory
    (``bench/throwaway_pg.py``: the benchmarks' too), without flushes: fsync, synchronous
    commits and full page writes off."""
    try:
        with throwaway(
            ("fsync=off", "synchronous_commit=off", "full_page_writes=off"),
            prefix="sc-pg-",
            fast_initdb=True,
        ) as server:
            yield server
    except NoServer as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
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


# --------------------------------------------------------------------------------------------
# A Ray cluster (tests/study: study run --ray; tests/sim: simulate --ray)
#
# A real Ray cluster for the tests of ``study run --ray`` and ``simulate --ray``: a head and one
# worker node on this machine, started with ``ray start --block`` in a temporary folder (logs,
# sessions, sockets), no dashboard, every port it listens on chosen free, one CPU per node, token
# authentication with a token of its own (given to the tests' drivers in ``env``; nothing is read
# from or written to ``~/.ray``). One cluster serves a test module; after its last test both
# nodes are stopped and every process they started is gone (each is signalled by its pid; none
# outlives the fixture).
#
# Ray is a dependency of the tests (``make test`` installs the ``ray`` extra): without the
# ``ray`` command the fixture fails, it never skips.

RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class RayCluster:
    address: str
    temp_dir: Path
    env: dict[str, str]
    """The environment for a driver of this cluster (its token)."""
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def processes(self) -> list[int]:
        """Every process of the cluster (the nodes, their daemons and workers)."""
        pids = [p.pid for p in self.nodes if p.poll() is None]
        for p in self.nodes:
            pids += children(p.pid)
        return pids

    def running(self, task: str = "ray::simulate") -> list[int]:
        """The cluster's worker processes now running a task whose name starts so."""
        return [pid for pid in self.processes() if cmdline(pid).startswith(task)]

    def stop(self) -> None:
        pids = self.processes()
        for node in reversed(self.nodes):  # the worker node first, then the head
            if node.poll() is None:
                node.send_signal(signal.SIGINT)  # `ray start --block` stops what it started
                try:
                    node.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.kill()
                    node.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _start(args: list[str], cluster: RayCluster, log: str) -> subprocess.Popen[bytes]:
    with open(cluster.temp_dir / log, "wb") as out:
        return subprocess.Popen(
            [str(RAY), "start", "--block", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cluster.env,
            start_new_session=True,
        )


def _node_ports() -> list[str]:
    return [
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        "--object-store-memory=100000000",
        "--num-cpus=1",
        "--node-ip-address=127.0.0.1",
    ]


def _wait_for(cluster: RayCluster, nodes: int, timeout: float = 90) -> None:
    """Until ``nodes`` raylets have registered (read from the cluster's own status)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        for node in cluster.nodes:
            if node.poll() is not None:
                logs = "".join(
                    f.read_text(errors="replace")[-2000:] for f in cluster.temp_dir.glob("*.log")
                )
                raise RuntimeError(f"a Ray node exited ({node.returncode}):\n{logs}")
        done = subprocess.run(
            [str(RAY), "status", f"--address={cluster.address}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=cluster.env,
        )
        last = done.stdout + done.stderr
        if done.returncode == 0 and last.count("node_") >= nodes:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray cluster did not come up with {nodes} nodes:\n{last[-2000:]}")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """A head and a worker node, one CPU each, on 127.0.0.1; ``address`` is the head's."""
    if not RAY.exists():
        pytest.fail(f"{RAY} is missing: install the ray extra (make test does)")
    # sockets live under the temporary folder: keep its path short (a Unix socket's is < 108)
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    port = free_port()
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    cluster = RayCluster(address=f"127.0.0.1:{port}", temp_dir=temp_dir, env=env)
    try:
        cluster.nodes.append(
            _start(
                [
                    "--head",
                    f"--port={port}",
                    "--include-dashboard=false",
                    f"--dashboard-port={free_port()}",
                    f"--temp-dir={temp_dir}",
                    "--disable-usage-stats",
                    *_node_ports(),
                ],
                cluster,
                "head.log",
            )
        )
        _wait_for(cluster, 1)
        cluster.nodes.append(
            _start([f"--address={cluster.address}", *_node_ports()], cluster, "worker.log")
        )
        _wait_for(cluster, 2)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


LockHeld = Callable[..., AbstractContextManager[None]]


@pytest.fixture
def lock_held() -> LockHeld:
    """``lock_held(ledger, "writers")``: a context in which the ledger's write lock is held
    from another connection, as another process would hold it (SQLite's write lock on the
    database file; PostgreSQL's advisory lock of the audit chain). ``lock_held(ledger,
    "journal")``: the read journal's instead (its own file on SQLite; on PostgreSQL the table
    ``audit_journal`` locked against inserts)."""
    return _lock_held


@contextmanager
def _lock_held(ledger: Any, which: str = "writers") -> Iterator[None]:
    from socialcredit.registry.ledger import _AUDIT_LOCK

    path = ledger.sqlite_path
    if path is not None:
        conn = sqlite3.connect(path if which == "writers" else ledger.reads_path,
                               isolation_level=None)  # fmt: skip
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    url = make_url(ledger.url)
    with psycopg.connect(host=str(url.query["host"]), port=int(str(url.query["port"])),
                         user=url.username, dbname=url.database) as pg:  # fmt: skip
        if which == "writers":
            pg.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
        else:
            pg.execute("LOCK TABLE audit_journal IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            pg.rollback()
