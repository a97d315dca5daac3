"""Options that several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL or SQLite path (default $SOCIALCREDIT_DB).")
]
"""The registry a command runs on."""

RefusedCatalogOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog",
        hidden=True,
        help="Refused: a command that writes runs the catalogs in force (socialcredit catalog "
        "activate); --catalog is for dry runs.",
    ),
]
"""``--catalog`` on a command that writes: accepted by the parser only to be refused by name
(:func:`~socialcredit.registry.catalogs.refuse_catalog_option`)."""
