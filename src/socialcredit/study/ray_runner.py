"""Studies on a Ray cluster: ``socialcredit study run STUDY --ray ADDRESS``.

Each simulation the study still needs is one Ray task (:func:`simulate`). On its worker the task
first checks that it sees the very inputs the driver planned with (the same code of the
simulator, scenario, regime and content of its catalogs: :func:`runner.resolve`), then runs the
engine into a temporary folder on the worker's own disk, and returns the engine's summary and
every file it wrote, as bytes. The driver writes those files into the simulation's staging
folder and finishes it with the code a local run uses (:func:`runner.finish`: ``inputs.json``,
the rename into place, the result row), as each task ends.

So the output folder need only be on the driver's disk (workers share no storage with it and
never write there), rows and folders are byte for byte a local run's, and an interrupted study
resumes as a local one does: every finished simulation is on disk, the rest run again.

A task whose worker dies (killed, out of memory, its node lost) is retried by Ray up to
:data:`RETRIES` times; a task that raises is not (the error is the simulation's and would come
again): the driver writes what has finished, cancels the rest and raises it.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import ray
from ray.exceptions import RayError, RayTaskError

from socialcredit.errors import InputError, SocialCreditError
from socialcredit.scratch import owned_tempdir
from socialcredit.study import runner
from socialcredit.study.runner import Task
from socialcredit.study.spec import Study

RETRIES = 3
"""How many times Ray runs a task again whose worker died."""


@dataclass(frozen=True)
class Outcome:
    """What a task sends back: the engine's summary and its files (path in the simulation's
    folder -> bytes), and where it ran."""

    summary: dict[str, Any]
    files: dict[str, bytes]
    node: str
    pid: int


def simulate(study: Study, task: Task, inputs: dict[str, Any], cwd: str) -> Outcome:
    """One simulation, on a worker. ``cwd``: the driver's working directory, where a study's
    relative paths to scenario and regime files start (used when the worker has it)."""
    before = os.getcwd()
    if os.path.isdir(cwd):
        os.chdir(cwd)
    try:
        mine = {**runner.resolve(study, task.run, task.point), "seed": task.seed}
        if mine != inputs:
            raise InputError(
                "ray",
                f"the worker on {socket.gethostname()} sees other inputs for {task.key} than the "
                "driver (install the same version of the package and the same files on every "
                "node): " + "; ".join(runner.changes(inputs, mine)),
            )
        scratch = _scratch()
        try:
            staging = scratch / "simulation"
            summary = runner._engine(study, task).run(staging)
            files = {
                f.relative_to(staging).as_posix(): f.read_bytes()
                for f in sorted(staging.rglob("*"))
                if f.is_file()
            }
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        os.chdir(before)
    node = ray.get_runtime_context().get_node_id()
    return Outcome(summary, files, node, os.getpid())


SCRATCH = "socialcredit-sim-"


def _scratch() -> Path:
    """A new temporary folder for this worker's simulation, named after the worker's pid; first,
    those of workers no longer alive (killed mid-simulation: Ray's retry, a driver that
    stopped) are removed."""
    return owned_tempdir(SCRATCH)


_simulate = ray.remote(max_retries=RETRIES, retry_exceptions=False)(simulate)


def reach(address: str, timeout: float = 10.0) -> None:
    """Refuse at once, naming it, a ``HOST:PORT`` (or ``ray://HOST:PORT``) nothing listens on
    (Ray itself would keep trying for minutes); other addresses are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise InputError(
            "ray", f"cannot reach a Ray cluster at {address!r}: {exc.strerror or exc}"
        ) from None


def connect(address: str) -> Callable[[], None] | None:
    """Join the cluster at ``address`` (``local``: start a private one on this machine, its
    logs and sockets in a temporary folder); returns what leaves it (and removes that folder),
    or None if this process was already connected (then it stays so)."""
    if ray.is_initialized():
        return None
    quiet: dict[str, Any] = {"logging_level": logging.WARNING}
    if address != "local":
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise InputError("ray", f"cannot join a Ray cluster at {address!r}: {exc}") from None

        def disconnect() -> None:
            ray.shutdown()

        return disconnect
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"} & set(os.environ):
        # Ray protects a cluster it starts with a token; this one is the process's own (Ray
        # would otherwise write one to ~/.ray/auth_token, and use it for every later cluster)
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    # a short path: Ray's sockets live under it (a socket's path has at most 107 bytes)
    base = tempfile.gettempdir()
    if len(base) > 40 and os.path.isdir("/tmp"):
        base = "/tmp"
    temp = tempfile.mkdtemp(prefix="ray-", dir=base)
    try:
        ray.init(include_dashboard=False, _temp_dir=temp, **quiet)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise

    def leave() -> None:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)

    return leave


def largest_node_cpus() -> int:
    """The CPUs of the cluster's largest live node (0 if none reports any yet)."""
    nodes = cast(Callable[[], list[dict[str, Any]]], ray.nodes)()  # untyped in Ray
    cpus = [n["Resources"].get("CPU", 0) for n in nodes if n.get("Alive")]
    return int(max(cpus, default=0))


def run_tasks(
    study: Study,
    out: Path,
    todo: Sequence[Task],
    inputs: dict[str, dict[str, Any]],
    *,
    address: str,
    progress: Callable[[Task, int, int], None] | None = None,
    done: int = 0,
    total: int = 0,
) -> None:
    """Run ``todo`` as Ray tasks on the cluster at ``address`` and write each result into
    ``out`` as it arrives. ``done``: how many of the study's ``total`` simulations were
    reused (for ``progress``)."""
    if not todo:
        return
    leave = connect(address)
    pending: dict[Any, Task] = {}
    try:
        # a task asks for as many CPUs as the study's threads, but never more than a node has
        # (the engines give the same bytes for any number of threads)
        largest = largest_node_cpus()
        threads = min(study.threads, largest) if largest else study.threads
        shipped = study.model_copy(update={"threads": threads})
        cwd = os.getcwd()
        for task in todo:
            runner.begin(out, task)
            ref = _simulate.options(num_cpus=threads, name=f"simulate {task.key}").remote(
                shipped, task, inputs[task.key], cwd
            )
            pending[ref] = task
        n = done
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                _write(out, study, task, inputs[task.key], _get(ref, task))
                n += 1
                if progress is not None:
                    progress(task, n + 1, total)
    except BaseException:
        # keep whatever else has finished, then stop the rest
        if pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    _write(out, study, task, inputs[task.key], _get(ref, task))
                except Exception:  # the first error is the one raised
                    pass
            for ref in pending:
                ray.cancel(ref)
        raise
    finally:
        if leave is not None:
            leave()


class ClusterError(SocialCreditError):
    """The cluster could not run a simulation (its worker died more often than Ray retries,
    the driver lost the cluster): what finished is written; running again resumes."""


def _get(ref: Any, task: Task) -> Outcome:
    """The task's outcome (see :func:`result`)."""
    outcome: Outcome = result(
        ref, lost=task.key, then="what finished is kept: run the same command again to resume"
    )
    return outcome


def result(ref: Any, *, lost: str, then: str) -> Any:
    """A task's result; the task's own error is raised as itself (an :class:`InputError` names
    its field as it would locally), the cluster's as a :class:`ClusterError` naming what was
    ``lost`` and what to do ``then``."""
    try:
        return ray.get(ref)
    except RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, Exception):
            raise cause from None
        raise
    except RayError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(
            f"ray: the cluster lost {lost} ({type(exc).__name__}: {first}); {then}"
        ) from None


def _write(
    out: Path,
    study: Study,
    task: Task,
    inputs: dict[str, Any],
    outcome: Outcome,
) -> None:
    staging = runner.begin(out, task)
    for name, data in outcome.files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    runner.finish(out, study, task, inputs, outcome.summary)
