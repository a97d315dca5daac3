"""The benchmarks' own arithmetic: ratios, tier sizes, the agreement test between sides."""

from __future__ import annotations

import benchrun  # noqa: F401  (puts bench/ on the path)
import pytest

from bench_sim import agreement
from benchlib import Figure, table
from court_model import Spec


def test_ratio_is_oriented_so_that_above_one_is_better() -> None:
    faster = Figure("b", "rate", 300.0, "1/s", peer="p", peer_value=100.0)
    assert faster.ratio == pytest.approx(3.0)
    quicker = Figure("b", "wall", 2.0, "s", peer="p", peer_value=8.0, higher_is_better=False)
    assert quicker.ratio == pytest.approx(4.0)
    assert Figure("b", "alone", 1.0, "s").ratio is None
    assert "| b | rate |  | 300 | 1/s | p | 100 | 3.00x |" in table([faster])


def test_tier_sizes_add_up_and_follow_the_shares() -> None:
    spec = Spec(("a", "b", "c"), (0.55, 0.35, 0.10), (0.0,) * 3, (0.0,) * 3, (0.0,) * 3, 0.1)
    for n in (1, 2, 3, 7, 1000, 10_000_001):
        sizes = spec.tier_sizes(n)
        assert sum(sizes) == n
        assert all(abs(s - n * share) < 1 for s, share in zip(sizes, spec.shares, strict=True))


def report(**metrics: int) -> dict[str, dict[str, int]]:
    return {"metrics": metrics}


def test_agreement_passes_the_same_counts_and_flags_different_ones() -> None:
    ours = [report(records=r) for r in (1000, 1030, 970, 1010, 990)]
    assert abs(agreement(ours, [report(records=1005)])["records"]) < 1
    assert agreement(ours, [report(records=1300)])["records"] > 4
    assert agreement(ours, [report(records=700)])["records"] < -4
