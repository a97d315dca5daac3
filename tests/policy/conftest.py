"""Helpers for the policy tests: write small catalogs into tmp_path, run the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import GOOD, Run, Writer

from socialcredit.cli import main


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """``write(replace={old: new}, extra="...", name="t.toml", text=None) -> path``."""

    def _write(
        replace: dict[str, str] | None = None,
        extra: str = "",
        name: str = "t.toml",
        text: str | None = None,
    ) -> Path:
        body = GOOD if text is None else text
        for old, new in (replace or {}).items():
            assert old in body, f"test bug: {old!r} not in the catalog"
            body = body.replace(old, new, 1)
        path = tmp_path / name
        path.write_text(body + extra, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``socialcredit ARGS`` in-process: ``(exit code, stdout, stderr)``."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return _run
