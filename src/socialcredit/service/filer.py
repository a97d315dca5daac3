"""Filings in a process of their own, so that they do not take the checks' core and GIL.

A filing (``POST /api/v1/records``, a batch, the portal's desk) is a write transaction of the
ledger: the records, the touched subjects' projection refreshed from the catalogs, an audit
entry, a commit; several milliseconds of CPU, most of it SQLAlchemy. In the server's own
process every filing took that time from the event loop that answers checks. So the server
starts one *filing writer*: a child process (``python -m socialcredit.service.filer URL``)
with its own connection to the database, which files what the server hands it, one filing
at a time, and answers with what the ledger answered (the results, or the error, which the
server raises as its own).

What holds as before:

- durability before acknowledgement: the writer answers only once the filing's transaction
  has committed, and the route answers only then;
- one audit chain: the writer's entries join the one chain under the database's write lock
  (SQLite's, PostgreSQL's advisory lock), as any other writer's; on SQLite the server and its
  writer take that lock in turns (:class:`SharedTurns`);
- freshness: the server reloads the filed subjects (and the persons holding a role in them,
  which the writer names) into its check index before it answers the filing;
- crash safety: if the server is killed, the writer reads the end of its pipe and leaves
  (after the filing it is in, committed or not: an unanswered filing is retried by its client,
  idempotent by ``client_key``); if the writer is killed, the filing in flight is answered
  503 (the store away) and the next filing starts a new writer.

The wire: length-prefixed pickles over the child's stdin and stdout, between this process
and a child it started itself (never from the network).
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import date
from typing import IO, Any

from socialcredit.errors import LedgerError
from socialcredit.policy.loader import Loaded
from socialcredit.registry.ledger import Ledger, NewRecord, SubmitResult, Turns

_log = logging.getLogger("socialcredit.service")

_HEAD = struct.Struct("!I")


def _send(stream: IO[bytes], message: object) -> None:
    """Write ``message``, whole: a message that cannot be pickled raises before a byte of it
    is written, so the stream stays in step."""
    _write(stream, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _write(stream: IO[bytes], body: bytes) -> None:
    stream.write(_HEAD.pack(len(body)) + body)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message, or ``EOFError`` at the end of the stream (also in the middle of a
    message: the other side ended)."""
    head = stream.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise EOFError
    size = _HEAD.unpack(head)[0]
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)  # noqa: S301 - from a child this process started


_Parts = tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]


def _exception_parts(exc: BaseException) -> _Parts:
    return type(exc), exc.args, dict(vars(exc))


def _exception(parts: _Parts) -> BaseException:
    """An exception rebuilt without calling its ``__init__`` (ours take other arguments than
    the ``args`` they keep): the same kind, message and fields (an input error's ``field``)
    as the ledger raised in the writer."""
    kind, args, state = parts
    try:
        exc = kind.__new__(kind)
        exc.args = args
        exc.__dict__.update(state)
    except Exception:  # noqa: BLE001 - a kind that will not be rebuilt: said plainly
        return LedgerError(f"filing: {kind.__name__}: {args!r}")
    return exc


class SharedTurns(Turns):
    """The ledger's turns (:class:`Turns`: first come, first served, the audit writer ahead)
    and then a lock shared by the server and its filing writer: ``flock`` on a file beside
    the SQLite database (``<database>-writers``). Without it the two processes met only at
    SQLite's write lock, whose busy wait sleeps up to 100 ms between tries: the audit writer,
    committing every millisecond or two, kept the writer waiting for whole seconds, and the
    writer's filings held the checks' answers back by tens of milliseconds. A process waiting
    for the ``flock`` is woken as soon as it is released. Other processes (an import) still
    meet these two at SQLite's lock only, as before."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self) -> None:
        super().acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            super().release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            super().release()


def share_turns(ledger: Ledger) -> None:
    """On a SQLite file, take the ledger's writes in turns with the other processes of this
    server (:class:`SharedTurns`); call before any of its writers runs. Nothing on
    PostgreSQL, whose advisory lock is granted in order."""
    path = ledger.sqlite_path
    if path is not None and not isinstance(ledger.turns, SharedTurns):
        ledger.turns = SharedTurns(f"{path}-writers")


class FilingWriter:
    """The server's side of the filing writer (see the module's docstring). :meth:`submit`
    from any thread: filings go to the writer one at a time, in the order they come."""

    def __init__(self, url: str, catalog: Loaded, *, today: date) -> None:
        self.url = url
        self._catalog = catalog
        self._today = today
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sent: Loaded | None = None
        self._n = 0

    @property
    def pid(self) -> int | None:
        """The writer's process id (None while none runs)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the writer and wait until it is ready (its compiled kernels loaded)."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "socialcredit.service.filer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            # the database's URL down the pipe, not on the command line (where any local user
            # could read a password in it)
            _send(proc.stdin, ("hello", self.url, self._catalog, self._today))
            answer = _receive(proc.stdout)
        except Exception as exc:  # noqa: BLE001 - whatever it was, the writer is not there
            self._end()
            raise LedgerError(f"filing: the filing writer did not start: {exc!r}") from None
        if answer != "ready":
            self._end()
            raise LedgerError(f"filing: the filing writer did not start: {answer!r}")
        self._sent = self._catalog

    def submit(
        self, records: Sequence[NewRecord], *, catalog: Loaded, today: date, actor: str
    ) -> tuple[list[SubmitResult], list[str]]:
        """File ``records`` as :meth:`Ledger.submit` does, in the writer; returns the results
        and the persons holding a role in the filed subjects (whose checks change with them).
        Raises what the ledger raised; :class:`LedgerError` if the writer ended meanwhile
        (or could not be started). Blocks its thread (a route's, on the thread pool), never
        the event loop: the server waits on the pipe with the GIL released."""
        records = list(records)
        message = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)  # raises here, if
        with self._lock:  # it does, with the stream untouched
            self._catalog = catalog
            if self._proc is None or self._proc.poll() is not None:
                self._end()
                self._start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            self._n += 1
            send = catalog if catalog is not self._sent else None
            try:
                _send(proc.stdin, ("submit", self._n, message, actor, today, send))
                self._sent = catalog
                n, ok, payload = _receive(proc.stdout)
            except Exception as exc:  # noqa: BLE001 - a writer out of step is ended, whatever
                self._end()
                raise LedgerError(
                    f"filing: the filing writer ended before it answered ({exc!r}); the "
                    "filing may or may not have been committed: file it again (with the same "
                    "client_key, it is filed once)"
                ) from None
            if n != self._n:
                self._end()
                raise LedgerError("filing: the filing writer answered out of turn")
        if not ok:
            raise _exception(payload)
        results, holders = payload
        return results, holders

    def _end(self) -> None:
        proc, self._proc = self._proc, None
        self._sent = None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """End the writer (it finishes the filing it is in, then reads the end of its pipe)."""
        with self._lock:
            self._end()


# -------------------------------------------------------------------------------- the writer


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The writer's loop: a filing at a time until the end of ``requests``."""
    from socialcredit.service.registry import warm_up

    _kind, url, catalog, today = _receive(requests)
    ledger = Ledger.open(url)
    share_turns(ledger)
    try:
        warm_up(catalog, today)
        _send(answers, "ready")
        while True:
            try:
                message = _receive(requests)
            except EOFError:
                return
            _kind, n, body, actor, today, new_catalog = message
            if new_catalog is not None:
                catalog = new_catalog
            try:
                records: list[NewRecord] = pickle.loads(body)  # noqa: S301 - see _receive
                results = ledger.submit(records, catalog=catalog, today=today, actor=actor)
                subjects = {r.subject.strip().upper() for r in records}
                holders = sorted(set(ledger.role_holders(subjects)))
                reply: tuple[int, bool, Any] = (n, True, (results, holders))
            except Exception as exc:  # noqa: BLE001 - the server raises it as its own
                reply = (n, False, _exception_parts(exc))
            try:
                answer = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - an answer that does not travel: said
                lost = LedgerError(f"filing: the writer's answer could not be sent: {exc!r}")
                answer = pickle.dumps((n, False, _exception_parts(lost)))
            _write(answers, answer)
    finally:
        ledger.close()


def main() -> None:
    # the server's own signals reach this process too (a terminal's ^C): it ends when the
    # server does, at the end of its pipe, never half-way through a filing
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the answers on a descriptor of their own; descriptor 1 becomes the server's stderr, so
    # that nothing printed (by Python or by a library below it) goes down the pipe
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    requests = os.fdopen(0, "rb")
    logging.basicConfig(level=logging.WARNING)
    try:
        serve(requests, answers)
    except (EOFError, BrokenPipeError):
        pass


if __name__ == "__main__":
    main()
