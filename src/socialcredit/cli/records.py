"""``socialcredit db init`` and ``socialcredit records import``."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="The ledger database.", no_args_is_help=True)
app = typer.Typer(help="Records filed by authorities.", no_args_is_help=True)
