"""Temporary folders owned by a process (``socialcredit.scratch``): a later owner removes
those whose process is gone, never one of a living process or one named otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from socialcredit.scratch import owned_tempdir, remove_orphans


def test_folders_of_owners_gone_are_removed_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    gone = int(ended.stdout)
    orphan = tmp_path / f"job-{gone}-abc"
    (orphan / "data").mkdir(parents=True)
    (orphan / "data" / "file").write_bytes(b"x" * 1000)
    living = tmp_path / f"job-{os.getpid()}-def"
    living.mkdir()
    unnamed = [tmp_path / "job-abc", tmp_path / f"job-{gone}", tmp_path / f"other-{gone}-x"]
    for path in unnamed:
        path.mkdir()
    seen: list[Path] = []

    mine = owned_tempdir("job-", before_removal=seen.append)

    assert seen == [orphan] and not orphan.exists()
    assert mine.parent == tmp_path and mine.name.startswith(f"job-{os.getpid()}-")
    assert living.exists() and all(p.exists() for p in unnamed)
    assert remove_orphans("job-") == []  # its own folder and the living one stay
