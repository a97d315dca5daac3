"""The consumer check path over HTTP: ``GET /api/v1/checks/{subject}/{measure}``.

What it measures: requests/s and latency percentiles (p50, p75, p90, p99) of the service's
check route, one server process pinned to one core (``taskset -c 0``), the load generator
(keep-alive connections) pinned to the other core, on loopback. The load generator is ``wrk``
(one thread, ``--latency``) if it is on the PATH; otherwise ``bench/loadgen.py``, a small
asyncio client on uvloop that needs nothing but the project's own dependencies (it is slower
than wrk, so at high rates it may set the pace: the output names the generator, and figures
from the two are not comparable). Nothing is installed as it runs.
Next to it, in the same run and under the same conditions, the peer: a plain FastAPI route
with a pydantic response model (``response_model=CheckOut``, returning a ``CheckOut``) that
answers the same question from a dict built from the same projection, with no key, no subject
validation and no audit entry.

The fixture: a fresh SQLite ledger with every bundled admissible catalog in force and
``--subjects`` persons (100,000), one record each, ``--listed`` of them (10%) with a court
record that puts them on the list of dishonest judgment debtors (flight, G-train and other
transport restrictions), the others with a lawful credit record; imported in one batch
(``Ledger.import_records``) with the projection refreshed; one consumer key for the
``transport`` domain. The wrk script rotates over every subject (shuffled), each with one of
the five transport restrictions, so listed and unlisted subjects are mixed 1:9.

Ours: ``socialcredit serve`` (uvicorn with uvloop and the service's own httptools protocol,
``CheckProtocol``, which answers a well-formed check without the ASGI layer; no access log, no
proxy headers), so every check authenticates the key (cached), validates the subject ID, looks
up the in-memory index and leaves an audit entry (committed in groups to the read journal,
then moved into the hash chain by the server's chainer thread, on the same core); the answer
waits for its group's commit. After the runs the audit entries are counted against the
requests.

Two more sides put the figures in proportion: ``floor``, a bare ASGI callable answering a fixed
body of the same size on the same server settings (what uvicorn and the kernel cost per request
on this machine, before any application code), and ``unaudited`` (diagnostic, ``--sides``), the
service with check entries dropped instead of written, which is never a configuration. For
each run the server process's CPU time per request (user + system, from ``/proc``) is printed
too: it is steadier than requests/s on a machine shared with other work.

Under filing load (side ``filing``): the same server as ``ours`` while ``--filers`` (8)
authority clients file records through the API's filing route (``POST /api/v1/records``, real
HTTP, one keep-alive connection and one key each, half of them the court filing a record that
lists a new person, half a lender filing a lawful credit record; each files its next record as
soon as the previous one is answered). The filing clients run in one process of their own
(a thread each) on the load generator's core; every filing is a write transaction of the
ledger (the record, the subject's projection and an audit entry, committed) that the chainer
must take turns with (the checks' own entries go to the read journal, which filings do not
lock). The filings answered in the measured window give
the filing rate; the peer and the floor have no filing route and run without it.
``socialcredit serve`` files through its filing writer (``service/filer.py``: a child process
of the server with its own database connection, to which the server hands each filing over a
pipe); the benchmark moves that child to the load generator's core once the server is up, so
the server's core is left to the checks (and to what a filing still costs the server: the
route, the hand-over, reloading the filed subject into the check index). Side
``filing-one-core`` leaves the writer on the server's core (the whole service on one core,
the writer's own GIL); ``filing-inline`` is the same load on ``serve --no-filing-process``,
filings written by the server's own process on its one core, as before the writer.

Each side is run ``--runs`` times (a fresh server each round, sides alternating, a warm-up
before each measured run); the medians and the ratios are printed. Run::

    .venv/bin/python bench/bench_checks.py
    .venv/bin/python bench/bench_checks.py --sides ours,peer,floor,unaudited --runs 3
    .venv/bin/python bench/bench_checks.py --sides ours,filing,peer,floor --connections 16
    .venv/bin/python bench/bench_checks.py --sides ours,filing,filing-inline,peer,floor \
        --connections 16
    .venv/bin/python bench/bench_checks.py --db /tmp/vis10m/registry.db --sides ours
    .venv/bin/python bench/bench_checks.py --smoke      # a few seconds (the tests)
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from benchlib import Figure, add_arguments, emit
from socialcredit.identifiers import resident_id
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.ledger import Ledger, RecordChecker, default_projector

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 6, 1)
LISTED_TYPE = ("court.dishonest_debtor.refuse_to_perform", "court")
PLAIN_TYPE = ("lenders.on_time", "lenders")
MEASURES = (
    "restrict.flight",
    "restrict.g_train",
    "restrict.emu_first_class",
    "restrict.soft_sleeper",
    "restrict.ship_second_class",
)
SERVER_CORE = "0"
CLIENT_CORE = "1"
OURS = ("ours", "filing", "filing-one-core", "filing-inline")
"""The sides that run ``socialcredit serve``."""
FILING = ("filing", "filing-one-core", "filing-inline")

LUA = """
local paths = {}
local n = 0
local i = 0
init = function(args)
  for line in io.lines(args[1]) do
    n = n + 1
    paths[n] = line
  end
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
end
request = function()
  i = i % n + 1
  return wrk.format("GET", paths[i])
end
"""


def person_id(i: int) -> str:
    """The ``i``-th synthetic valid resident ID (Beijing Dongcheng, distinct for i < 18M)."""
    return resident_id(110101, date(1950, 1, 1) + timedelta(days=i % 18_000), i // 18_000)


# -------------------------------------------------------------------------------- fixture


def build(db: Path, subjects: int, listed: float, seed: int = 11) -> tuple[str, list[str]]:
    """The ledger at ``db``; returns the consumer token and the subjects, shuffled."""
    rng = random.Random(seed)
    catalog = registry_catalog()
    checker = RecordChecker(catalog, today=TODAY)
    people = [person_id(i) for i in range(subjects)]
    chosen = set(rng.sample(range(subjects), int(subjects * listed)))
    rows = []
    for i, subject in enumerate(people):
        record_type, authority = LISTED_TYPE if i in chosen else PLAIN_TYPE
        day = date(2025, 7, 1) + timedelta(days=rng.randrange(300))
        rows.append(
            checker.check(
                subject, record_type, authority, day.isoformat(), f"bench {i}", None, f"bench-{i}"
            )  # fmt: skip
        )
    with Ledger.open(str(db)) as ledger:
        ledger.init()
        ledger.import_records(
            rows, actor="bench", as_of=TODAY, project=default_projector(catalog, TODAY)
        )
        token = ledger.create_key(role="consumer", principal="transport", actor="bench")
    rng.shuffle(people)
    return token, people


def existing(db: Path, sample: int, seed: int = 11) -> tuple[str, list[str]]:
    """A registry built elsewhere (``--db``, e.g. by ``bench/bench_visibility.py --keep``):
    adds a consumer key to it and returns the token and ``sample`` of its persons, drawn at
    random (listed or not, as the registry holds them)."""
    with Ledger.open(str(db)) as ledger:
        token = ledger.create_key(role="consumer", principal="transport", actor="bench")
    conn = sqlite3.connect(db)
    try:
        top = int(conn.execute("SELECT max(rowid) FROM subjects").fetchone()[0] or 0)
        rng = random.Random(seed)
        rowids = rng.sample(range(1, top + 1), min(sample, top))
        people: list[str] = []
        for part in range(0, len(rowids), 10_000):
            chunk = rowids[part : part + 10_000]
            people += [r[0] for r in conn.execute(
                f"SELECT subject FROM subjects WHERE kind = 'person' AND rowid IN "
                f"({','.join('?' * len(chunk))})", chunk)]  # fmt: skip
    finally:
        conn.close()
    if not people:
        raise SystemExit(f"--db {db}: no persons in its subjects table")
    rng.shuffle(people)
    return token, people


def write_paths(path: Path, people: list[str]) -> None:
    lines = [f"/api/v1/checks/{s}/{MEASURES[i % len(MEASURES)]}" for i, s in enumerate(people)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


# -------------------------------------------------------------------------------- filing load


def filer_tokens(db: Path, filers: int) -> list[str]:
    """One authority key per filing client: the court and a lender, in turn."""
    authorities = ("court", "lenders")
    with Ledger.open(str(db)) as ledger:
        return [ledger.create_key(role="authority", principal=authorities[i % 2], actor="bench")
                for i in range(filers)]  # fmt: skip


def file_records(
    url: str, tokens: list[str], seconds: float, first: int, tag: str = ""
) -> dict[str, Any]:
    """Each token's client files records one after another for ``seconds`` (a thread and a
    keep-alive connection each); returns when each filing was answered (``time.time()``) and
    its latency, and the failures."""
    parts = url.removeprefix("http://").split(":")
    host, port = parts[0], int(parts[1])
    done: list[tuple[float, float]] = []
    failures: list[str] = []
    until = time.monotonic() + seconds
    lock = threading.Lock()

    def client(n: int, token: str) -> None:
        record_type = LISTED_TYPE[0] if n % 2 == 0 else PLAIN_TYPE[0]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection(host, port, timeout=30)
        i = 0
        while time.monotonic() < until:
            body = orjson.dumps({
                "subject": person_id(first + n * 500_000 + i), "record_type": record_type,
                "decided_on": (date(2026, 1, 1) + timedelta(days=i % 120)).isoformat(),
                "decision_ref": f"filed {n}-{i}",
                "client_key": f"filer-{first}-{n}-{i}{tag}"})  # fmt: skip
            sent = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/records", body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    failures.append(f"client {n}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                continue
            latency = time.perf_counter() - sent
            with lock:
                if resp.status == 201:
                    done.append((time.time(), latency))
                else:
                    failures.append(f"client {n}: {resp.status} {answer[:200]!r}")
            i += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n, t)) for n, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"done": done, "failures": failures}


def first_filing(url: str, token: str, subject: str, key: str) -> None:
    """One filing, answered, before the filing clients start: what a server's first filing
    costs once (a new filing writer's first transaction) is not in the measured window."""
    parts = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(parts[0], int(parts[1]), timeout=120)
    body = orjson.dumps({"subject": subject, "record_type": LISTED_TYPE[0],
                         "decided_on": "2026-01-05", "decision_ref": "first filing",
                         "client_key": key})  # fmt: skip
    try:
        conn.request("POST", "/api/v1/records", body=body,
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})  # fmt: skip
        resp = conn.getresponse()
        answer = resp.read()
    finally:
        conn.close()
    if resp.status != 201:
        raise SystemExit(f"the first filing failed: {resp.status} {answer[:200]!r}")


def start_filers(url: str, tokens: list[str], seconds: float, first: int,
                 out: Path, tag: str = "") -> subprocess.Popen[bytes]:  # fmt: skip
    """The filing clients in a process of their own on the load generator's core."""
    me = str(Path(__file__).resolve())
    cmd = ["taskset", "-c", CLIENT_CORE, sys.executable, me, "--file-records", url,
           ",".join(tokens), f"{seconds:g}", str(first), str(out), tag]  # fmt: skip
    return subprocess.Popen(cmd)


def filing_figures(out: Path, started: float, ended: float) -> dict[str, float]:
    """Filings answered between ``started`` and ``ended`` (wall clock): rate and latency."""
    result = orjson.loads(out.read_bytes())
    if result["failures"]:
        raise SystemExit(f"filings failed: {result['failures'][:5]} ({len(result['failures'])})")
    inside = sorted(lat for at, lat in result["done"] if started <= at <= ended)
    if not inside:
        raise SystemExit("no filing was answered while the checks were measured")

    def pct(q: float) -> float:
        return inside[min(len(inside) - 1, int(q * len(inside)))] * 1000

    return {"filings": float(len(inside)), "filing_rate": len(inside) / (ended - started),
            "filing_p50": pct(0.5), "filing_p99": pct(0.99)}  # fmt: skip


# -------------------------------------------------------------------------------- the peer


def peer_app(db: str) -> Any:
    """A plain FastAPI route with a pydantic response model over the same projection."""
    from typing import Literal

    from fastapi import FastAPI
    from pydantic import BaseModel

    class Reason(BaseModel):
        code: Literal["LISTED", "THRESHOLD", "NOT_ELIGIBLE"]
        list: str | None = None
        memorandum: str | None = None
        until: date | None = None

    class CheckOut(BaseModel):
        subject: str
        measure: str
        decision: Literal["allow", "deny"]
        until: date | None
        reasons: list[Reason]
        as_of: date

    index: dict[str, dict[str, list[tuple[str | None, str | None, date | None]]]] = {}
    with Ledger.open(db) as ledger:
        for subject, m in ledger.projection_rows():
            index.setdefault(subject, {}).setdefault(m.measure, []).append(
                (m.list, m.memorandum, m.until)
            )

    app = FastAPI()

    @app.get("/api/v1/checks/{subject}/{measure}", response_model=CheckOut)
    async def check(subject: str, measure: str) -> CheckOut:
        entries = index.get(subject, {}).get(measure, [])
        reasons = [Reason(code="LISTED", list=lst, memorandum=memo, until=until)
                   for lst, memo, until in entries]  # fmt: skip
        until = max((e[2] for e in entries if e[2] is not None), default=None)
        return CheckOut(subject=subject, measure=measure,
                        decision="deny" if entries else "allow", until=until,
                        reasons=reasons, as_of=TODAY)  # fmt: skip

    return app


def floor_app() -> Any:
    """The floor: a bare ASGI callable answering every request with a fixed check answer of
    the same size, no framework, nothing looked up."""
    body = orjson.dumps({"subject": "110101195001010011", "measure": "restrict.flight",
                         "decision": "allow", "until": None, "reasons": [],
                         "as_of": TODAY.isoformat()})  # fmt: skip
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def unaudited_app(db: str) -> Any:
    """Diagnostic only, never a configuration: the service with check entries dropped instead
    of written, to show what the audit write costs."""
    from socialcredit.service import state
    from socialcredit.service.app import create_app

    async def at_once(self: Any, ticket: int) -> None:
        return None

    # entries dropped: nothing to wait for, so every answer is released at once
    state.AuditBuffer.add_row = lambda self, row: 0  # type: ignore[method-assign]
    state.AuditBuffer.when_durable = (  # type: ignore[method-assign]
        lambda self, ticket, callback: callback(True)
    )
    state.AuditBuffer.durable = at_once  # type: ignore[method-assign]
    return create_app(Ledger.open(db), registry_catalog(), today=lambda: TODAY)


def serve_other(side: str, db: str, port: int) -> None:
    """The other sides, on the settings ``socialcredit serve`` uses."""
    import uvicorn

    if side == "unaudited":
        from socialcredit.service import server

        server.run(unaudited_app(db), host="127.0.0.1", port=port)
        return
    app = {"peer": lambda: peer_app(db), "floor": floor_app}[side]()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                proxy_headers=False, loop="uvloop", http="httptools")  # fmt: skip


# -------------------------------------------------------------------------------- running


def load_generator(choice: str) -> str | None:
    """wrk's path if it is to be used, None for ``bench/loadgen.py``."""
    found = shutil.which("wrk")
    if choice == "wrk" and not found:
        raise SystemExit(
            "--load-generator wrk: wrk is not on the PATH (Debian: apt-get install "
            "wrk); without it, --load-generator python uses bench/loadgen.py"
        )
    if choice == "python" or not found:
        print("load generator: bench/loadgen.py (wrk is not on the PATH, or not chosen)")
        return None
    print(f"load generator: {found}")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(side: str, db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    if side in OURS:
        cmd = [sys.executable, "-m", "socialcredit", "serve", "--db", str(db),
               "--port", str(port), "--today", TODAY.isoformat()]  # fmt: skip
        if side == "filing-inline":
            cmd.append("--no-filing-process")
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", side, str(db),
               "--port", str(port)]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *cmd], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    return proc


def pin_children(pid: int, core: str) -> list[int]:
    """Put the server's child processes (its filing writer) on ``core``; returns their ids."""
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    children = [int(c) for c in found]
    for child in children:
        os.sched_setaffinity(child, {int(core)})
    return children


def wait_ready(port: int, path: str, token: str, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode})")
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            with urllib.request.urlopen(req, timeout=5) as resp:
                body: dict[str, Any] = orjson.loads(resp.read())
                return body
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not answer") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNIT[unit]


def load_run(wrk: str | None, url: str, script: Path, paths: Path, token: str, *,
             duration: float, connections: int) -> dict[str, float]:  # fmt: skip
    if wrk is None:
        return loadgen_run(url, paths, token, duration=duration, connections=connections)
    return wrk_run(wrk, url, script, paths, token, duration=duration, connections=connections)


def loadgen_run(url: str, paths: Path, token: str, *, duration: float,
                connections: int) -> dict[str, float]:  # fmt: skip
    cmd = ["taskset", "-c", CLIENT_CORE, sys.executable, str(Path(__file__).parent / "loadgen.py"),
           "--url", url, "--paths", str(paths), "--token", token,
           "--connections", str(connections), "--duration", f"{duration:g}"]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = orjson.loads(out)
    if result["non_2xx"] or result["socket_errors"]:
        raise SystemExit(f"the load generator saw failures: {result}")
    return {k: float(result[k]) for k in ("rps", "requests", "p50", "p75", "p90", "p99")}


def wrk_run(wrk: str, url: str, script: Path, paths: Path, token: str, *, duration: float,
            connections: int) -> dict[str, float]:  # fmt: skip
    cmd = ["taskset", "-c", CLIENT_CORE, wrk, "-t1", f"-c{connections}", f"-d{duration:g}s",
           "--latency", "-s", str(script), url, "--", str(paths), token]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))}  # type: ignore[union-attr]
    result["requests"] = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    for pct in ("50", "75", "90", "99"):
        value = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
        result[f"p{pct}"] = _ms(value)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise SystemExit(f"wrk saw failures:\n{out}")
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def audit_checks(db: Path) -> int:
    """Check entries in the audit chain, once what the read journal holds is chained."""
    with Ledger.open(str(db)) as ledger:
        ledger.chain_all_reads()
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'check %'").fetchone()
    finally:
        conn.close()
    return int(row[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--listed", type=float, default=0.1)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sides", default="ours,filing,peer,floor",
                        help="of ours, filing (ours while authorities file), peer, floor, "
                        "unaudited (diagnostic)")  # fmt: skip
    parser.add_argument("--filers", type=int, default=8,
                        help="authority clients filing during the 'filing' side")  # fmt: skip
    parser.add_argument("--file-records", nargs=6, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help="build the fixture in this folder and keep it")
    parser.add_argument("--db", type=Path,
                        help="serve this existing SQLite registry instead of building one (a "
                        "consumer key is added to it; checks rotate over --subjects of its "
                        "persons, drawn at random)")  # fmt: skip
    parser.add_argument("--serve", nargs=2, metavar=("SIDE", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--load-generator", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk if on the PATH, else bench/loadgen.py")  # fmt: skip
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.serve:
        serve_other(args.serve[0], args.serve[1], args.port)
        return
    if args.file_records:
        url, tokens, seconds, first, out, tag = args.file_records
        result = file_records(url, tokens.split(","), float(seconds), int(first), tag)
        Path(out).write_bytes(orjson.dumps(result))
        return
    if args.smoke:
        args.subjects, args.duration, args.warmup, args.runs = 300, 1.0, 0.5, 1
        args.connections, args.filers = 4, 2
        args.sides = "ours,filing,peer"
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: one for the server, one for the load generator")
    wrk = load_generator(args.load_generator)
    sides = args.sides.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.db is not None:
            if not args.db.is_file():
                raise SystemExit(f"--db {args.db}: no such file")
            db = args.db
            token, people = existing(db, args.subjects)
            print(f"registry: {db} ({db.stat().st_size / 2**30:.1f} GiB), checks over "
                  f"{len(people):,} of its persons")  # fmt: skip
        else:
            db = work / "checks.db"
            if db.exists():
                db.unlink()
            started = time.perf_counter()
            token, people = build(db, args.subjects, args.listed)
            print(f"fixture: {args.subjects:,} subjects, {args.listed:.0%} listed, "
                  f"built in {time.perf_counter() - started:.1f} s")  # fmt: skip
        paths, script = work / "paths.txt", work / "checks.lua"
        write_paths(paths, people)
        script.write_text(LUA, encoding="ascii")
        first_path = paths.read_text(encoding="ascii").split("\n", 1)[0]
        tokens = filer_tokens(db, args.filers) if any(s in FILING for s in sides) else []
        print(f"load: core {CLIENT_CORE}, {args.connections} connections, "
              f"{args.duration:g} s per run after {args.warmup:g} s warm-up; server on core "
              f"{SERVER_CORE}; {args.runs} runs per side")  # fmt: skip
        results: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
        sent = 0
        before = audit_checks(db)
        log = work / "server.log"
        for run in range(1, args.runs + 1):
            for side in sides:
                port = free_port()
                proc = start(side, db, port, log)
                try:
                    answer = wait_ready(port, first_path, token, proc)
                    assert answer["decision"] in ("allow", "deny"), answer
                    if side in OURS and side != "filing-one-core":
                        pin_children(proc.pid, CLIENT_CORE)  # the writer beside the load
                    url = f"http://127.0.0.1:{port}"
                    filers = None
                    if side in FILING:  # filing from before the warm-up to after the run
                        first = args.subjects + run * 4_000_000
                        first_filing(url, tokens[0], person_id(first + 3_900_000),
                                     f"first-{run}.{side}")  # fmt: skip
                        filed = work / "filed.json"
                        filers = start_filers(url, tokens, args.warmup + args.duration + 1.0,
                                              args.subjects + run * 4_000_000, filed,
                                              f".{side}")  # fmt: skip
                    if args.warmup > 0:
                        warm = load_run(wrk, url, script, paths, token, duration=args.warmup,
                                        connections=args.connections)  # fmt: skip
                    cpu = cpu_seconds(proc.pid)
                    measured = time.time()
                    r = load_run(wrk, url, script, paths, token, duration=args.duration,
                                 connections=args.connections)  # fmt: skip
                    ended = time.time()
                    cpu = cpu_seconds(proc.pid) - cpu
                    r["cpu_share"] = cpu / args.duration
                    r["cpu_us"] = cpu / r["requests"] * 1e6
                    if filers is not None:
                        if filers.wait(timeout=120) != 0:
                            raise SystemExit(f"the filing clients failed ({filers.returncode})")
                        r.update(filing_figures(filed, measured, ended))
                finally:
                    stop(proc)
                if side in OURS:
                    sent += int(r["requests"] + (warm["requests"] if args.warmup > 0 else 0)) + 1
                results[side].append(r)
                print(f"run {run} {side:9s} {r['rps']:>10,.0f} req/s   p50 {r['p50']:.2f} ms  "
                      f"p75 {r['p75']:.2f}  p90 {r['p90']:.2f}  p99 {r['p99']:.2f} ms   server CPU "
                      f"{r['cpu_us']:.0f} us/request, {r['cpu_share']:.0%} of a core")  # fmt: skip
                if side in FILING:
                    print(f"      {args.filers} filing clients: {r['filing_rate']:,.0f} filings/s "
                          f"({r['filings']:,.0f} answered while measured), filing p50 "
                          f"{r['filing_p50']:.1f} ms, p99 {r['filing_p99']:.1f} ms")  # fmt: skip
        print()
        medians: dict[str, dict[str, float]] = {}
        for side in sides:
            medians[side] = {k: statistics.median(r[k] for r in results[side])
                             for k in ("rps", "p50", "p75", "p90", "p99", "cpu_us")}  # fmt: skip
            m = medians[side]
            runs = " / ".join(f"{r['rps']:,.0f}" for r in results[side])
            print(f"{side:9s} median {m['rps']:>10,.0f} req/s (runs {runs}); p50 {m['p50']:.2f} "
                  f"p75 {m['p75']:.2f} p90 {m['p90']:.2f} p99 {m['p99']:.2f} ms; "
                  f"server CPU {m['cpu_us']:.0f} us/request")  # fmt: skip
            if side in FILING:
                for k in ("filing_rate", "filing_p50", "filing_p99"):
                    m[k] = statistics.median(r[k] for r in results[side])
                rates = " / ".join(f"{r['filing_rate']:,.0f}" for r in results[side])
                print(f"          filings median {m['filing_rate']:,.0f}/s (runs {rates}) by "
                      f"{args.filers} clients; filing p50 {m['filing_p50']:.1f} ms, p99 "
                      f"{m['filing_p99']:.1f} ms")  # fmt: skip
        for mine in OURS:
            for other in ("peer", "floor", "unaudited"):
                if mine in medians and other in medians:
                    ratio = medians[mine]["rps"] / medians[other]["rps"]
                    print(f"ratio {mine} / {other}: {ratio:.2f}x requests/s")
        if any(side in OURS for side in sides):
            logged = audit_checks(db) - before
            print(
                f"audit entries for checks: {logged:,} (the load generator counted {sent:,} "
                f"completed requests; requests still in flight when it stops may add a few)"
            )
            for mine in OURS:
                if mine in medians:
                    m = medians[mine]
                    met = m["rps"] >= 15_000 and m["p99"] <= 5.0
                    print(f"goal for {mine} (>= 15,000 checks/s, p99 <= 5 ms): "
                          f"{'met' if met else 'not met'}")  # fmt: skip
    generator = "wrk" if wrk else "bench/loadgen.py"
    size = f"{args.subjects:,} subjects, {args.connections} connections, {generator}"
    labels = {"peer": "plain FastAPI route", "floor": "bare ASGI floor",
              "unaudited": "ours, entries dropped"}  # fmt: skip
    figures = []
    for side in sides:
        m = medians[side]
        compare = "ours" in medians and side not in OURS
        figures.append(Figure("checks", f"{side}: requests/s", m["rps"], "requests/s",
                              runs=[r["rps"] for r in results[side]], size=size))  # fmt: skip
        figures.append(Figure("checks", f"{side}: p99", m["p99"], "ms", higher_is_better=False,
                              size=size))  # fmt: skip
        if compare:
            figures.append(Figure("checks", f"ours vs {side}: requests/s",
                                  medians["ours"]["rps"], "requests/s", peer=labels[side],
                                  peer_value=m["rps"], size=size))  # fmt: skip
        if side in FILING:
            figures.append(Figure("checks", f"{side}: filings/s", m["filing_rate"], "filings/s",
                                  runs=[r["filing_rate"] for r in results[side]],
                                  size=f"{args.filers} filing clients"))  # fmt: skip
    emit(args.json, figures)


if __name__ == "__main__":
    main()
