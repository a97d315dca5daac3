"""Pieces every simulator engine shares: model parsing, inequality, outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

from socialcredit.errors import InputError

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def bundled_toml(package: str) -> list[str]:
    """Names of the TOML files bundled in ``package`` (without ``.toml``)."""
    from importlib import resources

    return sorted(
        p.name.removesuffix(".toml")
        for p in resources.files(package).iterdir()
        if p.name.endswith(".toml")
    )


def read_ref(ref: str | Path, package: str, what: str) -> tuple[str, str]:
    """The text of a bundled file by name (in ``package``) or of a TOML path, and its file
    name; or an :class:`InputError` on ``what`` naming the choices."""
    from importlib import resources

    if isinstance(ref, Path) or str(ref).endswith(".toml"):
        path = Path(ref)
        try:
            return path.read_text(encoding="utf-8"), path.name
        except OSError as exc:
            raise InputError(what, f"cannot read {path}: {exc.strerror}") from None
    names = bundled_toml(package)
    if ref not in names:
        raise InputError(what, f"no {what} {ref!r} (bundled: {', '.join(names)})")
    return resources.files(package).joinpath(f"{ref}.toml").read_text(), f"{ref}.toml"


def validated(model: type[M], raw: Mapping[str, Any], *, source: str, field: str) -> M:
    """``model`` from ``raw``, or an :class:`InputError` naming the first bad field."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(f"{field}.{where}", f"{source}: {first['msg']}") from None


def gini(values: npt.NDArray[Any], counts: npt.NDArray[Any]) -> float | None:
    """Gini coefficient of a population given as distinct ``values`` and how many agents hold
    each (0: everyone equal; 1: one agent holds everything). Values are shifted to start at 0
    if any is negative. O(distinct values), so scores can be binned with ``np.bincount``."""
    order = np.argsort(values, kind="stable")
    x = np.asarray(values, np.float64)[order]
    c = np.asarray(counts, np.float64)[order]
    keep = c > 0
    x, c = x[keep], c[keep]
    if c.size == 0:
        return None
    if x[0] < 0:
        x = x - x[0]
    n, total = c.sum(), (c * x).sum()
    if total <= 0:
        return 0.0
    below_n = np.cumsum(c) - c
    below_sum = np.cumsum(c * x) - c * x
    return float((c * (x * below_n - below_sum)).sum() / (n * total))


def write_outputs(
    out: Path, summary: Mapping[str, Any], scenario: BaseModel, trace: Sequence[Any] = ()
) -> None:
    """``summary.json``, ``scenario.json`` (the resolved scenario) and ``trace.jsonl``."""
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "scenario.json").write_text(scenario.model_dump_json(indent=2) + "\n")
    if trace:
        with (out / "trace.jsonl").open("w") as fh:
            for row in trace:
                fh.write(json.dumps(row) + "\n")
