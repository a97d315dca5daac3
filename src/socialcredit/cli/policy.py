"""``socialcredit policy check|list|show``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Catalogs: check them against the guardrails, list and show them.", no_args_is_help=True)
