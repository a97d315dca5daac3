"""The registry's benchmarks added since test_smoke.py (the visibility of an import to checks:
a registry, a server, an import in another process; the projector's cost per call) still run
at their smoke size and still produce their figures; nothing is measured here."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from benchrun import BENCH, ROOT, by_figure, run_bench


def test_visibility(tmp_path: Path) -> None:
    figures = by_figure(run_bench("bench_visibility.py", out=tmp_path / "f.json"))
    assert set(figures) == {
        "200 imported: visible after",
        "check index load from the projection (in process)",
        "check index load from its snapshot (in process)",
        "check index bytes per subject with measures",
        "server start-up",
    }
    for found in figures.values():
        assert math.isfinite(found[0]["value"]) and found[0]["value"] > 0
    # a listed subject's arrays: its key (18 bytes), where its entries start (8), and per
    # entry a ground number and two days (10)
    assert 26 <= figures["check index bytes per subject with measures"][0]["value"] <= 100


def test_fold(tmp_path: Path) -> None:
    figures = by_figure(run_bench("bench_fold.py", out=tmp_path / "f.json"))
    assert set(figures) == {
        "projector, one subject",
        "projector, one subject apart",
        "projector, batch",
    }
    for found in figures.values():
        assert math.isfinite(found[0]["value"]) and found[0]["value"] > 0
        assert found[0]["unit"] == "ms"


@pytest.mark.postgres
def test_import_on_postgresql_names_its_slow_statements(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH / "bench_import.py"), "--smoke", "--formats", "jsonl",
           "--pg", "auto", "--pg-only", "--statements", "0",
           "--json", str(tmp_path / "f.json")]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    listed = done.stdout.split("the import's slowest statements (the server's log):\n", 1)[1]
    lines = listed.splitlines()
    # every statement the import ran, slowest first: the staging's and the swap's
    assert any("COPY staged_records" in line for line in lines)
    assert any("INSERT INTO" in line and ".records" in line for line in lines)  # a parameter
    timed = [line for line in lines if line.startswith("    ") and " s  " in line]
    seconds = [float(line.split()[0]) for line in timed]
    assert len(seconds) > 10 and seconds == sorted(seconds, reverse=True)


@pytest.mark.postgres
def test_a_terminated_import_bench_leaves_no_server(tmp_path: Path) -> None:
    """SIGTERM (what a job runner sends) stops the throwaway server and removes its files."""
    # where the bench makes the server's directory: one the server's own user can reach
    tmp_path = Path(tempfile.mkdtemp(prefix="bench-term-"))
    tmp_path.chmod(0o755)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    cmd = [sys.executable, str(BENCH / "bench_import.py"), "--records", "200000", "--runs", "3",
           "--formats", "jsonl", "--pg", "auto", "--pg-only"]  # fmt: skip
    bench = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not any(b"ready to accept connections" in log.read_bytes()
                      for log in tmp_path.glob("bench-pg-*/server.log")):  # fmt: skip
            assert bench.poll() is None and time.monotonic() < deadline, "no server started"
            time.sleep(0.1)
        server_dir = next(tmp_path.glob("bench-pg-*"))
        pid = int((server_dir / "data" / "postmaster.pid").read_text().split()[0])
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=120) == 128 + signal.SIGTERM
        assert not server_dir.exists()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        if bench.poll() is None:
            bench.kill()
        shutil.rmtree(tmp_path, ignore_errors=True)
