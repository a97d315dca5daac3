"""A filing's one subject is folded on the calling thread (the serial driver of the same
kernels); a batch of many, in parallel. Both give the same answers, on random catalogs over
every feature and on the registry's bundled catalogs, down to the order of the measures."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent.parent / "rulebook"))
from random_catalogs import START, catalogs, histories  # noqa: E402

from socialcredit.policy.loader import CatalogIndex, Loaded, parse  # noqa: E402
from socialcredit.registry import batch  # noqa: E402
from socialcredit.registry.batch import (  # noqa: E402
    BatchResult,
    columns_from_facts,
    evaluate_columns,
    measures_in_force,
)
from socialcredit.registry.config import registry_catalog  # noqa: E402
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record  # noqa: E402

DATES = [START + timedelta(days=d) for d in (0, 400, 1400, 3000)]
COLUMNS = ["score", "grade", "touched", "exhausted", "needs_reference"]
ROWS = ["m_list", "m_since", "m_until", "m_scheme"]
MEASURES = ["x_measure", "x_until", "x_since", "x_list", "x_memo", "x_scheme", "x_order"]


@pytest.fixture(scope="module")
def bundled() -> Loaded:
    return registry_catalog()


def as_subject(facts: list[Fact], subject: str) -> list[Fact]:
    """The drawn facts (all about one person) about ``subject``, with ids of its own."""
    return [
        Record(f"{subject}/{f.id}", subject, f.record_type, f.authority, f.decided_on)
        if isinstance(f, Record)
        else LifecycleEvent(f"{subject}/{f.record_id}", f.kind, f.on, f.actor, f.note)
        for f in facts
    ]


def subject_rows(result: BatchResult, i: int) -> list[tuple[Any, ...]]:
    """Subject ``i``'s membership and measure rows, in the order the result holds them."""
    ms = result.m_subject == i
    xs = result.x_subject == i
    return [
        *zip(*(getattr(result, name)[ms].tolist() for name in ROWS), strict=True),
        *zip(*(getattr(result, name)[xs].tolist() for name in MEASURES), strict=True),
    ]


def assert_same(index: CatalogIndex | Loaded, many: list[list[Fact]], as_of: date) -> None:
    """Each subject alone, serially, as in the batch of all of them in parallel (and the batch
    serially as in parallel); measures in force for one as for many."""
    cols = columns_from_facts(many, index)
    wide = evaluate_columns(cols, index, as_of, parallel=True)
    narrow = evaluate_columns(cols, index, as_of, parallel=False)
    for name in COLUMNS + ["m_subject", *ROWS, "x_subject", *MEASURES]:
        assert np.array_equal(getattr(wide, name), getattr(narrow, name)), name
    for i, facts in enumerate(many):
        one = evaluate_columns(columns_from_facts([facts], index), index, as_of)
        for name in COLUMNS:
            assert np.array_equal(getattr(one, name)[0], getattr(wide, name)[i]), (i, name)
        assert subject_rows(one, 0) == subject_rows(wide, i), i
        assert one.view(0) == wide.view(i)
    by_subject = {f"p{i}": facts for i, facts in enumerate(many)}
    together = measures_in_force(by_subject, index, as_of)
    for subject, facts in by_subject.items():
        assert measures_in_force({subject: facts}, index, as_of) == {subject: together[subject]}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_one_subject_as_in_a_batch_on_random_catalogs(data: st.DataObject) -> None:
    raw: dict[str, Any] = data.draw(catalogs())
    index = CatalogIndex(parse(raw))
    n = data.draw(st.integers(1, 8))
    many = [as_subject(data.draw(histories(raw, prefix=f"s{i}-")), f"p{i}") for i in range(n)]
    assert_same(index, many, data.draw(st.sampled_from(DATES)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_one_subject_as_in_a_batch_on_the_bundled_catalogs(
    bundled: Loaded, data: st.DataObject
) -> None:
    raw = {"record_types": [{"code": rt.code} for rt in bundled.index.catalog.record_types
                            if rt.role is None]}  # fmt: skip
    many = [as_subject(data.draw(histories(raw, prefix=f"s{i}-")), f"p{i}") for i in range(6)]
    assert_same(bundled, many, data.draw(st.sampled_from(DATES)))


def debtor(subject: str) -> list[Fact]:
    d0 = date(2023, 3, 1)
    return [
        Record(f"{subject}-1", subject, "court.dishonest_debtor.refuse_to_perform", "court", d0),
        Record(f"{subject}-2", subject, "court.consumption_order", "court", d0),
        LifecycleEvent(f"{subject}-1", EventKind.objection_filed, d0 + timedelta(days=9)),
    ]


def test_a_filing_does_not_wake_the_parallel_workers(
    bundled: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One subject's facts fold on the calling thread: waking Numba's workers for them cost
    milliseconds a filing on a busy machine."""

    def refuse(*_args: object) -> None:
        raise AssertionError("the parallel driver ran for one subject")

    monkeypatch.setattr(batch, "fold_subjects", refuse)
    monkeypatch.setattr(batch, "record_windows", refuse)
    rows = measures_in_force({"d": debtor("d")}, bundled, date(2024, 6, 1))["d"]
    assert "restrict.flight" in {r.measure for r in rows}
    assert all(r.list == "court.judgment_debtor" or r.list is None for r in rows)
