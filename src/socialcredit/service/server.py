"""Serving the application: uvicorn, with the check path answered in its protocol.

``socialcredit serve`` and ``socialcredit demo`` both start the server here, and so do the
service tests, so what is tested is what runs."""

from __future__ import annotations

import logging
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
