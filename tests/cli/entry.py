"""The ``socialcredit`` entry point as the command-line tests run it: in a subprocess over a
SQLite file (:func:`run`), or in this process with pytest's captured output (:func:`cli`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.cli import main
from socialcredit.registry.ledger import Ledger

EXE = [sys.executable, "-m", "socialcredit"]

Capture = pytest.CaptureFixture[str]


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    """``socialcredit ARGS`` in a subprocess, on the registry at ``db``."""
    env = {**os.environ, "SOCIALCREDIT_DB": f"sqlite:///{db}", "COLUMNS": "200"}
    return subprocess.run([*EXE, *args], capture_output=True, text=True, env=env, timeout=120)


def cli(capsys: Capture, *args: str) -> tuple[int, str, str]:
    """``socialcredit ARGS`` in this process: its exit code, stdout and stderr."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def written(db: str) -> tuple[int, int]:
    """What a registry holds: its last audit entry's number and its records' count (the same
    before and after a refused command)."""
    with Ledger.open(db) as ledger:
        return ledger.last_audit_seq(), ledger.count_records()
