"""What the server grants a client before it knows who the client is: the limits that keep a
hostile or broken client from stalling the service or exhausting its memory.

At the connection (:class:`~socialcredit.service.checkpath.CheckProtocol`, with :class:`Limits`):

- a request's head (request line and headers) must arrive complete within ``header_timeout``
  seconds of the connection opening or of the previous response, and be at most ``max_head``
  bytes; otherwise 408 or 431 and the connection is closed (a half-sent request is not held);
- a request's body must arrive within ``body_timeout`` seconds of its head;
- an idle keep-alive connection is closed after uvicorn's ``timeout_keep_alive`` (5 s);
- at most ``max_connections`` connections are open at once: one more is answered 503 and
  closed at once (a connection costs a file descriptor; :func:`raise_file_limit` lifts the
  process's limit to what the system allows when the server starts).

Before the application reads a body (:class:`BodyGuard`, ASGI middleware):

- a ``Content-Length`` over the route's limit is refused (413) before a byte of the body is
  read; a body without one (chunked) is read only up to the limit;
- an API request with a body is authenticated (and its role checked) first: no key, an unknown
  key or the wrong role is refused (401, 403) without reading the body.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcredit.service.registry import Registry


@dataclass(frozen=True, slots=True)
class Limits:
    """See the module's docstring."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_head: int = 64 * 1024
    max_connections: int = 8_192
    max_body: int = 64 * 1024
    """Bytes of a request body, except a batch of records."""
    max_batch_body: int = 16 * 1024 * 1024
    """Bytes of a batch of records (10,000 records, about 1.6 KB each)."""


DEFAULT_LIMITS = Limits()

BATCH_PATH = "/api/v1/records/batch"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_ROLE_FOR = (("/api/v1/records", "authority"), ("/api/v1/me/", "subject"))
"""The role a request with a body needs, by path prefix (every API write is one of these)."""


def raise_file_limit(wanted: int = 65_536) -> tuple[int, int]:
    """Raise this process's soft limit on open files to ``wanted`` or the hard limit, whichever
    is lower (never lower it); returns ``(before, after)``. Each connection costs one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # pragma: no cover - not allowed here: keep what we have
            return soft, soft
        return soft, target
    return soft, soft


def _error(status: int, field: str | None, message: str) -> tuple[int, list[Any], bytes]:
    body = orjson.dumps({"error": {"field": field, "message": message}})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
               (b"connection", b"close"), (b"cache-control", b"no-store"),
               (b"x-content-type-options", b"nosniff")]  # fmt: skip
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    return status, headers, body


async def _answer(send: Send, answer: tuple[int, list[Any], bytes]) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """ASGI middleware: body limits and authentication before a body is read (see the module's
    docstring)."""

    def __init__(self, app: ASGIApp, registry: Registry, limits: Limits = DEFAULT_LIMITS) -> None:
        self.app = app
        self.registry = registry
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sum(name == b"authorization" for name, _value in scope["headers"]) > 1:
            # which one would count? each reader of headers might take another
            await _answer(send, _error(400, "authorization", "given more than once"))
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limits.max_batch_body if path == BATCH_PATH else self.limits.max_body
        length: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await _answer(send, _error(400, "content-length", "not a number"))
                    return
                length = int(value)
        if length is not None and length > limit:
            await _answer(send, _error(413, "body", f"at most {limit} bytes"))
            return
        if path.startswith("/api/"):
            refused = await self._authenticate(scope, path)
            if refused is not None:
                await _answer(send, refused)
                return
        if length is None:  # chunked: read it here, up to the limit, and hand it on
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await _answer(send, _error(413, "body", f"at most {limit} bytes"))
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            receive = _replay(b"".join(chunks), receive)
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope, path: str) -> tuple[int, list[Any], bytes] | None:
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
        if not authorization:
            return _error(401, "authorization", "a key is required (Authorization: Bearer <key>)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _error(401, "authorization", "expected 'Bearer <key>'")
        keys = self.registry.keys
        key = keys.cached(token)
        if key is None:
            key = await run_in_threadpool(keys.get, token)
        if key is None:
            return _error(401, "authorization", "unknown or revoked key")
        for prefix, role in _ROLE_FOR:
            if path.startswith(prefix) and key.role != role:
                return _error(403, "role", f"a {key.role} key may not do this (needs {role})")
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class NoStore:
    """ASGI middleware: every API response says ``Cache-Control: no-store`` (nothing personal
    kept by a browser or a proxy) and ``X-Content-Type-Options: nosniff``, unless it says
    otherwise itself. (The check protocol writes the same headers on the checks it answers.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                have = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _NO_STORE if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


_NO_STORE = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class SyntheticMark:
    """ASGI middleware: every response of a registry marked synthetic
    (:mod:`socialcredit.registry.marks`), API or portal, carries ``X-Synthetic-Data`` with the
    mark's note. (The check protocol adds the same header to the checks it answers; the
    portal's pages also show a banner.) Nothing is added for a registry without the mark."""

    def __init__(self, app: ASGIApp, registry: Registry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = self.registry.synthetic_value
        if not value or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"x-synthetic-data", value)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, marked)


class HeadAsGet:
    """ASGI middleware: ``HEAD`` is answered as ``GET`` is, without the body (the routes take
    ``GET`` only). The answer is made as for ``GET``, so a ``HEAD`` on personal data is a read
    like any other: audited before it is answered (its length tells something)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
