"""Benchmark: the projector's cost for one subject (what every filing pays) and for many.

Rules evaluated: every bundled admissible catalog merged (``registry_catalog()``, the
registry's default), as of one date, through :func:`socialcredit.registry.ledger.default_projector`
(measures in force per subject, :func:`socialcredit.registry.batch.measures_in_force`).

- ``one``: a court-list debtor (refusal to perform, an extension, a consumption order, a
  violation of it; an objection filed and rejected), one subject a call: the median of
  ``--calls`` warm calls back to back, and of a quarter as many ``--gap-ms`` apart (a filing's
  other work comes between two; Numba's parallel workers fall asleep meanwhile), in ms;
- ``batch``: 1,000 such debtors (dates and events varied) in one call: the median of
  ``--repeat`` warm calls, in ms.

Warm: each is called a few times first (Numba compilation or cache loading excluded). Pin the
threads with ``NUMBA_NUM_THREADS`` to compare runs.

    .venv/bin/python bench/bench_fold.py                 # 2,000 one-subject calls, 20 batches
    .venv/bin/python bench/bench_fold.py --smoke         # a few calls: it runs, nothing more
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from benchlib import Figure, add_arguments, emit
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.ledger import default_projector
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record

AS_OF = date(2024, 6, 1)
DEBTOR = "34052419800101001X"


def debtor(subject: str, k: int = 0) -> list[Fact]:
    """A court-list debtor's own facts (``k`` varies the dates and which events happened)."""
    d0 = date(2022, 1, 10) + timedelta(days=(k * 37) % 700)
    facts: list[Fact] = [
        Record(f"{subject}-1", subject, "court.dishonest_debtor.refuse_to_perform", "court", d0),
        Record(
            f"{subject}-2", subject, "court.consumption_order", "court", d0 + timedelta(days=3)
        ),  # fmt: skip
        Record(
            f"{subject}-3",
            subject,
            "court.dishonest_debtor.extended_1y",
            "court",
            d0 + timedelta(days=200),
        ),  # fmt: skip
        Record(
            f"{subject}-4",
            subject,
            "court.dishonest_debtor.violate_consumption_order",
            "court",
            d0 + timedelta(days=250),
        ),  # fmt: skip
        LifecycleEvent(f"{subject}-1", EventKind.objection_filed, d0 + timedelta(days=20)),
        LifecycleEvent(f"{subject}-1", EventKind.objection_rejected, d0 + timedelta(days=60)),
    ]
    if k % 3 == 1:
        facts.append(LifecycleEvent(f"{subject}-4", EventKind.fulfilled, d0 + timedelta(400)))
    if k % 5 == 2:
        facts.append(LifecycleEvent(f"{subject}-2", EventKind.objection_upheld, d0 + timedelta(9)))
    return facts


def median_ms(fn: Callable[[], object], calls: int, warm: int = 5, gap_ms: float = 0.0) -> float:
    """The median time of ``calls`` calls of ``fn`` after ``warm`` more, with ``gap_ms`` of
    sleep before each (a filing's other work: Numba's idle workers fall asleep meanwhile)."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(calls):
        if gap_ms:
            time.sleep(gap_ms / 1e3)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--gap-ms", type=float, default=2.0)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.calls, args.repeat, args.subjects = 20, 2, 50
    catalog = registry_catalog()
    project = default_projector(catalog, AS_OF)
    one = {DEBTOR: debtor(DEBTOR)}
    many = {f"s{k:06d}": debtor(f"s{k:06d}", k) for k in range(args.subjects)}
    measures = project(one)[DEBTOR]
    one_ms = median_ms(lambda: project(one), args.calls)
    apart = args.calls // 4 or 1
    gap_ms = median_ms(lambda: project(one), apart, gap_ms=args.gap_ms)
    batch_ms = median_ms(lambda: project(many), args.repeat, warm=2)
    load = os.getloadavg()
    print(f"measures in force for the debtor: {sorted({m.measure for m in measures})}")
    print(f"one subject:  {one_ms:.3f} ms a call back to back (median of {args.calls})")
    print(f"one subject:  {gap_ms:.3f} ms a call {args.gap_ms:g} ms apart (median of {apart})")
    print(f"{args.subjects} subjects: {batch_ms:.1f} ms a call (median of {args.repeat})")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'unset')}")  # fmt: skip
    emit(
        args.json,
        [
            Figure("fold", "projector, one subject", one_ms, "ms", higher_is_better=False,
                   size="1 debtor, back to back", note=f"median of {args.calls}"),
            Figure("fold", "projector, one subject apart", gap_ms, "ms", higher_is_better=False,
                   size=f"1 debtor, {args.gap_ms:g} ms apart", note=f"median of {apart}"),
            Figure("fold", "projector, batch", batch_ms, "ms", higher_is_better=False,
                   size=f"{args.subjects:,} debtors", note=f"median of {args.repeat}"),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
