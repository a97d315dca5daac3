"""A command over a registry refuses a path where there is none (a mistyped ``--db``): it
names the problem and makes nothing, neither an empty file nor a registry with no catalogs.
Only ``db init`` makes one (and ``serve``, which migrates what it is given)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from entry import Capture, cli

PERSON = "34052419800101001X"


@pytest.mark.parametrize(
    "command",
    [
        ("keys", "create", "--role", "consumer", "--principal", "transport"),
        ("keys", "list"),
        ("audit", "verify"),
        ("db", "verify"),
        ("profile", PERSON),
        ("check", PERSON, "restrict.flight"),
        ("catalog", "list"),
        ("access-log", PERSON),
    ],
)
def test_a_command_over_no_registry_makes_none(
    tmp_path: Path, capsys: Capture, command: tuple[str, ...]
) -> None:
    typo = tmp_path / "regsitry.db"
    code, _, err = cli(capsys, *command, "--db", str(typo))
    assert code == 2 and f"db: no registry at {typo}" in err, err
    assert not typo.exists()
    empty = tmp_path / "empty.db"  # a file, but no registry in it: not made into one
    empty.touch()
    code, _, err = cli(capsys, *command, "--db", str(empty))
    assert code != 0 and "not initialised" in err, err
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
