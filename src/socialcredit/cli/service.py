"""``socialcredit serve``, ``keys`` and ``audit``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from socialcredit.cli.options import DbOpt
from socialcredit.errors import InputError
from socialcredit.registry.catalogs import in_force
from socialcredit.registry.config import db_url, parse_date, registry_url
from socialcredit.registry.ledger import Ledger
from socialcredit.service.api import ROLES

console = Console(highlight=False)
keys_app = typer.Typer(
    help="API keys: who may call the service, in which role.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _ledger(db: str | None) -> Ledger:
    """The registry of a command over one made before (``db init``): none is made here, so a
    mistyped ``--db`` is an error, not a new registry with no catalogs."""
    return Ledger.open(registry_url(db))


def _served(db: str | None) -> Ledger:
    """The registry ``serve`` answers from, its tables made or migrated if they are not."""
    ledger = Ledger.open(db_url(db))
    if not ledger.is_initialised():
        ledger.init()
    return ledger


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    principal: Annotated[
        str,
        typer.Option(
            "--principal",
            help="authority: its id; consumer: the measure domain it checks (e.g. transport); "
            "subject: the resident ID or USCC; admin: a name.",
        ),
    ],
    label: Annotated[str, typer.Option("--label", help="A note on who holds the key.")] = "",
    db: DbOpt = None,
) -> None:
    """Create a key and print its token (shown only once)."""
    from socialcredit.registry import subjects

    if role not in ROLES:
        raise InputError("role", f"{role!r} is not a role (one of: {', '.join(ROLES)})")
    ledger = _ledger(db)
    try:
        index = in_force(ledger, date.today()).index
        if role == "authority" and principal not in index.authorities:
            raise InputError("principal", f"no authority {principal!r} in the catalogs in force")
        domains = sorted({m.domain for m in index.measures.values()})
        if role == "consumer" and principal not in domains:
            raise InputError(
                "principal", f"no measure domain {principal!r} (one of: {', '.join(domains)})"
            )
        if role == "subject":
            principal, _ = subjects.validate(principal, field="principal")
        if not principal.strip():
            raise InputError("principal", "is empty")
        token = ledger.create_key(role=role, principal=principal, label=label, actor="cli")
    finally:
        ledger.close()
    typer.echo(token)


@keys_app.command("list")
def keys_list(db: DbOpt = None) -> None:
    """Every key (never its secret)."""
    ledger = _ledger(db)
    try:
        keys = ledger.keys()
    finally:
        ledger.close()
    table = Table("key", "role", "principal", "label", "created", "revoked")
    for k in keys:
        table.add_row(k.key_id, k.role, k.principal, k.label, f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id.")], db: DbOpt = None
) -> None:
    """Revoke a key (it stops working within seconds)."""
    ledger = _ledger(db)
    try:
        ledger.revoke_key(key_id, actor="cli")
    finally:
        ledger.close()
    console.print(f"revoked {key_id}")


@audit_app.command("verify")
def audit_verify(db: DbOpt = None) -> None:
    """Walk the audit chain; exit 2 naming the first edited or deleted entry."""
    ledger = _ledger(db)
    try:
        ledger.verify_audit()
        n = ledger.last_audit_seq()
    finally:
        ledger.close()
    console.print(f"audit log intact: {n} entries")


def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    db: DbOpt = None,
    today: Annotated[
        str | None, typer.Option("--today", help="Run the registry as of this date (demos).")
    ] = None,
    studies: Annotated[
        Path, typer.Option("--studies", help="Folder of study runs the portal lists.")
    ] = Path("out"),
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, help="Worker processes (PostgreSQL only above 1)."),
    ] = 1,
    filing_process: Annotated[
        bool,
        typer.Option(
            "--filing-process/--no-filing-process",
            help="File records in a process of its own (each worker's), off the core and "
            "GIL of the event loop that answers checks.",
        ),
    ] = True,
    index_snapshot: Annotated[
        Path | None,
        typer.Option(
            "--index-snapshot",
            help="Keep the check index between starts in this file (default: beside a SQLite "
            "database; none for PostgreSQL). A national registry starts in seconds from it.",
        ),
    ] = None,
) -> None:
    """Serve the API (/api/v1, /openapi.json) and the portal on the embedded SQLite default."""
    from socialcredit.service import server
    from socialcredit.service.app import create_app

    fixed = parse_date(today, field="today") if today else None
    ledger = _served(db)
    if workers > 1 and ledger.url.startswith("sqlite"):
        ledger.close()
        raise InputError(
            "workers", "several workers need PostgreSQL: SQLite has one writer at a time, and "
            "each worker's audit writer would wait for the others' (serve SQLite with one)"
        )  # fmt: skip
    catalog = in_force(ledger, fixed or date.today())
    # workers share one snapshot file: each writes it whole and renames it into place
    snapshot: Path | Literal["auto"] = index_snapshot or "auto"
    on_day = (lambda: fixed) if fixed else date.today
    console.print(
        f"serving on http://{host}:{port}  (portal: sign in with a key from "
        f"`socialcredit keys create`; OpenAPI: http://{host}:{port}/openapi.json)"
        + (f"; {workers} workers" if workers > 1 else "")
    )
    if workers == 1:
        app = create_app(ledger, catalog, today=on_day, studies=studies, index_snapshot=snapshot,
                         filing_process=filing_process)  # fmt: skip
        server.run(app, host=host, port=port)
        return
    url = ledger.url
    ledger.close()  # nothing of the database crosses the fork: each worker opens its own

    def make_app() -> Any:
        return create_app(Ledger.open(url), catalog, today=on_day, studies=studies,
                          index_snapshot=snapshot, filing_process=filing_process)  # fmt: skip

    server.run_workers(make_app, host=host, port=port, workers=workers)
