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

from socialcredit.errors import ImportRejected
from socialcredit.registry.config import db_url, parse_date
from socialcredit.registry.importing import import_file, registry_catalog
from socialcredit.registry.ledger import Ledger, normalise_url

db_app = typer.Typer(help="The ledger database.", no_args_is_help=True)
app = typer.Typer(help="Records filed by authorities.", no_args_is_help=True)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database URL or SQLite path (default $SOCIALCREDIT_DB)."),
]


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@db_app.command("init")
def init_cmd(db: DbOpt = None) -> None:
    """Create the ledger's tables, or migrate them to the newest version."""
    url = normalise_url(db_url(db))
    with Ledger.open(url) as ledger:
        ledger.init()
    typer.echo(f"database ready: {_shown(url)}")


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
            "--catalog", help="Catalog path or bundled id (repeat); default: all admissible."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Today for validation and projections (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Import records, all or nothing: every line is checked before anything is written."""
    on = parse_date(as_of, field="as-of", default=date.today())
    loaded = registry_catalog(catalog or ())
    with Ledger.open(db_url(db)) as ledger:
        try:
            report = import_file(
                ledger,
                file,
                catalog=loaded,
                as_of=on,
                fmt=fmt.value if fmt is not None else None,
            )
        except ImportRejected as exc:
            err_console.print(
                f"[bold red]error:[/] {file.name}: {len(exc.problems)} bad line(s), "
                "nothing imported"
            )
            for n, field, message in exc.problems:
                err_console.print(f"line {n}: {field}: {message}", markup=False)
            raise typer.Exit(code=exc.exit_code) from None
    typer.echo(
        f"imported {report.imported} record(s), skipped {report.skipped} already present "
        f"({report.seconds:.2f} s, {report.rate:,.0f} records/s)"
    )
