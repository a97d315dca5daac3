"""A real Ray cluster for the tests of ``study run --ray``: a head and one worker node on this
machine, started with ``ray start --block`` in a temporary folder (logs, sessions, sockets),
no dashboard, every port it listens on chosen free, one CPU per node, token authentication
with a token of its own (given to the tests' drivers in ``env``; nothing is read from or
written to ``~/.ray``). One cluster serves a test module; after its last test both nodes
are stopped and every process they started is gone (each is signalled by its pid; none outlives
the fixture).

Ray is a dependency of the tests (``make test`` installs the ``ray`` extra): without the
``ray`` command the fixture fails, it never skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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
