"""``socialcredit db init`` and ``socialcredit records import``."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from socialcredit.cli.options import DbOpt, RefusedCatalogOpt
from socialcredit.errors import ImportRejected, InputError
from socialcredit.registry.catalogs import (
    activate_bundled,
    catalog_for,
    in_force,
    not_in_force_note,
    refuse_catalog_option,
)
from socialcredit.registry.config import db_url, parse_date, registry_url
from socialcredit.registry.importing import (
    check_file,
    import_events_file,
    import_file,
    is_events_file,
)
from socialcredit.registry.ledger import Ledger, normalise_url

db_app = typer.Typer(help="The ledger database.", no_args_is_help=True)
app = typer.Typer(help="Records filed by authorities.", no_args_is_help=True)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@db_app.command("init")
def init_cmd(
    db: DbOpt = None,
    catalogs: Annotated[
        bool,
        typer.Option(
            "--catalogs/--no-catalogs",
            help="Put the bundled admissible catalogs in force when none is (default).",
        ),
    ] = True,
) -> None:
    """Create the ledger's tables, or migrate them to the newest version; a new registry gets
    the bundled admissible catalogs in force (``socialcredit catalog``)."""
    url = normalise_url(db_url(db))
    with Ledger.open(url) as ledger:
        ledger.init()
        activated = []
        if catalogs and not ledger.catalog_versions():
            activated = activate_bundled(ledger, actor="db init")
    typer.echo(f"database ready: {_shown(url)}")
    if activated:
        typer.echo(f"catalogs in force: {', '.join(v.source for v in activated)}")


@db_app.command("verify")
def verify_cmd(db: DbOpt = None) -> None:
    """Check the audit log's hash chain from the first entry to the last."""
    with Ledger.open(registry_url(db)) as ledger:
        ledger.verify_audit()
    typer.echo("audit log intact")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="JSON Lines or CSV file of records.")],
    db: DbOpt = None,
    fmt: Annotated[
        FileFormat | None,
        typer.Option("--format", help="jsonl or csv (default: from the file's extension)."),
    ] = None,
    catalog: Annotated[
        list[str] | None,
        typer.Option(
            "--catalog",
            help="With --dry-run only: check against these catalogs (path or bundled id, "
            "repeat) instead of those in force.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Today for validation and projections (YYYY-MM-DD)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check every line and report; write nothing."),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            help="Worker processes parsing a large file (default: one per core; 1 parses "
            "in this process).",
        ),
    ] = None,
) -> None:
    """Import records, all or nothing: every line is checked before anything is written. A JSON
    Lines file of lifecycle events (``record``: the record's client_key, ``event``, ``on``,
    optional ``note``; what ``simulate --trace`` writes as ``events.jsonl``) is imported the
    same way, after the records it names. ``--dry-run`` checks a file of records against the
    catalogs in force (or those given with ``--catalog``) and writes nothing."""
    if not dry_run:
        refuse_catalog_option(catalog, command="records import")
    if jobs is not None and jobs < 1:
        raise InputError("jobs", f"--jobs must be at least 1 (got {jobs})")
    today = date.today()
    on = parse_date(as_of, field="as-of", default=today)
    if on > today:
        raise InputError(
            "as-of", f"{on} is in the future: records are checked against today ({today})"
        )
    events = fmt is not FileFormat.csv and file.suffix != ".csv" and is_events_file(file)
    if dry_run:
        _dry_run(file, db, catalog, on, fmt, events=events, jobs=jobs)
        return
    with Ledger.open(registry_url(db)) as ledger:
        loaded = in_force(ledger, on)
        try:
            if events:
                report = import_events_file(ledger, file, catalog=loaded, as_of=on)
            else:
                report = import_file(
                    ledger,
                    file,
                    catalog=loaded,
                    as_of=on,
                    fmt=fmt.value if fmt is not None else None,
                    jobs=jobs,
                )
        except ImportRejected as exc:
            err_console.print(
                f"[bold red]error:[/] {file.name}: {len(exc.problems)} bad line(s), "
                "nothing imported"
            )
            for n, field, message in exc.problems:
                err_console.print(f"line {n}: {field}: {message}", markup=False)
            raise typer.Exit(code=exc.exit_code) from None
    if events:
        skipped = f", {report.skipped} the records had already, skipped" if report.skipped else ""
        typer.echo(f"imported {report.imported} lifecycle event(s){skipped} "
                   f"({report.seconds:.2f} s)")  # fmt: skip
        return
    typer.echo(
        f"imported {report.imported} record(s), skipped {report.skipped} already present "
        f"({report.seconds:.2f} s, {report.rate:,.0f} records/s)"
    )


def _dry_run(
    file: Path,
    db: str | None,
    refs: list[str] | None,
    on: date,
    fmt: FileFormat | None,
    *,
    events: bool,
    jobs: int | None,
) -> None:
    """``records import --dry-run``: every line checked as the import checks it, nothing
    written and nothing kept (:func:`check_file` reads the file a chunk at a time, so memory
    stays bounded however large it is); with ``--catalog``, the registry is not even
    opened."""
    if events:
        raise InputError(
            "dry-run", f"{file.name} holds lifecycle events: --dry-run checks files of records "
            "only (an event's record is looked up in the registry as it is imported)"
        )  # fmt: skip
    if refs:
        loaded = catalog_for(None, refs, on)
    else:
        with Ledger.open(registry_url(db)) as ledger:
            loaded = in_force(ledger, on)
    try:
        count = check_file(file, catalog=loaded, as_of=on,
                           fmt=fmt.value if fmt is not None else None, jobs=jobs)  # fmt: skip
    except ImportRejected as exc:
        err_console.print(
            f"[bold red]error:[/] {file.name}: {len(exc.problems)} bad line(s); dry run, "
            "nothing imported"
        )
        for n, field, message in exc.problems:
            err_console.print(f"line {n}: {field}: {message}", markup=False)
        if refs:
            err_console.print(not_in_force_note(loaded), markup=False)
        raise typer.Exit(code=exc.exit_code) from None
    typer.echo(f"dry run: {count} record(s) in {file.name} pass the import's "
               f"checks as of {on}; nothing written (records already filed are not looked "
               "up)")  # fmt: skip
    if refs:
        typer.echo(not_in_force_note(loaded))


@app.command("fulfil")
def fulfil_cmd(
    record: Annotated[str, typer.Argument(help="Record id.")],
    authority: Annotated[str, typer.Option("--authority", help="The designating authority.")],
    on: Annotated[str | None, typer.Option("--on", help="When (default today).")] = None,
    creditor_request: Annotated[
        bool,
        typer.Option(
            "--creditor-request", help="The creditor asked for removal (not performance)."
        ),
    ] = False,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Record that the obligation behind a record was performed (lists allowing it end)."""
    from socialcredit.registry import workflows

    refuse_catalog_option(catalog, command="records fulfil")
    today = date.today()
    day = parse_date(on, field="on", default=today)
    with Ledger.open(registry_url(db)) as ledger:
        loaded = in_force(ledger, today)
        ev = workflows.record_fulfilment(
            ledger, loaded, record, authority=authority, on=day, today=today,
            creditor_request=creditor_request,
        )  # fmt: skip
    typer.echo(f"record {ev.record_id}: {ev.kind.value.replace('_', ' ')} on {ev.on}")


@app.command("revoke")
def revoke_cmd(
    record: Annotated[str, typer.Argument(help="Record id.")],
    authority: Annotated[str, typer.Option("--authority", help="The designating authority.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the decision is withdrawn.")],
    on: Annotated[str | None, typer.Option("--on", help="When (default today).")] = None,
    db: DbOpt = None,
    catalog: RefusedCatalogOpt = None,
) -> None:
    """Withdraw a decision: the record then has no effect at all (it stays in the ledger)."""
    from socialcredit.registry import workflows

    refuse_catalog_option(catalog, command="records revoke")
    today = date.today()
    day = parse_date(on, field="on", default=today)
    with Ledger.open(registry_url(db)) as ledger:
        loaded = in_force(ledger, today)
        ev = workflows.revoke(
            ledger, loaded, record, authority=authority, reason=reason, on=day, today=today
        )
    typer.echo(f"record {ev.record_id}: revoked on {ev.on}")
