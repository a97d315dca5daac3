"""``simulate --ray ADDRESS --partitions P``: one run's partitions as tasks on a real cluster (the
``ray_cluster`` fixture of ``tests/conftest.py``: a head and a worker node started with ``ray
start``) write the bytes of the local run, for any P; nothing of Ray without ``--ray``."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialcredit.sim.run import prepare

PERIOD = ("2019-01-01", "2019-12-31")
FILES = [
    "metrics.parquet",
    "metrics_by_region.parquet",
    "metrics_by_city.parquet",
    "summary.json",
    "scenario.json",
    "trace.jsonl",
    "trace/records.jsonl",
    "trace/events.jsonl",
    "trace/state.jsonl",
]


def files(folder: Path) -> dict[str, bytes]:
    return {
        f.relative_to(folder).as_posix(): f.read_bytes()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def local(tmp: Path, regime: str, population: int, trace: int) -> Path:
    """The run in this process, its partitions one after another (as many as memory needs:
    one at this size)."""
    from datetime import date

    out = tmp / f"local-{regime}"
    run = prepare(
        "china", regime, population=population, seed=3, trace=trace,
        start=date.fromisoformat(PERIOD[0]), end=date.fromisoformat(PERIOD[1]),
    )  # fmt: skip
    assert len(run.partition_bounds()) == 1
    run.run(out)
    return out


def cli(out: Path, regime: str, population: int, trace: int, *more: str) -> list[str]:
    return [
        sys.executable, "-m", "socialcredit", "simulate", "--world", "china",
        "--regime", regime, "--population", str(population), "--seed", "3",
        "--start", PERIOD[0], "--end", PERIOD[1], "--trace", str(trace), "--out", str(out),
        *more,
    ]  # fmt: skip


def on_ray(tmp: Path, cluster: Any, regime: str, population: int, trace: int, parts: int) -> Path:
    out = tmp / f"ray-{regime}-{parts}"
    cmd = cli(out, regime, population, trace, "--ray", cluster.address, "--partitions", str(parts))
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, check=False, env=cluster.env
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def same(mine: Path, theirs: Path) -> None:
    a, b = files(mine), files(theirs)
    assert sorted(a) == sorted(b) == sorted(FILES)
    assert [k for k in a if a[k] != b[k]] == []


def test_partitions_on_ray_write_the_bytes_of_the_local_run(
    tmp_path: Path, ray_cluster: Any
) -> None:
    base = local(tmp_path, "unified-score", 20_000, 300)
    assert files(base)["trace/records.jsonl"]  # traced agents with records: their facts travel
    same(on_ray(tmp_path, ray_cluster, "unified-score", 20_000, 300, 3), base)


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["law-bound", "unified-score"])
def test_any_number_of_partitions_on_ray_gives_the_same_bytes(
    tmp_path: Path, ray_cluster: Any, regime: str
) -> None:
    trace = 5_000  # the court list's few debtors among them: their records travel too
    base = local(tmp_path, regime, 60_000, trace)
    assert files(base)["trace/records.jsonl"]
    for parts in (2, 3):
        same(on_ray(tmp_path, ray_cluster, regime, 60_000, trace, parts), base)


def test_the_partitions_are_all_written_and_in_any_order(tmp_path: Path) -> None:
    """What the driver does with the tasks' results, without a cluster: parts that arrive in
    any order give the local bytes; a partition missing or twice is refused."""
    from datetime import date

    from socialcredit.sim import distributed
    from socialcredit.study.ray_runner import ClusterError

    run = prepare(
        "china", "law-bound", population=20_000, seed=3, trace=300, partitions=3,
        start=date.fromisoformat(PERIOD[0]), end=date.fromisoformat(PERIOD[1]),
    )  # fmt: skip
    parts = [run.run_partition(r0, r1) for r0, r1 in run.partition_bounds()]
    assert len(parts) == 3
    run.run(tmp_path / "local")
    distributed.write(run, parts[::-1], tmp_path / "gathered")
    same(tmp_path / "gathered", tmp_path / "local")
    for wrong in (parts[:2], [*parts, parts[0]]):
        with pytest.raises(ClusterError, match=r"came back for the partitions"):
            distributed.write(run, wrong, tmp_path / "wrong")
    assert not (tmp_path / "wrong").exists()


def test_a_worker_that_sees_other_inputs_refuses_to_run() -> None:
    from datetime import date

    from socialcredit.errors import InputError
    from socialcredit.sim import distributed

    recipe = distributed.Recipe(
        "china", "law-bound", population=5_000, seed=3, partitions=2,
        start=date(2019, 1, 1), end=date(2019, 1, 31),
    )  # fmt: skip
    driver = distributed.inputs(recipe.build())
    other = {**driver, "code": {**driver["code"], "source": "0" * 64}}
    with pytest.raises(InputError, match=r"sees other inputs for regions 0-") as err:
        distributed.run_partition(recipe, other, *driver["partitions"][0], "/")
    assert 'code.source: "' in str(err.value) and err.value.field == "ray"
    part = distributed.run_partition(recipe, driver, *driver["partitions"][0], "/")
    assert (part.r0, part.r1) == tuple(driver["partitions"][0])


def test_without_ray_simulate_imports_nothing_of_ray(tmp_path: Path) -> None:
    code = f"""
import sys
from socialcredit.cli import main
sys.argv = {cli(tmp_path / "out", "law-bound", 5_000, 0, "--partitions", "2")[2:]!r}
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
assert (sys.modules.get("ray"), sys.modules.get("socialcredit.sim.distributed")) == (None, None)
import ray  # it is installed: the test would see it had anything imported it
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip().endswith("ok")
    assert (tmp_path / "out" / "metrics.parquet").exists()


def test_without_the_extra_ray_is_named(tmp_path: Path) -> None:
    code = f"""
import sys
sys.modules["ray"] = None  # as if the ray extra were not installed
from socialcredit.cli import main
sys.argv = {cli(tmp_path / "out", "law-bound", 5_000, 0, "--ray", "auto")[2:]!r}
main()
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stderr[-4000:]
    assert "ray: Ray is not installed here: pip install 'socialcredit[ray]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_address_nothing_listens_on_is_refused_at_once(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens on it
    cmd = cli(tmp_path / "out", "law-bound", 5_000, 0, "--ray", f"127.0.0.1:{port}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr[-4000:]
    assert f"ray: cannot reach a Ray cluster at '127.0.0.1:{port}'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_partition_the_cluster_lost_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A partition's task lost by the cluster (its worker crashed more often than Ray retries)
    is named by its regions, and nothing is written."""
    from ray.exceptions import WorkerCrashedError

    from socialcredit.sim import distributed
    from socialcredit.study.ray_runner import ClusterError

    def lost(ref: object) -> object:
        raise WorkerCrashedError()

    monkeypatch.setattr(distributed.ray, "get", lost)
    with pytest.raises(ClusterError, match=r"lost regions 3-6 \(WorkerCrashedError.*nothing was"):
        distributed._get(object(), 3, 7)


def test_a_partitions_own_error_is_raised_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from ray.exceptions import RayTaskError

    from socialcredit.errors import InputError
    from socialcredit.sim import distributed

    def failed(ref: object) -> object:
        cause = InputError("regime.catalogs", "no catalog 'x'")
        raise RayTaskError("run_partition", "traceback", cause)

    monkeypatch.setattr(distributed.ray, "get", failed)
    with pytest.raises(InputError, match="no catalog") as err:
        distributed._get(object(), 0, 1)
    assert err.value.field == "regime.catalogs"
