"""Benchmark: evaluation throughput, subjects per second.

Rules evaluated: every bundled admissible catalog merged (the registry's default), as of one
date: per-scheme scores and grades, list memberships with since/until, measures in force.
Population: N subjects (persons) with about 3 records each (Poisson), types drawn uniformly from
the record types that feed a scheme or a list, decision dates spread over 2016-2023; 10% of
records fulfilled, 3% repaired, 2% with an upheld objection.

Measured side by side in one run:
- ``batch``: :func:`socialcredit.registry.batch.evaluate_columns` over all N subjects
  (columnar input, Numba kernel; compile excluded by a warm-up run);
- ``reference``: :func:`socialcredit.registry.evaluate.evaluate`, one subject at a time, on a
  sample of the same subjects (its rate does not depend on N).

    .venv/bin/python bench/bench_evaluate.py --subjects 1000000 --repeat 3   # the default
    .venv/bin/python bench/bench_evaluate.py --smoke      # 2,000 subjects, 1 run (the tests)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date

import numpy as np

from benchlib import Figure, add_arguments, emit
from socialcredit.policy.loader import Loaded
from socialcredit.registry.batch import (
    EVENT_CODES,
    Columns,
    compile_catalog,
    evaluate_columns,
    from_day,
    to_day,
)
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record

AS_OF = date(2024, 6, 1)


def population(loaded: Loaded, n: int, seed: int) -> Columns:
    rng = np.random.default_rng(seed)
    c = compile_catalog(loaded)
    idx = loaded.index
    fed = {r.record_type for s in idx.catalog.schemes for r in _rules(s)} | {
        code for lst in idx.catalog.lists for code in lst.entry.record_types
    }
    usable = [
        c.type_ids[rt.code]
        for rt in idx.catalog.record_types
        if rt.code in fed and "person" in rt.subject_kinds and rt.role is None
    ]
    counts = rng.poisson(3.0, n).astype(np.int64)
    total = int(counts.sum())
    subject = np.repeat(np.arange(n, dtype=np.int32), counts)
    typ = np.array(usable, np.int32)[rng.integers(0, len(usable), total)]
    lo, hi = to_day(date(2016, 1, 1)), to_day(date(2023, 12, 31))
    day = rng.integers(lo, hi, total).astype(np.int32)
    order = np.lexsort((day, subject))
    subject, typ, day = subject[order], typ[order], day[order]
    ev_rows, ev_kinds, ev_days = [], [], []
    for kind, share, lag in (
        (EventKind.fulfilled, 0.10, 200),
        (EventKind.repair_granted, 0.03, 400),
        (EventKind.objection_upheld, 0.02, 30),
    ):
        rows = np.flatnonzero(rng.random(total) < share).astype(np.int32)
        ev_rows.append(rows)
        ev_kinds.append(np.full(rows.size, EVENT_CODES[kind], np.int32))
        ev_days.append((day[rows] + rng.integers(1, lag, rows.size)).astype(np.int32))
    return Columns(
        subject=subject,
        type=typ,
        day=day,
        ev_record=np.concatenate(ev_rows),
        ev_kind=np.concatenate(ev_kinds),
        ev_day=np.concatenate(ev_days),
        n_subjects=n,
    )


def _rules(scheme: object) -> list[object]:
    from socialcredit.rules import rules_of

    return [r for r, _d, _v in rules_of(scheme)]  # type: ignore[arg-type]


def as_facts(cols: Columns, loaded: Loaded, subjects: range) -> list[list[Fact]]:
    """The same subjects as Python objects, for the reference."""
    names = {i: code for code, i in compile_catalog(loaded).type_ids.items()}
    issuer = {rt.code: (rt.issuers[0] if rt.issuers else "") for rt in loaded.catalog.record_types}
    starts = np.searchsorted(cols.subject, np.arange(cols.n_subjects + 1))
    events: dict[int, list[tuple[int, int]]] = {}
    for r, k, d in zip(
        cols.ev_record.tolist(), cols.ev_kind.tolist(), cols.ev_day.tolist(), strict=True
    ):
        events.setdefault(r, []).append((k, d))
    kinds = list(EventKind)
    out: list[list[Fact]] = []
    for i in subjects:
        facts: list[Fact] = []
        for r in range(int(starts[i]), int(starts[i + 1])):
            code = names[int(cols.type[r])]
            decided = from_day(int(cols.day[r]))
            assert decided is not None
            facts.append(Record(str(r), f"S{i}", code, issuer[code], decided))
            for k, d in events.get(r, ()):
                on = from_day(d)
                assert on is not None
                facts.append(LifecycleEvent(str(r), kinds[k], on))
        out.append(facts)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--subjects", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=20_000, help="subjects for the reference")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    add_arguments(ap)
    args = ap.parse_args(argv)
    if args.smoke:
        args.subjects, args.sample, args.repeat = 2_000, 200, 1

    loaded = registry_catalog()
    cols = population(loaded, args.subjects, args.seed)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, numba threads "
        f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}; catalog: {len(loaded.files)} files, "
        f"{len(loaded.catalog.record_types)} record types, {len(loaded.catalog.lists)} lists"
    )
    print(f"subjects {args.subjects:,}, records {cols.type.size:,}, events {cols.ev_kind.size:,}")
    evaluate_columns(population(loaded, 1000, 0), loaded, AS_OF)  # compile / load cache
    batch_rates = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = evaluate_columns(cols, loaded, AS_OF)
        batch_rates.append(args.subjects / (time.perf_counter() - t))
    listed = int(np.unique(result.m_subject).size)
    print(
        f"batch: median {statistics.median(batch_rates):,.0f} subjects/s "
        f"(runs: {', '.join(f'{r:,.0f}' for r in batch_rates)}); {listed:,} subjects on a list"
    )

    sample = range(min(args.sample, args.subjects))
    histories = as_facts(cols, loaded, sample)
    index = loaded.index
    ref_rates = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for i, facts in zip(sample, histories, strict=True):
            evaluate(facts, index, AS_OF, subject=f"S{i}")
        ref_rates.append(len(sample) / (time.perf_counter() - t))
    ref = statistics.median(ref_rates)
    print(
        f"reference: median {ref:,.0f} subjects/s over {len(sample):,} subjects "
        f"(runs: {', '.join(f'{r:,.0f}' for r in ref_rates)})"
    )
    print(f"ratio batch/reference: {statistics.median(batch_rates) / ref:,.1f}x")
    emit(
        args.json,
        [
            Figure("evaluate", "batch.evaluate_columns", statistics.median(batch_rates),
                   "subjects/s", peer="reference evaluate (pure Python, sample)",
                   peer_value=ref, runs=batch_rates, size=f"{args.subjects:,} subjects"),
            Figure("evaluate", "reference evaluate", ref, "subjects/s", runs=ref_rates,
                   size=f"{len(sample):,}-subject sample"),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
