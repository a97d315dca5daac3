"""The throwaway PostgreSQL server of the tests and the benchmarks (``bench/throwaway_pg.py``):
no server outlives the process that started it, even one killed outright, and a later start
removes the files such a process left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from benchrun import BENCH

import throwaway_pg

OWNER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from throwaway_pg import throwaway
with throwaway(prefix="orphan-", fast_initdb=True) as server:
    print(server.root, flush=True)
    time.sleep(600)
"""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
def test_a_killed_owner_takes_its_server_along_and_a_later_start_removes_its_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    temp = Path(tempfile.mkdtemp(prefix="throwaway-"))
    temp.chmod(0o755)  # the server's own user reaches its directory
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(BENCH)],
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        root = Path(owner.stdout.readline().strip())
        assert root.parent == temp and root.name.startswith(f"orphan-{owner.pid}-")
        postmaster = int((root / "data" / "postmaster.pid").read_text().split()[0])
        # a directory whose owner is alive (this process) is never taken for an orphan
        mine = Path(tempfile.mkdtemp(prefix=f"orphan-{os.getpid()}-"))
        assert throwaway_pg.remove_orphans("orphan-") == []

        owner.send_signal(signal.SIGKILL)  # no cleanup of its own runs
        owner.wait(timeout=30)
        assert _gone(postmaster, within=30), "the server outlived its owner"
        assert root.exists()  # left behind, until a later start
        assert throwaway_pg.remove_orphans("orphan-") == [root]
        assert not root.exists() and mine.exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
        shutil.rmtree(temp, ignore_errors=True)
