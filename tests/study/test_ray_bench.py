"""``bench/bench_ray.py`` still runs and produces its figures (its smoke size: a private Ray
cluster of one CPU, 4 simulations); and ``--ray local`` starts and stops a private cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_ray_benchmark_runs_at_its_smoke_size(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    cmd = [sys.executable, str(ROOT / "bench" / "bench_ray.py"), "--smoke", "--json", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = {f["figure"]: f for f in orjson.loads(out.read_bytes())["figures"]}
    assert figures["study, local runner"]["value"] > 0
    assert (
        figures["study on Ray, 1 CPU (warm)"]["peer_value"]
        == figures["study, local runner"]["value"]
    )
    assert "Ray overhead per simulation (1 CPU - local) / n" in figures
    assert any(name.startswith("actor round trip") for name in figures)


@pytest.mark.slow
def test_ray_local_starts_a_private_cluster_and_stops_it(tmp_path: Path) -> None:
    from test_ray import STUDY, files, local_run

    local = local_run(tmp_path, STUDY.replace("seeds = [1, 2]", "seeds = [1]"))
    out = tmp_path / "ray"
    cmd = [sys.executable, "-m", "socialcredit", "study", "run", str(tmp_path / "study.toml"),
           "--out", str(out), "--ray", "local"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["HOME"] = str(tmp_path)
    scratch = Path(tempfile.mkdtemp(dir="/tmp"))  # short: Ray's sockets go under it
    env["TMPDIR"] = str(scratch)
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, check=False, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert files(out) == files(local)
    assert not (tmp_path / ".ray").exists()  # its token was its own, not written to ~/.ray
    assert list(scratch.iterdir()) == []  # its logs, sockets and scratch folders went with it
    scratch.rmdir()
