"""Serving the application: uvicorn, with the check path answered in its protocol.

``socialcredit serve`` and ``socialcredit demo`` both start the server here, and so do the
service tests, so what is tested is what runs."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from socialcredit.service.checkpath import check_protocol


def config(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000, **extra: Any
) -> uvicorn.Config:
    """uvicorn's settings for ``app`` (from :func:`~socialcredit.service.app.create_app`):
    uvloop when installed, :class:`~socialcredit.service.checkpath.CheckProtocol` over
    httptools, no access log (the audit log records every read of personal data), no proxy
    headers trusted."""
    settings: dict[str, Any] = {"log_level": "warning", "access_log": False,
                                "proxy_headers": False, "loop": "auto"}  # fmt: skip
    settings.update(extra)
    return uvicorn.Config(app, host=host, port=port, http=check_protocol(app.state.registry),
                          **settings)  # fmt: skip


def run(app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` until interrupted."""
    uvicorn.Server(config(app, host=host, port=port)).run()
