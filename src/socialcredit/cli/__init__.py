"""The ``socialcredit`` command: thin Typer commands over policy, registry and (later) sim.

Every error this package raises on purpose is printed as one line naming the field and the
problem, with a non-zero exit code; nothing reaches the user as a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from socialcredit.cli import policy, records, registry
from socialcredit.errors import SocialCreditError

app = typer.Typer(
    name="socialcredit",
    help="An open, inspectable social credit registry with due process, and its simulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(policy.app, name="policy")
app.add_typer(records.db_app, name="db")
app.add_typer(records.app, name="records")
registry.register(app)

err_console = Console(stderr=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point. Exits with 0 on success, 1 for a refused check, 2 for bad input."""
    try:
        app(args=argv, prog_name="socialcredit")
    except SocialCreditError as exc:
        err_console.print(
            f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
