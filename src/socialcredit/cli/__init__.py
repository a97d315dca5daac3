"""The ``socialcredit`` command: thin Typer commands over policy, registry and (later) sim.

Every error this package raises on purpose is printed as one line naming the field and the
problem, with a non-zero exit code; nothing reaches the user as a traceback.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from socialcredit.cli import policy, records, registry, service, sim, study
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
app.add_typer(registry.catalog_app, name="catalog")
app.add_typer(records.app, name="records")
registry.register(app)
app.command("simulate")(sim.simulate_cmd)
app.add_typer(sim.scenarios_app, name="scenarios")
app.add_typer(sim.regimes_app, name="regimes")
app.command("serve")(service.serve_cmd)
app.add_typer(service.keys_app, name="keys")
app.add_typer(service.audit_app, name="audit")
app.add_typer(study.app, name="study")

err_console = Console(stderr=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point. Exits 0 on success, 2 for bad input or a refused step (1 for a refused
    catalog in ``policy check``), 70 for an internal error.

    Errors raised on purpose are shown as one line naming the field and the problem. Anything
    else is a bug: it is reported in one line too, and ``SOCIALCREDIT_DEBUG=1`` shows the
    traceback.
    """
    try:
        app(args=argv, prog_name="socialcredit")
    except SocialCreditError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a bug: never a traceback for the user unless asked for
        if os.environ.get("SOCIALCREDIT_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))} "
            "(run with SOCIALCREDIT_DEBUG=1 for details)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(70)
