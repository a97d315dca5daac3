"""A throwaway PostgreSQL server, for the tests and the benchmarks: ``initdb`` in a temporary
directory, the server on a Unix socket in that directory (no TCP), removed with its files when
the context ends, whatever ends it.

A process killed outright (``SIGKILL``) runs no cleanup of its own, so two things stand in:

- the server is told to stop at once when the process that started it dies (Linux's parent
  death signal, ``SIGQUIT``: an immediate shutdown), so no server outlives its owner (the
  thread that started it, strictly: start it from the main thread);
- each directory is named after its owner's process id (``<prefix><pid>-...``), and a later
  :func:`throwaway` removes those whose owner is gone (:mod:`socialcredit.scratch`), so
  their data (gigabytes after a benchmark at national volume) does not stay behind in the
  temporary directory.

``scripts/ensure-postgres`` installs the server's binaries; :func:`server_binaries` finds
them on the ``PATH`` or under ``/usr/lib/postgresql/<version>/bin`` (the newest).
"""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from socialcredit import scratch
from socialcredit.scratch import alive, owned_tempdir


class NoServer(RuntimeError):
    """No server could be had: binaries missing, initdb failed, or it did not start. The
    message says which, with the server's own words."""


@dataclass(frozen=True)
class Server:
    """A running throwaway server: its directory (also its socket's) and port."""

    root: str
    port: int

    @property
    def log(self) -> Path:
        """The server's log (its standard output and error)."""
        return Path(self.root) / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """The SQLAlchemy URL of database ``dbname`` (user ``postgres``, trusted)."""
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.root}&port={self.port}"

    def admin(self) -> psycopg.Connection[Any]:
        """A connection to the ``postgres`` database, in autocommit (to create databases)."""
        return psycopg.connect(host=self.root, port=self.port, user="postgres",
                               dbname="postgres", autocommit=True)  # fmt: skip


def server_binaries() -> tuple[str, str]:
    """``initdb`` and ``postgres``: on the PATH, else the newest under /usr/lib/postgresql."""
    initdb = shutil.which("initdb")
    if initdb is None:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")],
        )
        initdb = found[-1] if found else None
    if initdb is None:
        raise NoServer(
            "PostgreSQL server binaries not found (no initdb on PATH or in "
            "/usr/lib/postgresql/*/bin): run scripts/ensure-postgres (make test does)"
        )
    postgres = str(Path(initdb).with_name("postgres"))
    if not Path(postgres).exists():
        postgres = shutil.which("postgres") or postgres
    return initdb, postgres


@contextmanager
def throwaway(
    settings: Sequence[str] = (),
    *,
    prefix: str = "pg-",
    fast_initdb: bool = False,
    ready_within: float = 30.0,
) -> Iterator[Server]:
    """A server with ``settings`` (``name=value``, each passed as ``-c``), in a new directory
    ``<prefix><pid>-...`` of the temporary directory, for as long as the context lasts.
    ``fast_initdb``: initdb does not flush its files (for a server whose durability does not
    matter). :class:`NoServer` if there is none to be had."""
    initdb, postgres = server_binaries()
    root = str(owned_tempdir(prefix, before_removal=_stop_server_in))
    proc: subprocess.Popen[bytes] | None = None
    try:  # from here on, whatever ends the context (SIGTERM included) removes the files
        as_user: dict[str, Any] = {}
        if os.geteuid() == 0:  # postgres refuses to run as root
            as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
            shutil.chown(root, "postgres", "postgres")
        data = os.path.join(root, "data")
        init = subprocess.run(
            [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
             *(["--no-sync"] if fast_initdb else [])],
            cwd=root, capture_output=True, text=True, check=False, **as_user,
        )  # fmt: skip
        if init.returncode != 0:
            raise NoServer(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        with socket.socket() as sock:  # a port no other server here has: its socket's name
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        server = Server(root, port)
        options = [a for s in ("listen_addresses=", *settings) for a in ("-c", s)]
        with server.log.open("wb") as log:
            proc = subprocess.Popen(
                [postgres, "-D", data, "-k", root, "-p", str(port), *options],
                cwd=root, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with(os.getpid()),
                **as_user,
            )  # fmt: skip
        _wait_ready(server, proc, ready_within)
        yield server
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def remove_orphans(prefix: str) -> list[Path]:
    """Remove the directories ``<prefix><pid>-...`` whose owner is gone, stopping a server
    still running in one first (:func:`socialcredit.scratch.remove_orphans`)."""
    return scratch.remove_orphans(prefix, before_removal=_stop_server_in)


def _stop_server_in(root: Path) -> None:
    """Stop a server left running in ``root`` (its data directory's ``postmaster.pid`` names
    it; stopped only if that process is a postgres whose command line names the directory):
    where the parent death signal did not reach it."""
    try:
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return
    if b"postgres" not in command or str(root).encode() not in command:
        return
    try:
        os.kill(pid, signal.SIGQUIT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


_PR_SET_PDEATHSIG = 1
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
"""Linux's ``prctl``, looked up here, not in the forked child (elsewhere ``None``: a server
there does not stop with its owner, and only the sweep of a later start stands in)."""


def _die_with(parent: int) -> Any:
    """For the server's process, before it runs: a SIGQUIT (immediate shutdown) when the
    thread that started it ends (a process's main thread: when the process dies), or at
    once if ``parent`` is gone already. :mod:`subprocess` calls it after the switch to the
    ``postgres`` user, which would clear it."""

    def preexec() -> None:
        if _prctl is None:
            return
        _prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)
        if os.getppid() != parent:  # died before the above: no signal will come
            os._exit(1)

    return preexec


def _wait_ready(server: Server, proc: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        if proc.poll() is not None:
            log = server.log.read_text(errors="replace")
            raise NoServer(f"postgres exited with {proc.returncode}:\n{log}")
        try:
            with server.admin():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise NoServer(f"postgres did not accept connections within {within:g} s") from None
            time.sleep(0.1)
