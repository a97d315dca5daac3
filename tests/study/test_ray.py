"""``study run --ray``: the same bytes as a local run, on a real cluster (``conftest.py``: a head
and a worker node started with ``ray start``); nothing of Ray without ``--ray``; a worker killed
or a driver interrupted mid-study loses no finished result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from test_study import STUDY  # two runs, a sweep and two seeds: 8 small simulations

from socialcredit.study import report, runner
from socialcredit.study.spec import load_study

# simulations long enough (a few seconds each) to be caught running
LONG = """
name = "long"
population = 150000
seeds = [1, 2, 3, 4, 5, 6]
threads = 1

[[runs]]
name = "pilot"
regime = "pilot-2018"
scenario = "pilot-2018"
"""


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "socialcredit", "study", "run", *args]


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path, with its bytes."""
    return {
        f.relative_to(folder).as_posix(): f.read_bytes()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def local_run(tmp: Path, text: str) -> Path:
    (tmp / "study.toml").write_text(text)
    spec, source = load_study(tmp / "study.toml"), text
    out = tmp / "local"
    runner.run_study(spec, out, source=source)
    report.render(out)
    return out


def test_a_study_on_ray_writes_the_bytes_a_local_run_writes(
    tmp_path: Path, ray_cluster: Any
) -> None:
    local = local_run(tmp_path, STUDY)  # first: the simulator's compiled code is then cached
    out = tmp_path / "ray"
    cmd = cli(str(tmp_path / "study.toml"), "--out", str(out), "--ray", ray_cluster.address)
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, check=False, env=ray_cluster.env
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "0 simulation(s) reused, 8 to run" in done.stdout
    # the report, every result row, every simulation's folder, resolved.json: the same bytes
    assert (out / "report.html").read_bytes() == (local / "report.html").read_bytes()
    mine, theirs = files(out), files(local)
    assert sorted(mine) == sorted(theirs)
    assert [k for k in mine if mine[k] != theirs[k]] == []
    assert not list(out.rglob("*.partial"))
    # and it resumes like a local run: nothing left to do
    again = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, check=False, env=ray_cluster.env
    )
    assert again.returncode == 0, again.stderr[-4000:]
    assert "8 simulation(s) reused, 0 to run" in again.stdout


def test_without_ray_nothing_of_ray_is_imported(tmp_path: Path) -> None:
    (tmp_path / "study.toml").write_text(STUDY.replace("seeds = [1, 2]", "seeds = [1]"))
    code = f"""
import sys
from pathlib import Path
import socialcredit, socialcredit.cli, socialcredit.cli.study
from socialcredit.study import report, runner
from socialcredit.study.spec import load_study
runner.run_study(load_study({str(tmp_path / "study.toml")!r}), Path({str(tmp_path / "out")!r}))
report.render(Path({str(tmp_path / "out")!r}))
assert (sys.modules.get("ray"), sys.modules.get("socialcredit.study.ray_runner")) == (None, None)
import ray  # it is installed: the test would see it had anything imported it
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip().endswith("ok")


def test_without_the_extra_ray_is_named(tmp_path: Path) -> None:
    (tmp_path / "study.toml").write_text(STUDY.replace("seeds = [1, 2]", "seeds = [1]"))
    code = f"""
import sys
sys.modules["ray"] = None  # as if the ray extra were not installed
from socialcredit.cli import main
sys.argv = ["socialcredit", "study", "run", {str(tmp_path / "study.toml")!r},
            "--out", {str(tmp_path / "out")!r}, "--ray", "auto"]
main()
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stderr[-4000:]
    assert "ray: Ray is not installed here: pip install 'socialcredit[ray]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_an_address_nothing_listens_on_is_refused_at_once(tmp_path: Path) -> None:
    import socket

    (tmp_path / "study.toml").write_text(STUDY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens on it
    cmd = cli(str(tmp_path / "study.toml"), "--out", str(tmp_path / "out"), "--ray")
    done = subprocess.run(
        [*cmd, f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr[-4000:]
    assert f"ray: cannot reach a Ray cluster at '127.0.0.1:{port}'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_worker_that_sees_other_inputs_refuses_to_run(tmp_path: Path) -> None:
    from socialcredit.errors import InputError
    from socialcredit.study import ray_runner

    (tmp_path / "study.toml").write_text(STUDY)
    spec = load_study(tmp_path / "study.toml")
    task = runner.tasks(spec)[0]
    inputs = {**runner.resolve(spec, task.run, task.point), "seed": task.seed}
    other = {**inputs, "code": {**inputs["code"], "source": "0" * 64}}
    with pytest.raises(InputError, match=r"sees other inputs for court__base__seed-1") as err:
        ray_runner.simulate(spec, task, other, str(tmp_path))
    assert 'code.source: "' in str(err.value) and err.value.field == "ray"


def test_a_simulation_the_cluster_lost_is_named_and_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray.exceptions import WorkerCrashedError

    from socialcredit.errors import SocialCreditError
    from socialcredit.study import ray_runner

    def lost(ref: object) -> object:
        raise WorkerCrashedError()

    (tmp_path / "study.toml").write_text(STUDY)
    task = runner.tasks(load_study(tmp_path / "study.toml"))[0]
    monkeypatch.setattr(ray_runner.ray, "get", lost)
    with pytest.raises(SocialCreditError, match=r"the cluster lost court__base__seed-1 \(Worker"):
        ray_runner._get(object(), task)


def _wait_for_rows(out: Path, n: int, proc: subprocess.Popen[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list((out / "results").glob("*.parquet"))) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the study ended early: {proc.stderr and proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError(f"no {n} result(s) in {timeout} s")


def _stamps(out: Path) -> dict[str, int]:
    return {f.name: f.stat().st_mtime_ns for f in (out / "results").glob("*.parquet")}


def orphans() -> list[Path]:
    """Scratch folders of simulations whose worker process is gone."""
    out = []
    for folder in Path(tempfile.gettempdir()).glob("socialcredit-sim-*"):
        pid = folder.name.split("-")[2]
        if not Path(f"/proc/{pid}").exists():
            out.append(folder)
    return out


@contextmanager
def running(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``cmd`` started in the background; killed at the end if it still runs."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)


def on_cluster(tmp: Path, cluster: Any) -> tuple[Path, Path, list[str]]:
    """The long study run locally; the folder for its run on ``cluster`` and the command."""
    local = local_run(tmp, LONG)
    out = tmp / "ray"
    return local, out, cli(str(tmp / "study.toml"), "--out", str(out), "--ray", cluster.address)


@pytest.mark.slow
def test_a_worker_killed_mid_study_loses_nothing(tmp_path: Path, ray_cluster: Any) -> None:
    local, out, cmd = on_cluster(tmp_path, ray_cluster)
    with running(cmd, ray_cluster.env) as proc:
        _wait_for_rows(out, 1, proc)
        deadline = time.monotonic() + 60
        while not (busy := ray_cluster.running()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert busy, "no simulation running to kill"
        finished = _stamps(out)
        os.kill(busy[0], signal.SIGKILL)  # its task runs again (Ray's retry)
        _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-4000:]
    after = _stamps(out)
    assert {k: after[k] for k in finished} == finished  # nothing finished was run again
    assert files(out) == files(local)  # the report and every simulation: the same bytes
    # the killed worker's scratch folder went with the next simulation on its machine
    assert not list(Path(tempfile.gettempdir()).glob(f"socialcredit-sim-{busy[0]}-*"))
    assert orphans() == []


@pytest.mark.slow
def test_an_interrupted_study_on_ray_resumes(tmp_path: Path, ray_cluster: Any) -> None:
    local, out, cmd = on_cluster(tmp_path, ray_cluster)
    with running(cmd, ray_cluster.env) as proc:
        _wait_for_rows(out, 2, proc)
        proc.kill()  # the driver dies mid-study: its tasks on the cluster end with it
        proc.communicate(timeout=60)
    finished = _stamps(out)
    assert 2 <= len(finished) < 6
    again = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, check=False, env=ray_cluster.env
    )
    assert again.returncode == 0, again.stderr[-4000:]
    assert f"{len(finished)} simulation(s) reused, {6 - len(finished)} to run" in again.stdout
    after = _stamps(out)
    assert {k: after[k] for k in finished} == finished
    assert files(out) == files(local)
    assert not list(out.rglob("*.partial"))
    assert orphans() == []  # the workers killed with the driver left no scratch folder
