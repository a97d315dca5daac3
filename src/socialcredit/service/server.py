"""Serving the application: uvicorn, with the check path answered in its protocol.

``socialcredit serve`` and ``socialcredit demo`` both start the server here, and so do the
service tests, so what is tested is what runs."""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from socialcredit.service.checkpath import check_protocol
from socialcredit.service.limits import DEFAULT_LIMITS, Limits, raise_file_limit

_log = logging.getLogger("socialcredit.service")


def config(
    app: FastAPI,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits = DEFAULT_LIMITS,
    **extra: Any,
) -> uvicorn.Config:
    """uvicorn's settings for ``app`` (from :func:`~socialcredit.service.app.create_app`):
    uvloop when installed, :class:`~socialcredit.service.checkpath.CheckProtocol` over
    httptools under ``limits`` (header and body timeouts, head size, connection cap; see
    :mod:`~socialcredit.service.limits`), keep-alive 5 s, no access log (the audit log records
    every read of personal data), no proxy headers trusted. Raises the process's limit on open
    files as far as the system allows (:func:`~socialcredit.service.limits.raise_file_limit`),
    so that the connection cap, not the file limit, is what refuses connections."""
    raise_file_limit()
    settings: dict[str, Any] = {"log_level": "warning", "access_log": False,
                                "proxy_headers": False, "loop": "auto", "timeout_keep_alive": 5,
                                "backlog": 4096}  # fmt: skip
    settings.update(extra)
    return uvicorn.Config(app, host=host, port=port,
                          http=check_protocol(app.state.registry, limits), **settings)  # fmt: skip


def run(app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` until interrupted."""
    before, after = raise_file_limit()
    if after > before:
        _log.warning("open files limit raised from %d to %d", before, after)
    uvicorn.Server(config(app, host=host, port=port)).run()


def run_workers(
    make_app: Callable[[], FastAPI], *, host: str = "127.0.0.1", port: int = 8000, workers: int
) -> None:
    """Serve with ``workers`` processes answering on one listening socket until interrupted
    (SIGINT or SIGTERM to this process is passed on to each; each shuts down as one server
    does). Each worker is forked before anything of the application exists and makes its own
    (``make_app``): its own connections to the database, check index, audit writer and
    poller. A worker sees another's writes through its poller (every
    :data:`~socialcredit.service.registry.POLL_SECONDS`), and every worker's audit entries
    join the one chain under the database's lock: for PostgreSQL only (the CLI refuses
    SQLite)."""
    before, after = raise_file_limit()
    if after > before:
        _log.warning("open files limit raised from %d to %d", before, after)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                app = make_app()
                uvicorn.Server(config(app, host=host, port=port)).run(sockets=[sock])
            except BaseException:  # noqa: BLE001 - a worker reports and ends, never returns
                _log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()

    def stop(signum: int, _frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
