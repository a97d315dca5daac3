"""A small closed-loop HTTP/1.1 load generator, for when ``wrk`` is not installed.

``--connections`` keep-alive connections to one host, each sending the next request as soon as
the previous answer is in (as ``wrk`` does), the request paths taken in turn from a file, one
``Authorization`` header for all; asyncio on uvloop with a bare protocol per connection, in
one thread. Prints one JSON object: requests, seconds, requests/s, latency percentiles p50,
p75, p90, p99 in ms, non-2xx answers and socket errors.

It is slower than ``wrk`` (a few microseconds of Python per request on the client's core), so
at high rates it, not the server, may set the pace: ``bench/bench_checks.py`` says which
generator it used, and figures from the two are not to be compared with each other.

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:8000 --paths paths.txt \\
        --connections 16 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import uvloop


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.bad = 0
        self.errors = 0


class Client(asyncio.Protocol):
    """One connection: send, wait for the whole answer, record its latency, send the next."""

    def __init__(self, requests: list[bytes], start: int, stats: Stats, until: float) -> None:
        self.requests = requests
        self.i = start
        self.stats = stats
        self.until = until
        self.buffer = b""
        self.sent = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.i = (self.i + 1) % len(self.requests)
        self.sent = time.perf_counter()
        self.transport.write(self.requests[self.i])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buffer) < head_end + 4 + length:
            return
        now = time.perf_counter()
        self.stats.latencies.append(now - self.sent)
        if head[9:10] != b"2":
            self.stats.bad += 1
        self.buffer = self.buffer[head_end + 4 + length :]
        if now >= self.until:
            assert self.transport is not None
            self.transport.close()
            return
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.stats.errors += 1
        if not self.done.done():
            self.done.set_result(None)


async def run(url: str, paths: list[str], token: str, connections: int, duration: float) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n".encode("ascii") for p in paths
    ]
    stats = Stats()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    until = started + duration
    clients = []
    for c in range(connections):
        client = Client(requests, c * len(requests) // max(connections, 1), stats, until)
        try:
            await loop.create_connection(lambda client=client: client, host, port)
        except OSError:
            stats.errors += 1
            continue
        clients.append(client)
    try:  # bounded whatever the server does: a connection that hangs counts as an error
        await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), duration + 30)
    except TimeoutError:
        stats.errors += sum(1 for c in clients if not c.done.done())
    seconds = time.perf_counter() - started
    lat = sorted(stats.latencies)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    return {
        "generator": "bench/loadgen.py",
        "requests": len(lat),
        "seconds": seconds,
        "rps": len(lat) / seconds,
        "p50": pct(0.50),
        "p75": pct(0.75),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "non_2xx": stats.bad,
        "socket_errors": stats.errors,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--paths", type=Path, required=True, help="request paths, one a line")
    ap.add_argument("--token", default="")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--duration", type=float, default=10.0)
    args = ap.parse_args(argv)
    paths = [p for p in args.paths.read_text(encoding="ascii").splitlines() if p]
    result = uvloop.run(run(args.url, paths, args.token, args.connections, args.duration))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
