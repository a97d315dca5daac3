"""Named NumPy arrays in one file, read back memory-mapped: what the check index keeps between
starts of the server (:meth:`socialcredit.service.state.CheckIndex.load`).

The layout: 8 bytes of magic, the header's length (8 bytes, little-endian), the header (JSON:
a free ``meta`` object and, per array, its dtype, shape and offset), then each array's bytes at
an offset aligned to 64 bytes. A file is written beside its final name and renamed over it
(readers see the old file or the new one, never half of one), readable by its owner only (it
holds who is on which list, as the database does).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"SCARRAY1"
_ALIGN = 64


class ArrayFileError(ValueError):
    """A file that is not an array file of this layout, or is cut short."""


def write(path: Path, arrays: Mapping[str, np.ndarray[Any, Any]], meta: Mapping[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` to ``path``, atomically."""
    layout: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, array in arrays.items():
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"meta": dict(meta), "arrays": layout}).encode()
    start = -(-(16 + len(header)) // _ALIGN) * _ALIGN
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + len(header).to_bytes(8, "little") + header)
            out.write(b"\0" * (start - 16 - len(header)))
            for array in arrays.values():
                data = np.ascontiguousarray(array)
                out.write(data.tobytes())
                out.write(b"\0" * (-(-data.nbytes // _ALIGN) * _ALIGN - data.nbytes))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read(path: Path) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, Any]]:
    """The arrays (memory-mapped, read-only) and the meta of the file at ``path``."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(16)
        if len(head) != 16 or head[:8] != MAGIC:
            raise ArrayFileError(f"{path}: not an array file")
        length = int.from_bytes(head[8:], "little")
        if length > size - 16:
            raise ArrayFileError(f"{path}: the header runs past the end")
        try:
            header = json.loads(f.read(length))
            meta, layout = dict(header["meta"]), dict(header["arrays"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArrayFileError(f"{path}: the header is not readable ({exc})") from None
    start = -(-(16 + length) // _ALIGN) * _ALIGN
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for name, spec in layout.items():
        try:
            dtype, shape = np.dtype(spec["dtype"]), tuple(int(n) for n in spec["shape"])
            at = start + int(spec["offset"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArrayFileError(f"{path}: array {name!r} is not described ({exc})") from None
        count = int(np.prod(shape)) if shape else 1
        if at + count * dtype.itemsize > size:
            raise ArrayFileError(f"{path}: array {name!r} runs past the end")
        if count == 0:
            arrays[name] = np.zeros(shape, dtype=dtype)
        else:
            arrays[name] = np.memmap(path, dtype=dtype, mode="r", offset=at, shape=shape)
    return arrays, meta
