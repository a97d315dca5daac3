"""The consumer check, ``GET /api/v1/checks/{subject}/{measure}``, at the speed it is asked.

A check is a point lookup in the in-memory index (:class:`~socialcredit.service.state.CheckIndex`)
and one audit entry; everything else a framework does per request (routing, dependency
injection, validation, the ASGI request-response cycle, a task per request) costs several times
that. So a well-formed check is answered ahead of all of it, at two levels:

- :class:`CheckProtocol` (what ``socialcredit serve`` runs): uvicorn's own httptools protocol,
  which answers a check as soon as the request is parsed, writing the response to the socket
  itself, with no ASGI scope, task or event; every other request goes to the application as
  before. It answers only when nothing is in flight on the connection (so pipelined responses
  keep their order) and the socket is not paused.
- :class:`CheckFastPath`: the same as ASGI middleware, for any other ASGI server.

Both answer only when everything is in order: ``GET`` on the check path, a consumer key fresh
in the key cache, a valid subject ID, a measure of the key's domain, a ``purpose`` within its
length and made of text. The answer and its audit entry are the route's own
(:func:`answer_check`): the same bytes, the same entry. Anything else (a missing, unknown or
stale key, another role, a bad ID, an unknown measure, over-long parts, percent-escapes) goes
on to the route, which answers or names the error as always.

Whoever answers, the answer goes out only once its audit entry is durable: the protocol holds
it (a stand-in for uvicorn's request cycle keeps a pipelined request queued behind it) and
writes it when the audit writer's group holding the entry has committed; the middleware and
the route await the same. If the entry is not durable within the audit patience, the answer
is a 503 naming ``audit`` instead, and nothing is disclosed.

The protocol also enforces the connection's limits (:mod:`~socialcredit.service.limits`): a
request head must be complete within the header timeout and under its size, a body within the
body timeout, and connections over the cap are refused; a sweep once a second closes the
overdue ones.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from socialcredit.errors import InputError, LedgerError
from socialcredit.registry import subjects
from socialcredit.registry.ledger import ApiKey, text_problem
from socialcredit.service.errors import Stale
from socialcredit.service.limits import DEFAULT_LIMITS, Limits
from socialcredit.service.registry import Registry

CHECK_PATH = "/api/v1/checks/"
DEFAULT_PURPOSE = "booking check"
MAX_SUBJECT = 40
MAX_MEASURE = 120
MAX_PURPOSE = 200
JSON = "application/json"

SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)
"""On every API response: nothing personal kept by a cache, no content sniffing."""

UNAUDITED = (
    b'{"error":{"field":"audit","message":"the audit log could not be written in time; '
    b'nothing was disclosed: try again"}}'
)
"""A check's answer whose audit entry was not durable within the patience (503)."""

_DETAIL = {"allow": '{"decision":"allow"}', "deny": '{"decision":"deny"}'}
"""The audit entry's detail for each decision, as stored (JSON with sorted keys)."""


def answer_check(
    reg: Registry, key: ApiKey, subject_id: str, measure: str, purpose: str
) -> tuple[bytes, int]:
    """The check's JSON, and the ticket of its entry in the audit log: the answer may go out
    once the entry is durable (:meth:`AuditBuffer.when_durable`), not before. Refused
    (:class:`Stale`) when this server's view of the subject is older than the bound."""
    age = reg.checks.age(subject_id)
    if age > reg.checks.MAX_AGE:
        raise Stale(
            f"freshness: this server last saw the registry's writes about this subject "
            f"{age:.1f} s ago, more than the {reg.checks.MAX_AGE:g} s it answers within; "
            "nothing was disclosed: try again"
        )
    body, decision = reg.checks.answer(subject_id, measure, reg.today())
    ticket = reg.audit.add_row((f"consumer:{key.key_id}", f"check {measure}", subject_id,
                                purpose or DEFAULT_PURPOSE, _DETAIL[decision]))  # fmt: skip
    return body, ticket


class FastCheck:
    """A well-formed check's answer, or ``None`` for the route to deal with."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def answer(
        self, path: str, query: bytes, authorization: bytes | None
    ) -> tuple[bytes, int] | None:
        """``path`` as the ASGI scope has it (percent-escapes decoded), ``query`` raw."""
        if authorization is None or not path.startswith(CHECK_PATH):
            return None
        subject, sep, measure = path[len(CHECK_PATH) :].partition("/")
        if not (sep and 0 < len(subject) <= MAX_SUBJECT and 0 < len(measure) <= MAX_MEASURE):
            return None
        if "/" in measure:
            return None
        purpose = DEFAULT_PURPOSE
        if query:
            # as the framework reads it: the last value of a repeated parameter
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            purpose = dict(pairs).get("purpose", DEFAULT_PURPOSE)
            if len(purpose) > MAX_PURPOSE or text_problem(purpose) is not None:
                return None  # the route names the problem
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            return None
        reg = self.registry
        key = reg.keys.cached(token.strip())
        if key is None or key.role != "consumer":
            return None
        # the catalogs in force now (a running server follows activations and retirements)
        known = reg.catalog.index.measures.get(measure)
        if known is None or known.domain != key.principal:
            return None
        try:
            subject_id, _ = subjects.validate(subject, field="subject")
        except InputError:
            return None
        if not reg.checks.fresh(subject_id):
            return None  # the route refuses it, naming why
        return answer_check(reg, key, subject_id, measure, purpose)


class CheckFastPath:
    """ASGI middleware: :class:`FastCheck` ahead of the framework (for ASGI servers other than
    ``socialcredit serve``'s, whose :class:`CheckProtocol` answers before the ASGI layer)."""

    def __init__(self, app: ASGIApp, registry: Registry) -> None:
        self.app = app
        self.fast = FastCheck(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope.get("root_path")
            and scope["path"].startswith(CHECK_PATH)
        ):
            given = [v for k, v in scope["headers"] if k == b"authorization"]
            # given more than once: the application refuses it (400)
            answer = (self.fast.answer(scope["path"], scope["query_string"], given[0] if given
                                       else None) if len(given) < 2 else None)  # fmt: skip
            if answer is not None:
                body, ticket = answer
                status = 200
                try:
                    await self.fast.registry.audit.durable(ticket)
                except LedgerError:
                    status, body = 503, UNAUDITED
                headers = [(b"content-length", str(len(body)).encode()),
                           (b"content-type", JSON.encode()), *SECURITY_HEADERS]  # fmt: skip
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


_PREFIX = CHECK_PATH.encode()
_OK = b"HTTP/1.1 200 OK\r\n"
_UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\n"
_TYPE = (
    b"content-type: " + JSON.encode() + b"\r\n"
    + b"".join(k + b": " + v + b"\r\n" for k, v in SECURITY_HEADERS)
)  # fmt: skip


class _Held:
    """Stands for uvicorn's request cycle while a check's answer waits for its audit entry:
    a request pipelined behind it waits in uvicorn's queue, as behind any response in flight."""

    __slots__ = ("response_complete", "disconnected", "message_event", "keep_alive")

    def __init__(self) -> None:
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NO_EVENT
        self.keep_alive = True
        """Set false by uvicorn's graceful shutdown: close once the answer is out."""


class _NoEvent:
    __slots__ = ()

    def set(self) -> None:
        pass


_NO_EVENT = _NoEvent()


_BUSY_BODY = b'{"error":{"field":null,"message":"too many connections; try again later"}}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_BUSY_BODY) + _BUSY_BODY
)
_LATE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
    b"connection: close\r\n\r\n"
)


class CheckProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering well-formed checks itself (see the module's
    docstring); bind a registry with :func:`check_protocol`.

    Two of uvicorn's per-request costs are put off until a request needs them: the ASGI scope
    is built only for a request that goes to the application, and the keep-alive timer is not
    cancelled and re-armed around every request: one timer per connection, which on firing
    closes the connection only if it has been idle for the whole keep-alive time."""

    fast: FastCheck
    limits: Limits = DEFAULT_LIMITS
    _ready: tuple[bytes, int] | None = None
    _active_at: float = 0.0
    _headers_of: Any = None
    _headers: bytes = b""
    _head_since: float | None = None
    """Since when a request's head is awaited (None while a head is not awaited)."""
    _head_bytes: int = 0
    _heads: int = 0
    """Request heads completed on this connection."""
    _messages: int = 0
    """Requests completed (head and body) on this connection."""
    _body_since: float | None = None
    """Since when a request's body is awaited (None while a body is not awaited)."""
    _sweeping: asyncio.AbstractEventLoop | None = None

    # -- the connection's limits -----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            transport.write(_BUSY)
            transport.close()
            return
        self._head_since = self.loop.time()
        cls = type(self)
        if cls._sweeping is not self.loop:  # one sweep a second, for every connection
            cls._sweeping = self.loop
            self.loop.call_later(1.0, _sweep, self.loop, self.connections)

    def data_received(self, data: bytes) -> None:
        seen = self._heads + self._messages
        super().data_received(data)
        # a read that completed neither a head nor a message was all head: it counts towards
        # the head awaited; one that completed either (a head, a body's end, pipelined
        # requests) does not, so a head is refused past the limit plus at most one read
        if self._heads + self._messages == seen and self._head_since is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head:
                self._refuse(_LARGE)

    def _expire(self, now: float) -> None:
        """Close the connection if a head or a body is overdue (the sweep calls this)."""
        limits = self.limits
        cycle = self.cycle
        busy = cycle is not None and not cycle.response_complete
        if self._head_since is not None and not busy:
            if now - self._head_since > limits.header_timeout:
                self._refuse(_LATE)
        elif self._body_since is not None and now - self._body_since > limits.body_timeout:
            self._refuse(b"" if busy else _LATE)

    def _refuse(self, answer: bytes) -> None:
        self._head_since = self._body_since = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if answer:
            transport.write(answer)
        transport.close()

    # -- parsing ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._ready = None
        if self._head_since is None:
            self._head_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._head_since = None
        self._head_bytes = 0
        self._heads += 1
        self._body_since = self.loop.time()
        url = self.url
        if url.startswith(_PREFIX) and self._idle() and self.parser.get_method() == b"GET":
            path, _, query = url.partition(b"?")
            if b"%" not in path and b"#" not in url and not self.root_path:
                authorization = None
                given = 0
                for name, value in self.headers:
                    if name == b"authorization":
                        authorization = value
                        given += 1
                # given more than once: the application refuses it (400)
                answer = (self.fast.answer(path.decode("latin-1"), query, authorization)
                          if given < 2 else None)  # fmt: skip
                if answer is not None:
                    self._ready = answer
                    return
        # to the application: the scope uvicorn's on_message_begin would have made
        self.scope = {  # type: ignore[typeddict-item]
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,  # type: ignore[typeddict-item]
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        super().on_headers_complete()

    def _idle(self) -> bool:
        """Nothing in flight on this connection and the socket not paused: an answer written
        now goes out in order."""
        cycle = self.cycle
        return (
            (cycle is None or cycle.response_complete)
            and not self.pipeline
            and not self.flow.write_paused
            and not self.expect_100_continue
            and not self.parser.should_upgrade()
        )

    def on_body(self, body: bytes) -> None:
        if self._ready is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._messages += 1
        self._body_since = None
        self._head_since = self.loop.time()  # the next request's head, when it comes
        ready = self._ready
        if ready is None:
            super().on_message_complete()
            return
        self._ready = None
        body, ticket = ready
        parser = self.parser
        keep_alive = parser.should_keep_alive() and parser.get_http_version() != "1.0"
        held = _Held()
        self.cycle = held  # type: ignore[assignment]
        self.fast.registry.audit.when_durable(
            ticket, lambda ok: self._answer(held, body, keep_alive, ok)
        )

    def _answer(self, held: _Held, body: bytes, keep_alive: bool, durable: bool) -> None:
        """The held answer, now that its audit entry is durable (or, if it could not be
        written in time, a 503 instead: nothing is disclosed without its entry)."""
        held.response_complete = True
        if self._head_since is not None:
            self._head_since = self.loop.time()
        transport = self.transport
        if held.disconnected or transport.is_closing():
            return
        defaults = self.server_state.default_headers
        if defaults is not CheckProtocol._headers_of:  # a new Date header, once a second
            CheckProtocol._headers = b"".join(k + b": " + v + b"\r\n" for k, v in defaults)
            CheckProtocol._headers_of = defaults
        keep_alive = keep_alive and held.keep_alive
        if not durable:
            keep_alive = False
            status, body = _UNAVAILABLE, UNAUDITED
        else:
            status = _OK
        close = b"" if keep_alive else b"connection: close\r\n"
        mark = self.fast.registry.synthetic_header  # a synthetic registry says so
        transport.write(b"".join((status, CheckProtocol._headers, b"content-length: %d\r\n"
                                  % len(body), _TYPE, mark, close, b"\r\n", body)))  # fmt: skip
        if not keep_alive:
            self.server_state.total_requests += 1
            transport.close()
        elif self.pipeline:
            self.on_response_complete()  # starts the request queued behind this one
        else:
            self.server_state.total_requests += 1
            self.flow.resume_reading()
            if self.timeout_keep_alive_task is None:
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )

    # -- keep-alive ------------------------------------------------------------------------

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn calls this on every data_received: note the activity, leave the timer
        self._active_at = self.loop.time()

    def on_response_complete(self) -> None:
        if self._head_since is not None:  # the next head is awaited from now, not from before
            self._head_since = self.loop.time()  # a slow response
        armed = self.timeout_keep_alive_task
        super().on_response_complete()  # arms a fresh timer
        if armed is not None and self.timeout_keep_alive_task is not armed:
            armed.cancel()

    def timeout_keep_alive_handler(self) -> None:
        self.timeout_keep_alive_task = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a response in flight: its completion arms the timer again
        left = self._active_at + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(
                left, self.timeout_keep_alive_handler
            )
            return
        super().timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        super().connection_lost(exc)


def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
    """Once a second: close the connections whose request head or body is overdue."""
    now = loop.time()
    for conn in list(connections):
        if isinstance(conn, CheckProtocol):
            conn._expire(now)
    if loop.is_closed():
        return
    loop.call_later(1.0, _sweep, loop, connections)


def check_protocol(registry: Registry, limits: Limits = DEFAULT_LIMITS) -> type[asyncio.Protocol]:
    """A :class:`CheckProtocol` answering from ``registry`` under ``limits`` (uvicorn's
    ``http=`` setting)."""
    return type("BoundCheckProtocol", (CheckProtocol,),
                {"fast": FastCheck(registry), "limits": limits})  # fmt: skip
