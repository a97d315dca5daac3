"""``socialcredit profile|check|objection|repair|demo``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the registry commands to the root app."""
