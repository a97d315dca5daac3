"""Temporary folders owned by a process: named ``<prefix><pid>-...`` after it, so that a later
one removes those whose owner is gone. A process killed outright (``SIGKILL``, a machine's
out-of-memory killer) runs no cleanup of its own; its folder (a simulation's scratch files on
a Ray worker, a throwaway database server's data) would otherwise stay in the temporary
directory for good."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def owned_tempdir(prefix: str, *, before_removal: Callable[[Path], None] | None = None) -> Path:
    """A new folder ``<prefix><this pid>-...`` in the temporary directory, made after
    :func:`remove_orphans` (with ``before_removal``) has removed those of owners gone."""
    remove_orphans(prefix, before_removal=before_removal)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def remove_orphans(
    prefix: str, *, before_removal: Callable[[Path], None] | None = None
) -> list[Path]:
    """Remove the folders ``<prefix><pid>-...`` of the temporary directory whose process
    ``pid`` is gone, calling ``before_removal`` on each first (to stop what may still run
    there); returns them. A folder of a living process, or one not named so, is left."""
    removed = []
    for path in sorted(Path(tempfile.gettempdir()).glob(f"{prefix}*")):
        owner, dash, _ = path.name[len(prefix) :].partition("-")
        if not (dash and owner.isdigit()) or alive(int(owner)):
            continue
        if before_removal is not None:
            before_removal(path)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True
